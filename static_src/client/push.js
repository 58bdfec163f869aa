// Push wake-ups (issue 11): one held wait per page, beside the sync loop.
// The gateway answers a wait when someone else edits one of the page's
// documents (or after its timeout); the page then syncs at once. Answers
// carry names and wake tokens, never text: when a wake-up is lost or push
// is not there, the ordinary (slower) poll still brings every edit.

import { tokenFor } from "./access.js";
import { TransportError, postRequest } from "./transport.js";

const MAX_FAILURES = 3; // in a row; then poll, and try again later
const RETRY_MS = 30000;

// The wait request's lines: u:, then t: (when it changes) and f:WAKE:NAME.
export function waitRequest(user, names, wakes, tokenOf) {
  const lines = [`u:${user}`];
  let token = "";
  for (const name of names) {
    const mine = tokenOf(name);
    if (mine !== token) lines.push(`t:${mine}`);
    token = mine;
    lines.push(`f:${wakes.get(name) || ""}:${name}`);
  }
  return lines.join("\n") + "\n";
}

export class Push {
  constructor(client) {
    this.client = client;
    this.mode = "off"; // "on": a wait is held; "polling": not available or failing; "off": not used
    this.wakes = new Map(); // document name -> wake token last seen
    this.denied = new Set(); // names the gateway will not watch for this page (no right)
    this.failures = 0;
    this.current = null; // {abort, names}
    this.timer = null;
    this.slot = null; // the script transport's pending answer
  }

  get settings() {
    return this.client.settings;
  }

  url() {
    const given = this.settings.pushGateway;
    return new URL(given || "wait", this.client.gateway()).href;
  }

  names() {
    return Array.from(this.client.session.docs.values())
      .filter((d) => !d.leaving && !this.denied.has(d.name)).map((d) => d.name).sort();
  }

  // (Re)arm: called after share/unshare and after each answer.
  start() {
    if (this.settings.push === false) return this.setMode("off");
    const names = this.names();
    if (this.current && this.current.names === names.join("\n")) return undefined;
    this.stop();
    if (!names.length) return undefined;
    if (this.timer) return undefined; // a retry is already due
    return this.run(names);
  }

  stop() {
    if (this.current) this.current.abort();
    this.current = null;
  }

  setMode(mode, detail = "") {
    if (mode === this.mode) return;
    this.mode = mode;
    this.client.tellPush(mode, detail);
  }

  later(ms, reason) {
    if (reason) this.setMode("polling", reason);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, ms);
  }

  async run(names) {
    const request = waitRequest(this.client.user, names, this.wakes, (n) => tokenFor(this.settings, n));
    const started = Date.now();
    const arming = names.every((name) => !this.wakes.has(name)); // answered at once, with the tokens
    const sent = this.send(request);
    const mine = { abort: sent.abort, names: names.join("\n") };
    this.current = mine;
    let answer;
    try {
      answer = await sent.promise;
    } catch (err) {
      if (this.current !== mine) return; // aborted for a new set of documents
      this.current = null;
      if (!(err instanceof TransportError)) throw err;
      this.failures += 1;
      if (this.failures >= MAX_FAILURES) return this.later(RETRY_MS, err.message);
      return this.later(1000 * 2 ** this.failures, err.message);
    }
    if (this.current !== mine) return;
    this.current = null;
    if (!answer || answer.push !== true) {
      const retry = answer && Number(answer.retry) > 0 ? Number(answer.retry) * 1000 : RETRY_MS;
      return this.later(retry, "the gateway holds no wait now");
    }
    this.failures = 0;
    for (const [name, wake] of Object.entries(answer.docs || {})) this.wakes.set(name, wake);
    for (const name of answer.denied || []) this.denied.add(name);
    this.setMode("on");
    const woke = answer.woke && answer.woke.length;
    if (woke) this.client.wake();
    // An empty answer at once (every document refused, say) must not spin.
    if (!woke && !arming && Date.now() - started < 1000) return this.later(5000, "");
    return this.start();
  }

  send(request) {
    const url = this.url();
    // Held up to the gateway's timeout (30 s by default), and a margin.
    const timeout = this.settings.timeoutInterval + 30000;
    if (new URL(url).origin === location.origin) return postWait(url, request, timeout);
    if (document.readyState === "complete") return this.script(url, request, timeout);
    // A script added before the page's load event holds that event back, and
    // a held wait would hold it for up to 30 s: wait for load first.
    let sent = null;
    let aborted = false;
    const loaded = new Promise((resolve) => window.addEventListener("load", resolve, { once: true }));
    const promise = loaded.then(() => {
      if (aborted) throw new TransportError("offline", "aborted");
      sent = this.script(url, request, timeout);
      return sent.promise;
    });
    return { promise, abort: () => (sent ? sent.abort() : (aborted = true)) };
  }

  // Cross-origin: a <script> whose answer calls mobwrite.wakeup(answer).
  script(url, request, timeout) {
    const src = `${url}${url.includes("?") ? "&" : "?"}p=${encodeURIComponent(request)}`;
    if (src.length > this.settings.maxGetLength * 4) {
      return { promise: Promise.reject(new TransportError("error", "too many documents for one wait URL")), abort() {} };
    }
    let finish = null;
    const promise = new Promise((resolve, reject) => {
      const slot = { answer: null };
      this.slot = slot;
      const el = document.createElement("script");
      el.async = true;
      el.src = src;
      const timer = setTimeout(() => finish(new TransportError("offline", "timed out")), timeout);
      finish = (err) => {
        clearTimeout(timer);
        el.remove();
        if (this.slot === slot) this.slot = null;
        if (err) reject(err);
        else if (slot.answer === null) reject(new TransportError("error", "the gateway sent no answer"));
        else resolve(slot.answer);
      };
      el.onload = () => finish(null);
      el.onerror = () => finish(new TransportError("offline", "wait request failed"));
      document.head.appendChild(el);
    });
    return { promise, abort: () => finish && finish(new TransportError("offline", "aborted")) };
  }

  callback(answer) {
    if (this.slot) this.slot.answer = answer;
  }
}

function readWait(text) {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TransportError("error", "the wait answer is not JSON");
  }
}

// Same-origin: the sync's own XHR POST, its answer read as JSON.
function postWait(url, request, timeout) {
  const sent = postRequest(url, request, timeout, readWait);
  const promise = sent.promise.catch((err) => {
    if (err.status === 404) return { push: false, retry: 3600 }; // an older gateway: no push here
    throw err;
  });
  return { promise, abort: sent.abort };
}
