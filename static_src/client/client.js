// The running client: which elements are shared, when to sync, over which
// transport, and what to tell the page about it.

import { makeDmp } from "./diffs.js";
import { announce, fieldFor, watchedElements } from "./fields.js";
import { pageInfo } from "./presence.js";
import { SharedDoc, Session } from "./session.js";
import { ScriptChannel, TransportError, beacon, postRequest } from "./transport.js";

const STATUSES = ["synced", "syncing", "offline", "error"];

function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => "abcdefghijklmnopqrstuvwxyz0123456789"[b % 36]).join("");
}

// What an unshared document still sends: its last text, and nothing back.
function frozen(adapter) {
  const text = adapter.getText();
  const merge = adapter.merge();
  return { getText: () => text, setText: () => false, merge: () => merge };
}

export class Client {
  // `settings` is the public mobwrite object: its properties are read at
  // each use, so a page may change them at any time.
  constructor(settings, gatewayDefault) {
    this.settings = settings;
    this.gatewayDefault = gatewayDefault;
    this.dmp = makeDmp();
    this.session = new Session(randomId(), this.dmp);
    this.channel = new ScriptChannel();
    this.listeners = new Set();
    this.status = "synced";
    this.interval = settings.minSync;
    this.timer = null;
    this.inFlight = null; // {abort, started}
    this.again = false; // a sync was asked for while one was running
    this.watchdog = null;
    this.unwatch = new Map(); // document name -> remove its event listeners
    this.onEdit = () => this.localEdit();
    // Presence (issue 13): sent only when the page sets mobwrite.user.
    this.session.presenceOf = (doc) => pageInfo(this.settings.user, doc.element);
    this.presenceListeners = new Set();
  }

  onPresence(fn) {
    this.presenceListeners.add(fn);
    return () => this.presenceListeners.delete(fn);
  }

  tellPresence() {
    for (const fn of Array.from(this.presenceListeners)) fn(new Map(this.session.people));
  }

  get user() {
    return this.session.user;
  }

  // -- sharing -------------------------------------------------------------

  share(targets) {
    for (const [name, adapter, elements, field] of this.resolve(targets, true)) {
      const existing = this.session.docs.get(name);
      const doc = existing || new SharedDoc(name, adapter);
      doc.adapter = adapter;
      doc.leaving = false;
      doc.element = field ? field.element : null;
      this.session.docs.set(name, doc);
      this.watch(name, elements);
    }
    this.startWatchdog();
    this.setStatus("syncing"); // until the gateway has answered
    this.syncNow();
  }

  unshare(targets) {
    for (const [name] of this.resolve(targets, false)) {
      const doc = this.session.docs.get(name);
      if (!doc) continue;
      this.watch(name, []);
      doc.adapter = frozen(doc.adapter);
      doc.leaving = true;
      doc.element = null;
      if (!doc.pending()) this.session.docs.delete(name);
    }
    if (this.session.docs.size) this.syncNow();
  }

  // [document name, adapter, elements to watch, field] for each target.
  resolve(targets, strict) {
    const prefix = this.settings.idPrefix || "";
    const found = [];
    const add = (name, adapter, elements, field) => {
      if (typeof name !== "string" || !name) throw new Error("mobwrite: a shared document needs a name");
      found.push([name, adapter, elements, field]);
    };
    const element = (el, name) => {
      if (el.tagName === "FORM") {
        if (!el.id && !el.name) throw new Error("mobwrite: a shared form needs an id");
        const seen = new Set();
        for (const child of el.elements) {
          if (!child.name || seen.has(child.name)) continue;
          const field = fieldFor(child, this.dmp);
          if (!field) continue;
          seen.add(child.name);
          add(`${prefix}${el.id || el.name}_${child.name}`, field, watchedElements(field), field);
        }
        return;
      }
      const field = fieldFor(el, this.dmp);
      if (!field) throw new Error(`mobwrite: cannot share <${el.tagName.toLowerCase()} type=${el.type}>`);
      const own = el.type === "radio" ? el.name : el.id || el.name;
      add(name || prefix + own, field, watchedElements(field), field);
    };
    const visit = (target) => {
      if (Array.isArray(target)) return target.forEach(visit);
      if (typeof target === "string") {
        const el = document.getElementById(target);
        if (el) return element(el);
        if (strict) throw new Error(`mobwrite: no element with id "${target}"`);
        return add(prefix + target, null, [], null);
      }
      if (target && target.nodeType === 1) return element(target);
      if (target && target.element && target.element.nodeType === 1) return element(target.element, target.name);
      if (target && typeof target.getText === "function" && typeof target.setText === "function") {
        const merge = typeof target.merge === "function" ? () => target.merge() : () => target.merge !== false;
        const adapter = { getText: () => String(target.getText()), setText: (t) => target.setText(t) !== false, merge };
        return add(target.name, adapter, [], null);
      }
      if (target && typeof target.name === "string" && !strict) return add(target.name, null, [], null);
      throw new Error("mobwrite: cannot share " + String(target));
    };
    visit(targets);
    return found;
  }

