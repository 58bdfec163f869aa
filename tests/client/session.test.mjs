// node --test: the protocol state of the client against worked exchanges
// from PROTOCOL.md and the rules for acks, resends and raw dumps.
import assert from "node:assert/strict";
import { test } from "node:test";

import { makeDmp } from "../../static_src/client/diffs.js";
import { SharedDoc, Session } from "../../static_src/client/session.js";

class Box {
  constructor(text = "", merge = true) {
    this.text = text;
    this.mergeable = merge;
  }
  getText() { return this.text; }
  setText(text) { const changed = text !== this.text; this.text = text; return changed; }
  merge() { return this.mergeable; }
}

function session(user, name, text, merge) {
  const s = new Session(user, makeDmp());
  const box = new Box(text, merge);
  s.docs.set(name, new SharedDoc(name, box));
  return [s, box, s.docs.get(name)];
}

// A document that has joined: its first exchange done, shadow "" at versions 0/1.
function joined(user, name, text = "", merge = true) {
  const [s, box, doc] = session(user, name, "", merge);
  s.request();
  s.receive(`F:0:${name}\nd:0:\n\n`);
  box.text = text;
  return [s, box, doc];
}

test("joining sends a raw dump: it seeds a new document, or adopts the existing one", () => {
  // Answers as our gateway gives them (tests/test_js_client.py runs the real thing).
  const [ann, annBox, annDoc] = session("ann42", "notes7", "Hi");
  assert.equal(ann.pending(), true);
  assert.equal(ann.request(), "u:ann42\nf:0:notes7\nr:0:Hi\n\n");
  ann.receive("F:0:notes7\nd:0:=2\n\n");
  assert.equal(annBox.text, "Hi");
  assert.equal(ann.pending(), false);
  assert.equal(ann.request(), "u:ann42\nf:1:notes7\nd:0:=2\n\n");
  assert.deepEqual([annDoc.clientVersion, annDoc.serverVersion], [1, 1]);

  // Bob's page starts with its own default text; the document wins.
  const [bob, bobBox] = session("bob9", "notes7", "default", false);
  assert.equal(bob.request(), "u:bob9\nf:0:notes7\nr:0:default\n\n"); // r even for an overwriting field
  bob.receive("F:0:notes7\nd:0:-7\t+Hi\n\n");
  assert.equal(bobBox.text, "Hi");
  assert.equal(bob.request(), "u:bob9\nf:1:notes7\nD:0:=2\n\n");
});

test("the example exchange of PROTOCOL.md, once joined", () => {
  const [bob, bobBox, bobDoc] = joined("bob9", "notes7");
  assert.equal(bob.request(), "u:bob9\nf:1:notes7\nd:0:\n\n");
  assert.equal(bob.receive("F:1:notes7\nd:1:+Hi\n\n").size, 1);
  assert.equal(bobBox.text, "Hi");
  assert.equal(bob.request(), "u:bob9\nf:2:notes7\nd:1:=2\n\n");
  bob.receive("F:2:notes7\nd:2:=2\n\n");
  assert.deepEqual([bobDoc.clientVersion, bobDoc.serverVersion, bobDoc.editStack], [2, 3, []]);
  assert.equal(bob.pending(), false);
});

test("unacknowledged edits are resent until the server takes them", () => {
  const [s, box, doc] = joined("u", "d");
  box.text = "a";
  assert.equal(s.request(), "u:u\nf:1:d\nd:0:+a\n\n"); // this answer is lost
  box.text = "ab";
  assert.equal(s.request(), "u:u\nf:1:d\nd:0:+a\nd:1:=1\t+b\n\n");
  assert.equal(s.pending(), true);
  s.receive("F:2:d\nd:1:=2\n\n");
  assert.deepEqual(doc.editStack, []);
  assert.equal(s.pending(), false);
});

test("a merge patches server edits into text typed since the request", () => {
  const [s, box] = session("u", "d", "hello world");
  s.request();
  s.receive("F:0:d\nd:0:=11\n\n");
  box.text = "hello brave world"; // typed while the next request was out
  s.receive("F:0:d\nd:1:+Oh, \t=11\n\n");
  assert.equal(box.text, "Oh, hello brave world");
});

test("overwriting documents and D lines replace the text", () => {
  const [s, box] = joined("u", "n", "12", false);
  assert.equal(s.request(), "u:u\nf:1:n\nD:0:+12\n\n");
  box.text = "13";
  s.receive("F:1:n\nD:1:-2\t+7\n\n");
  assert.equal(box.text, "7");
});

