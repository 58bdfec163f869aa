// node --test: tokens on the wire (t: lines) and x: answers (issue 12).
import assert from "node:assert/strict";
import { test } from "node:test";

import { accessLines, accessStatus, tokenFor } from "../../static_src/client/access.js";
import { makeDmp } from "../../static_src/client/diffs.js";
import { SharedDoc, Session } from "../../static_src/client/session.js";

class Box {
  constructor(text = "") { this.text = text; }
  getText() { return this.text; }
  setText(text) { const changed = text !== this.text; this.text = text; return changed; }
  merge() { return true; }
}

test("a t: line goes before each document whose token differs from the last one", () => {
  const s = new Session("ann", makeDmp());
  for (const [name, token] of [["a", "TA"], ["b", "TA"], ["c", ""]]) {
    const doc = new SharedDoc(name, new Box());
    doc.token = token;
    s.docs.set(name, doc);
  }
  assert.equal(s.request(), "u:ann\nt:TA\nf:0:a\nr:0:\nf:0:b\nr:0:\nt:\nf:0:c\nr:0:\n\n");
});

test("a document without a token sends no t: line, as original clients do", () => {
  const s = new Session("ann", makeDmp());
  s.docs.set("a", new SharedDoc("a", new Box("Hi")));
  assert.equal(s.request(), "u:ann\nf:0:a\nr:0:Hi\n\n");
});

test("x: lines mark documents read-only or inaccessible; a plain block puts edit back", () => {
  const s = new Session("vic", makeDmp());
  const box = new Box("typed");
  s.docs.set("notes", new SharedDoc("notes", box));
  s.docs.set("other", new SharedDoc("other", new Box()));
  s.request();
  s.receive("x:view:notes\nx:none:other\nF:0:notes\nR:0:secret\n\n");
  assert.equal(box.text, "secret"); // the viewer's typing is put back
  assert.equal(s.docs.get("notes").access, "view");
  assert.equal(s.docs.get("other").access, "none");
  assert.equal(accessStatus(s.docs.values()), "noaccess");
  s.receive("F:0:other\nd:0:\n\n");
  assert.equal(s.docs.get("other").access, "edit");
  assert.equal(accessStatus(s.docs.values()), "readonly");
});

test("tokenFor: per-document tokens win over the page-wide one", () => {
  assert.equal(tokenFor({ token: "T", tokens: { a: "TA" } }, "a"), "TA");
  assert.equal(tokenFor({ token: "T", tokens: { a: "TA" } }, "b"), "T");
  assert.equal(tokenFor({}, "b"), "");
  assert.deepEqual([...accessLines("x:view:a:b\nF:1:a:b\nx:bad\n")], [["a:b", "view"]]);
});
