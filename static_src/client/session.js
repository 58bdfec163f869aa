// The client side of the MobWrite protocol as pure state: no DOM, no
// network. A Session builds the next request from its documents and takes
// the answer; each document reads and writes its text through an adapter
// ({getText(), setText(text, mapCaret?), merge()}), so tests can drive it
// with strings. mapCaret, when given, maps a position of the old text to
// the new one.

import { accessLines } from "./access.js";
import { decodeText, encodeText, wellFormed } from "./codec.js";
import { EQUAL, diff } from "./diffs.js";
import { mergeMapped } from "./merge.js";
import { parseWho, presenceLine, withPresence } from "./presence.js";

export class SharedDoc {
  constructor(name, adapter) {
    this.name = name;
    this.adapter = adapter;
    this.shadow = "";
    this.clientVersion = 0;
    this.serverVersion = 0;
    this.editStack = []; // [{version, line, real}] sent until the server acknowledges them
    // Joining starts with a raw dump, r: — it seeds a document nobody has
    // yet, and otherwise the answer brings us the document as it is, rather
    // than our page's defaults being added to it (or, for a select,
    // overwriting everyone's choice).
    this.deltaOk = false;
    this.joining = true;
    this.leaving = false; // unshared: sent until nothing of ours is pending, then dropped
    this.token = ""; // a capability token, sent as t: (access.js)
    this.access = "edit"; // "view" or "none" when the gateway's x: line says so
    this.nullifying = false; // to be deleted on the gateway: sends N: once, then dropped
    this.sentEdit = false; // the last lines() carried an edit of ours
  }

  // This document's lines of the next request.
  lines(dmp) {
    this.sentEdit = false;
    if (this.nullifying) return [`N:${this.name}`];
    const text = wellFormed(this.adapter.getText());
    const merging = this.adapter.merge();
    const head = `f:${this.serverVersion}:${this.name}`;
    if (!this.deltaOk) {
      // Our shadow is no longer the server's: send the whole text. The line
      // is not kept; until the answer comes, every request carries it again.
      this.editStack = [];
      this.shadow = text;
      const letter = merging || this.joining ? "r" : "R";
      return [head, `${letter}:${this.clientVersion}:${encodeText(text)}`];
    }
    const diffs = diff(dmp, this.shadow, text);
    const real = diffs.some(([op]) => op !== EQUAL);
    if (real || this.editStack.length === 0) {
      const letter = merging ? "d" : "D";
      const line = `${letter}:${this.clientVersion}:${dmp.diff_toDelta(diffs)}`;
      this.editStack.push({ version: this.clientVersion, line, real });
      this.clientVersion += 1;
      this.shadow = text;
      this.sentEdit = real;
      if (this.adapter.sentDiff) this.adapter.sentDiff(diffs);
    }
    return [head, ...this.editStack.map((edit) => edit.line)];
  }

  // Edits of ours the server has not confirmed, or text not yet diffed.
  pending() {
    if (this.nullifying) return true;
    return !this.deltaOk || this.editStack.some((edit) => edit.real) ||
      this.adapter.getText() !== this.shadow;
  }

  acknowledge(version) {
    this.editStack = this.editStack.filter((edit) => edit.version >= version);
  }

  // A server edit; true when it changed our text.
  takeDelta(dmp, letter, version, delta) {
    if (version < this.serverVersion) return false; // a resend we already took
    if (version > this.serverVersion) {
      this.deltaOk = false;
      return false;
    }
    let diffs;
    try {
      diffs = dmp.diff_fromDelta(this.shadow, delta);
    } catch (err) {
      this.deltaOk = false; // does not fit our shadow: resync with a raw dump
      return false;
    }
    const shadow = dmp.diff_text2(diffs);
    let changed = false;
    if (diffs.some(([op]) => op !== EQUAL)) {
      if (letter === "D" || !this.adapter.merge()) {
        changed = this.adapter.setText(shadow);
      } else if (this.adapter.patch) {
        // A page's own shareObj merges through its patchClientText.
        changed = this.adapter.patch(this.shadow, diffs);
      } else {
        // The caret map keeps a caret with the text typed beside it.
        changed = this.adapter.setText(...mergeMapped(dmp, this.shadow, this.adapter.getText(), shadow));
      }
    }
    this.shadow = shadow;
    this.serverVersion += 1;
    this.deltaOk = true;
    this.joining = false;
    return changed;
  }