  watch(name, elements) {
    const old = this.unwatch.get(name);
    if (old) old();
    this.unwatch.delete(name);
    if (!elements.length) return;
    for (const el of elements) {
      el.addEventListener("input", this.onEdit);
      el.addEventListener("change", this.onEdit);
    }
    this.unwatch.set(name, () => {
      for (const el of elements) {
        el.removeEventListener("input", this.onEdit);
        el.removeEventListener("change", this.onEdit);
      }
    });
  }

  // -- status ----------------------------------------------------------------

  onStatus(fn) {
    this.listeners.add(fn);
    fn(this.status, {});
    return () => this.listeners.delete(fn);
  }

  setStatus(status, detail = {}) {
    if (!STATUSES.includes(status) || status === this.status) return;
    this.status = status;
    this.log("status", status, detail.message || "");
    for (const fn of Array.from(this.listeners)) fn(status, detail);
  }

  log(...args) {
    if (this.settings.debug) console.debug("mobwrite:", ...args);
  }

  // -- when to sync ----------------------------------------------------------

  // Typing: sync soon, and keep syncing often while it goes on.
  localEdit() {
    this.interval = this.settings.minSync;
    if (this.status === "synced") this.setStatus("syncing");
    if (!this.inFlight && (!this.timer || this.timer.due > Date.now() + this.interval)) {
      this.schedule(this.interval);
    }
  }

  schedule(delay) {
    if (this.timer) clearTimeout(this.timer.id);
    this.timer = { id: setTimeout(() => this.sync(), delay), due: Date.now() + delay };
  }

  syncNow() {
    this.schedule(0);
  }

  // Restarts a sync that never finished (a script that never loaded) or a
  // loop that stopped (an exception in a page's listener).
  startWatchdog() {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      const now = Date.now();
      if (this.inFlight && now - this.inFlight.started > this.settings.timeoutInterval) {
        this.log("watchdog: request timed out");
        this.inFlight.abort();
      } else if (!this.inFlight && this.session.docs.size &&
                 (!this.timer || now - this.timer.due > this.settings.timeoutInterval)) {
        this.log("watchdog: restarting the sync loop");
        this.syncNow();
      }
    }, 1000);
    window.addEventListener("pagehide", () => this.farewell());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden" && this.session.pending()) this.syncNow();
    });
  }

  gateway() {
    return new URL(this.settings.syncGateway || this.gatewayDefault, location.href).href;
  }

  send(request) {
    const url = this.gateway();
    if (new URL(url).origin === location.origin) {
      return postRequest(url, request, this.settings.timeoutInterval);
    }
    return this.channel.send(url, request, this.settings.maxGetLength);
  }

  async sync() {
    this.timer = null;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    if (!this.session.docs.size) return;
    const local = this.session.pending();
    const request = this.session.request();
    this.log("request", request);
    const { promise, abort } = this.send(request);
    this.inFlight = { abort, started: Date.now() };
    let remote = false;
    try {
      const answer = await promise;
      this.log("answer", answer);
      const changed = this.session.receive(answer);
      if (this.presenceListeners.size) this.tellPresence();
      for (const doc of changed) if (doc.element) announce(doc.element, doc.name);
      remote = changed.size > 0;
      for (const doc of Array.from(this.session.docs.values())) {
        if (doc.leaving && !doc.pending()) this.session.docs.delete(doc.name);
      }
      this.setStatus(this.session.pending() ? "syncing" : "synced");
      const { minSync, maxSync } = this.settings;
      this.interval = local || remote ? minSync : Math.min(maxSync, this.interval * 1.5);
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      this.setStatus(err.kind, { message: err.message });
      this.interval = Math.min(this.settings.maxSync, Math.max(this.interval * 2, this.settings.minSync));
    } finally {
      this.inFlight = null;
      this.schedule(this.again ? 0 : this.interval);
      this.again = false;
    }
  }

  // The page is going away: send what the gateway has not seen.
  farewell() {
    if (!this.session.docs.size) return;
    if (this.settings.user && typeof this.settings.user === "object") {
      beacon(this.gateway(), this.session.farewell()); // also: we are gone (issue 13)
    } else if (this.session.pending()) {
      beacon(this.gateway(), this.session.request());
    }
  }
}
