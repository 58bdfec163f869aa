// The running client: which elements are shared, when to sync, over which
// transport, and what to tell the page about it.

import { accessStatus, markReadOnly, tokenFor } from "./access.js";
import { makeDmp } from "./diffs.js";
import { builtInHandlers, makeFieldObj, makeShareObj } from "./compat.js";
import { announce } from "./fields.js";
import { pageInfo } from "./presence.js";
import { Push } from "./push.js";
import { SharedDoc, Session } from "./session.js";
import { ScriptChannel, TransportError, beacon, postRequest } from "./transport.js";

const STATUSES = ["synced", "syncing", "offline", "error", "readonly", "noaccess"];

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
    this.interval = 2000; // the original's first interval; then it adapts
    this.shareObj = makeShareObj(this);
    this.handlers = builtInHandlers(this, makeFieldObj(this.shareObj));
    this.announcing = false; // our own change events are no edit of the user's
    this.timer = null;
    this.inFlight = null; // {abort, started}
    this.again = false; // a sync was asked for while one was running
    this.watchdog = null;
    this.unwatch = new Map(); // document name -> remove its event listeners
    this.onEdit = () => {
      if (!this.announcing) this.localEdit();
    };
    // Presence (issue 13): sent only when the page sets mobwrite.user.
    this.session.presenceOf = (doc) => pageInfo(this.settings.user, doc.element);
    this.presenceListeners = new Set();
    this.push = new Push(this); // issue 11: wake-ups, when the gateway offers them
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
    for (const [name, adapter, elements, announced] of this.resolve(targets, true)) {
      const existing = this.session.docs.get(name);
      const doc = existing || new SharedDoc(name, adapter);
      doc.adapter = adapter;
      doc.leaving = false;
      doc.nullifying = false;
      doc.announced = announced;
      doc.element = elements.length === 1 ? elements[0] : null; // what access.js makes read-only
      this.session.docs.set(name, doc);
      this.watch(name, elements);
      if (adapter.mirror) adapter.mirror(doc);
    }
    this.startWatchdog();
    this.setStatus("syncing"); // until the gateway has answered
    this.syncNow();
    this.push.start();
  }

  unshare(targets) {
    for (const [name] of this.resolve(targets, false)) {
      const doc = this.session.docs.get(name);
      if (!doc) continue;
      this.watch(name, []);
      doc.adapter = frozen(doc.adapter);
      doc.announced = [];
      doc.element = null;
      // With nullifyAll set, leaving deletes the document on the gateway.
      if (this.settings.nullifyAll) doc.nullifying = true;
      doc.leaving = true;
      if (!doc.pending()) this.session.docs.delete(name);
    }
    if (this.session.docs.size) this.syncNow();
    this.push.start();
  }

  // shareObj.nullify(): the document goes as N: at the next sync.
  nullify(obj) {
    const name = this.nameOf(obj);
    const doc = this.session.docs.get(name);
    if (doc) {
      this.watch(name, []);
      doc.adapter = frozen(doc.adapter);
      doc.announced = [];
      doc.leaving = true;
      doc.nullifying = true;
      this.syncNow();
    }
    return `N:${name}\n`;
  }

  nameOf(obj) {
    return obj.exactName || (this.settings.idPrefix || "") + obj.file;
  }

  docFor(obj) {
    const doc = this.session.docs.get(this.nameOf(obj));
    return doc && doc.adapter.obj === obj ? doc : null;
  }

  // The shared objects by id, as the original's mobwrite.shared.
  shared() {
    const all = {};
    for (const doc of this.session.docs.values()) {
      if (doc.adapter.obj && !doc.leaving) all[doc.adapter.obj.file] = doc.adapter.obj;
    }
    return all;
  }

  // How the client drives a shareObj: our field types through their
  // adapter (exact merge, caret kept); a page's own through the original
  // API (setClientText, patchClientText with patches).
  adapterFor(obj) {
    const field = obj.field;
    const text = () => String(obj.getClientText());
    const setText = field
      ? (t, mapCaret) => field.setText(t, mapCaret)
      : (t) => {
          const before = text();
          obj.setClientText(t);
          return text() !== before;
        };
    return {
      obj,
      getText: text,
      setText,
      merge: () => !!obj.mergeChanges,
      patch: field ? null : (shadow, diffs) => {
        const before = text();
        obj.patchClientText(obj.dmp.patch_make(shadow, diffs));
        return text() !== before;
      },
      sentDiff: (diffs) => obj.onSentDiff(diffs),
      mirror: (doc) => {
        obj.shadowText = doc.shadow;
        obj.clientVersion = doc.clientVersion;
        obj.serverVersion = doc.serverVersion;
        obj.deltaOk = doc.deltaOk;
        obj.editStack = doc.editStack.map((edit) => [edit.version, edit.line]);
      },
    };
  }

  // [document name, adapter, elements to watch, elements to announce
  // remote changes to] for each target.
  resolve(targets, strict) {
    const prefix = this.settings.idPrefix || "";
    const found = [];
    const add = (name, adapter, elements, announced) => {
      if (typeof name !== "string" || !name) throw new Error("mobwrite: a shared document needs a name");
      found.push([name, adapter, elements, announced]);
    };
    const addObj = (obj, exactName) => {
      if (!obj || typeof obj.file !== "string" || !obj.file) throw new Error("mobwrite: a shareObj needs a file id");
      if (exactName) obj.exactName = exactName;
      const built = typeof obj.watched === "function";
      add(this.nameOf(obj), this.adapterFor(obj), built ? obj.watched() : [], built ? obj.announced() : []);
    };
    // The handlers in order, the first answer wins, as in the original.
    const handled = (target) => {
      for (const handler of this.handlers) {
        const result = handler.call(this.settings, target);
        if (Array.isArray(result)) return result;
        if (result) return [result];
      }
      return null;
    };
    const visit = (target) => {
      if (Array.isArray(target)) return target.forEach(visit);
      // Ours: an element under an exact name, or any text by its functions.
      if (target && typeof target.name === "string" && target.element && target.element.nodeType === 1) {
        const objs = handled(target.element);
        if (!objs || objs.length !== 1) throw new Error("mobwrite: cannot share " + String(target.element));
        return addObj(objs[0], target.name);
      }
      if (target && typeof target.getText === "function" && typeof target.setText === "function") {
        const merge = typeof target.merge === "function" ? () => target.merge() : () => target.merge !== false;
        const adapter = { getText: () => String(target.getText()), setText: (t) => target.setText(t) !== false, merge };
        return add(target.name, adapter, [], []);
      }
      const objs = handled(target);
      if (objs) return objs.forEach((obj) => addObj(obj));
      if (typeof target === "string") {
        if (strict) throw new Error(`mobwrite: no element with id "${target}"`);
        return add(prefix + target, null, [], []);
      }
      if (target && typeof target.name === "string" && !strict) return add(target.name, null, [], []);
      if (target && target.nodeType === 1) {
        throw new Error(`mobwrite: cannot share <${target.tagName.toLowerCase()} type=${target.type}>`);
      }
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
    fn(this.status, { push: this.push.mode });
    return () => this.listeners.delete(fn);
  }

  setStatus(status, detail = {}) {
    if (!STATUSES.includes(status) || status === this.status) return;
    this.status = status;
    this.log("status", status, detail.message || "");
    for (const fn of Array.from(this.listeners)) fn(status, { push: this.push.mode, ...detail });
  }

  // The push channel came or went: onStatus listeners hear it at once, with
  // the status unchanged and detail.push saying which ("on", "polling" or
  // "off"); every status event's detail carries it too.
  tellPush(mode, message) {
    this.log("push", mode, message);
    // The next sync was timed for the mode before: wake-ups that just came
    // on bring the safety poll's clock, wake-ups just lost the polling one.
    if (this.timer && !this.inFlight && this.timer.due > Date.now() + this.nextDelay()) this.schedule(this.nextDelay());
    for (const fn of Array.from(this.listeners)) fn(this.status, { push: mode, message: message || "" });
  }

  // A wake-up: someone else edited a shared document; sync now.
  wake() {
    if (this.inFlight) this.again = true;
    else this.syncNow();
  }

  log(...args) {
    if (this.settings.debug) console.debug("mobwrite:", ...args);
  }

  // -- when to sync ----------------------------------------------------------

  // Typing: unless syncOnEdit is off, the next sync comes no later than
  // minSync from now. The interval itself only changes after a sync, on
  // the original's curve (adapt() below).
  localEdit() {
    if (this.status === "synced") this.setStatus("syncing");
    if (this.settings.syncOnEdit === false) return;
    const soon = this.push.mode === "on" ? this.settings.pushEditDelay : this.settings.minSync;
    if (!this.inFlight && (!this.timer || this.timer.due > Date.now() + soon)) this.schedule(soon);
  }

  // The original client's curve, in steps of the min–max range: a sync
  // that sent an edit of ours takes 40% off the interval, one that brought
  // someone else's takes 20% off (both: 60%), and a quiet one adds 10%.
  adapt(local, remote) {
    const { minSync, maxSync } = this.settings;
    const range = maxSync - minSync;
    let next = this.interval;
    if (local) next -= range * 0.4;
    if (remote) next -= range * 0.2;
    if (!local && !remote) next += range * 0.1;
    this.interval = Math.min(maxSync, Math.max(minSync, next));
  }

  // With wake-ups on, typing goes out pushEditDelay after the keystroke
  // (keystrokes during a request wait for it: one request at a time), and a
  // page with nothing to send polls only as the safety net for a lost
  // wake-up, every pushSafetySync. Without, the original's adaptive interval.
  nextDelay() {
    if (this.push.mode !== "on") return this.interval;
    if (this.session.pending()) return this.settings.pushEditDelay;
    return this.settings.pushSafetySync || this.interval;
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
    for (const doc of this.session.docs.values()) doc.token = tokenFor(this.settings, doc.name);
    if (this.settings.nullifyAll) {
      for (const [name, doc] of this.session.docs) {
        this.watch(name, []);
        doc.leaving = doc.nullifying = true;
        doc.announced = [];
      }
    }
    const nullified = Array.from(this.session.docs.values()).filter((doc) => doc.nullifying);
    const request = this.session.request();
    const local = this.session.sentEdit;
    this.log("request", request);
    const { promise, abort } = this.send(request);
    this.inFlight = { abort, started: Date.now() };
    let remote = false;
    try {
      const answer = await promise;
      this.log("answer", answer);
      const changed = this.session.receive(answer);
      if (this.presenceListeners.size) this.tellPresence();
      this.announce(changed);
      remote = changed.size > 0;
      for (const doc of nullified) if (this.session.docs.get(doc.name) === doc) this.session.docs.delete(doc.name);
      for (const doc of Array.from(this.session.docs.values())) {
        if (doc.leaving && !doc.nullifying && !doc.pending()) this.session.docs.delete(doc.name);
      }
      const docs = Array.from(this.session.docs.values());
      docs.forEach(markReadOnly);
      const access = accessStatus(docs);
      this.setStatus(access || (this.session.pending() ? "syncing" : "synced"));
      this.adapt(local, remote);
      if (access === "noaccess") this.interval = this.settings.maxSync; // nothing to gain by asking often
    } catch (err) {
      if (!(err instanceof TransportError)) throw err;
      this.setStatus(err.kind, { message: err.message });
      this.interval = Math.min(this.settings.maxSync, Math.max(this.interval * 2, this.settings.minSync));
      if (err.retryAfter) this.interval = Math.max(this.interval, err.retryAfter * 1000); // a 429's Retry-After
    } finally {
      this.inFlight = null;
      // With wake-ups on, a page with nothing to send polls only as a
      // safety net (a lost wake-up): pushSafetySync, 2 minutes by default.
      this.schedule(this.again ? 0 : this.nextDelay());
      this.again = false;
    }
  }

  // change and mobwrite:change on each element a remote edit landed in;
  // the page's handlers may run a sync of their own, which must not count
  // as the user typing.
  announce(changed) {
    this.announcing = true;
    try {
      for (const doc of changed) for (const el of doc.announced || []) announce(el, doc.name);
    } finally {
      this.announcing = false;
    }
  }

  // The page is going away: send what the gateway has not seen.
  farewell() {
    this.push.stop();
    if (!this.session.docs.size) return;
    if (this.settings.user && typeof this.settings.user === "object") {
      beacon(this.gateway(), this.session.farewell()); // also: we are gone (issue 13)
    } else if (this.session.pending()) {
      beacon(this.gateway(), this.session.request());
    }
  }
}