  // A raw dump: the server's text replaces our shadow (and our text for R).
  takeRaw(letter, version, payload, acked) {
    if (version < this.serverVersion) return false;
    let text;
    try {
      text = decodeText(payload);
    } catch (err) {
      this.deltaOk = false;
      return false;
    }
    this.shadow = text;
    this.serverVersion = version;
    this.clientVersion = acked;
    this.editStack = [];
    this.deltaOk = true;
    this.joining = false;
    return letter === "R" ? this.adapter.setText(text) : false;
  }
}

export class Session {
  constructor(user, dmp) {
    this.user = user;
    this.dmp = dmp;
    this.docs = new Map();
    this.sentEdit = false; // the last request carried an edit of ours
    this.presenceOf = null; // (doc) => {name, color, caret} for a p: line, or null
    this.people = new Map(); // document name -> who else is there, from w: lines
  }

  // The next request: every document's unacknowledged edits (an idle
  // document sends a no-op delta, which asks for the server's changes).
  request() {
    const lines = [`u:${this.user}`];
    let token = "";
    this.sentEdit = false;
    for (const doc of this.docs.values()) {
      if (doc.token !== token) lines.push(`t:${(token = doc.token)}`); // holds until the next t:
      lines.push(...withPresence(doc.lines(this.dmp), this.presenceOf && this.presenceOf(doc)));
      this.sentEdit = this.sentEdit || doc.sentEdit;
      if (doc.adapter && doc.adapter.mirror) doc.adapter.mirror(doc);
    }
    return lines.join("\n") + "\n\n";
  }

  // The page's last beacon: say we are gone (and send what is pending).
  farewell() {
    const gone = presenceLine({ gone: 1 });
    const lines = [`u:${this.user}`];
    let token = "";
    for (const doc of this.docs.values()) {
      if (doc.token !== token) lines.push(`t:${(token = doc.token)}`); // a private document's last edits too
      const own = doc.pending() ? doc.lines(this.dmp) : [`f:${doc.serverVersion}:${doc.name}`];
      lines.push(own[0], gone, ...own.slice(1));
    }
    return lines.join("\n") + "\n\n";
  }

  // Take an answer's lines; returns the documents whose text changed.
  // Lines that are malformed or for documents we do not hold are ignored.
  receive(answer) {
    const changed = new Set();
    let doc = null;
    let acked = 0;
    const access = accessLines(answer);
    for (const [name, right] of access) if (this.docs.has(name)) this.docs.get(name).access = right;
    for (const line of answer.split("\n")) {
      if (line.startsWith("w:")) {
        const who = parseWho(line.slice(2));
        if (who && this.docs.has(who.doc)) this.people.set(who.doc, who.people);
        continue;
      }
      const letter = line[0];
      if (line[1] !== ":" || !"fFdDrR".includes(letter)) continue;
      const match = /^(\d{1,10}):/.exec(line.slice(2));
      if (!match) continue;
      const version = Number(match[1]);
      const rest = line.slice(2 + match[0].length);
      if (letter === "f" || letter === "F") {
        doc = this.docs.get(rest) || null;
        acked = version;
        if (doc && !access.has(rest)) doc.access = "edit";
        if (doc) doc.acknowledge(version);
      } else if (doc && (letter === "d" || letter === "D")) {
        if (doc.takeDelta(this.dmp, letter, version, rest)) changed.add(doc);
      } else if (doc) {
        if (doc.takeRaw(letter, version, rest, acked)) changed.add(doc);
      }
    }
    for (const d of this.docs.values()) if (d.adapter && d.adapter.mirror) d.adapter.mirror(d);
    return changed;
  }

  pending() {
    for (const doc of this.docs.values()) if (doc.pending()) return true;
    return false;
  }
}