test("a resent server edit is skipped; one from the future asks for a raw dump", () => {
  const [s, box, doc] = joined("u", "d");
  s.receive("F:0:d\nd:1:+x\n\n");
  s.receive("F:0:d\nd:1:+x\n\n"); // the same edit again: already taken
  assert.equal(box.text, "x");
  s.receive("F:0:d\nd:5:=1\t+y\n\n");
  assert.equal(doc.deltaOk, false);
  assert.equal(box.text, "x");
  box.text = "xz";
  assert.equal(s.request(), "u:u\nf:2:d\nr:0:xz\n\n");
  s.receive("F:0:d\nd:2:=2\n\n");
  assert.equal(doc.deltaOk, true);
});

test("a delta that does not fit the shadow leads to a raw dump, not a wrong text", () => {
  for (const bad of ["=5", "+%C3", "=1\t-9", "x1", "=1\t+a"]) {
    const [s, box, doc] = joined("u", "d");
    s.receive("F:0:d\nd:1:+ab\n\n");
    s.receive(`F:0:d\nd:2:${bad}\n\n`);
    assert.equal(doc.deltaOk, false, bad);
    assert.equal(box.text, "ab", bad);
  }
});

test("R replaces text and versions; r (a null document) only the shadow", () => {
  const [s, box, doc] = session("u", "d", "mine");
  s.request();
  s.receive("F:0:d\nR:3:theirs%20%F0%9F%8E%89\n\n");
  assert.equal(box.text, "theirs 🎉");
  assert.deepEqual([doc.serverVersion, doc.clientVersion, doc.shadow], [3, 0, "theirs 🎉"]);
  s.receive("F:0:d\nr:3:\n\n");
  assert.equal(box.text, "theirs 🎉");
  assert.equal(s.request(), "u:u\nf:3:d\nd:0:+theirs %F0%9F%8E%89\n\n");
});

test("malformed and unknown answer lines are ignored", () => {
  const [s, box, doc] = session("u", "d", "");
  s.request();
  s.receive("garbage\nx:1:d\nF:zz:d\nF:1:other\nd:0:+nope\nu:u\nF:1:d\nd:0:+ok\n\n");
  assert.equal(box.text, "ok");
  assert.equal(doc.serverVersion, 1);
});

test("lengths count UTF-16 units, like the server", () => {
  const [s, box] = joined("u", "d", "🎉");
  assert.equal(s.request(), "u:u\nf:1:d\nd:0:+%F0%9F%8E%89\n\n");
  s.receive("F:1:d\nd:1:=2\t+!\n\n");
  assert.equal(box.text, "🎉!");
});

test("a nullified document sends N: and nothing else", () => {
  const [s, , doc] = joined("u1", "gone", "text");
  doc.nullifying = true;
  assert.equal(s.request(), "u:u1\nN:gone\n\n");
  assert.ok(doc.pending()); // until the client drops it after the answer
});

test("sentEdit tells a request with an edit of ours from an idle poll", () => {
  const [s, box] = joined("u1", "doc");
  s.request();
  assert.equal(s.sentEdit, false);
  box.text = "typed";
  s.request();
  assert.equal(s.sentEdit, true);
});

test("an adapter with patch() merges a d: delta through it", () => {
  const [s, box, doc] = joined("u1", "doc");
  const calls = [];
  box.patch = (shadow, diffs) => { calls.push([shadow, diffs.length]); box.text = "Hi"; return true; };
  const changed = s.receive("F:1:doc\nd:1:+Hi\n\n");
  assert.deepEqual(calls, [["", 1]]);
  assert.ok(changed.has(doc));
  assert.equal(doc.shadow, "Hi");
});

test("presence: a p: line after f: when the page set a user, w: lines read, farewell says gone", () => {
  const [s, box] = joined("ann", "doc", "");
  s.presenceOf = () => ({ name: "Ann", color: "#c00" });
  const request = s.request().split("\n");
  assert.equal(request[1], "f:1:doc");
  assert.equal(request[2], "p:" + encodeURI(JSON.stringify({ name: "Ann", color: "#c00" })));
  const who = encodeURI(JSON.stringify({ doc: "doc", people: [{ id: "x", name: "Bob", color: "", caret: 2 }] }));
  s.receive(`F:2:doc\nd:1:\nw:${who}\nw:%ZZ\n\n`);
  assert.deepEqual(s.people.get("doc"), [{ id: "x", name: "Bob", color: "", caret: 2 }]);
  assert.equal(box.text, "");
  assert.equal(s.farewell(), `u:ann\nf:2:doc\np:${encodeURI('{"gone":1}')}\n\n`);
});
