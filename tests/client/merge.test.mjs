// node --test: the client's three-way merge, on the cases the server's
// merge runs too (tests/merge_vectors.json), on random ones, and its caret map.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { makeDmp } from "../../static_src/client/diffs.js";
import { mergeMapped } from "../../static_src/client/merge.js";

const dmp = makeDmp();
const merge = (base, ours, theirs) => mergeMapped(dmp, base, ours, theirs)[0];
const vectors = JSON.parse(readFileSync(new URL("../merge_vectors.json", import.meta.url), "utf8")).cases;

test("the shared vectors: the same results and dropped hunks as mobwrite/merge.py", () => {
  assert.ok(vectors.length >= 20);
  for (const c of vectors) {
    const [text, , dropped] = mergeMapped(dmp, c.base, c.ours, c.theirs);
    assert.deepEqual([text, dropped], [c.merged, c.dropped], c.why);
  }
});

// Random texts of look-alike words and gaps, edges included: no word of the
// result is one that none of the three texts has (no glued or split word),
// and one side unchanged gives the other exactly.
test("random merges make no word that none of the three texts has", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const below = (n) => Math.floor(random() * n);
  const text = () => Array.from({ length: below(14) }, () => "ab  \n"[below(5)]).join("");
  const words = (s) => s.split(/[ \t\n\r]+/).filter(Boolean);
  for (let n = 0; n < 5000; n++) {
    const [base, ours, theirs] = [text(), text(), text()];
    const result = merge(base, ours, theirs);
    const known = new Set([...words(base), ...words(ours), ...words(theirs)]);
    const where = JSON.stringify([base, ours, theirs, result]);
    assert.ok(words(result).every((w) => known.has(w)), where);
    assert.equal(merge(base, base, theirs), theirs);
    assert.equal(merge(base, ours, base), ours);
    assert.equal(merge(base, ours, theirs), result); // deterministic
  }
});

test("the merge maps our caret to the same place among our own letters", () => {
  const place = (base, ours, theirs, caret) => {
    const [text, map] = mergeMapped(dmp, base, ours, theirs);
    const at = map(caret);
    return text.slice(0, at) + "|" + text.slice(at);
  };
  // We typed " b" where they typed " a": the same space on both sides, and
  // our caret stays after our own " b".
  assert.equal(place("x z", "x b z", "x a z", 3), "x a b| z");
  assert.equal(place("hello world", "hello world", "¡Olá! hello world", 6), "¡Olá! hello |world");
  assert.equal(place("hello world", "hello world", "hello big world", 9), "hello big wor|ld");
  assert.equal(place("abc", "abXc", "abYc", 3), "abY|c"); // our edit of their word dropped
  assert.equal(place("abc", "abc", "c", 2), "|c"); // our caret's letters deleted by them
  assert.equal(place("teh", "teh", "the", 3), "the|"); // they fixed the word our caret ends
  assert.equal(place("wor", "wor", "wor next", 3), "wor| next"); // a new word after the caret
  assert.equal(place("wor", "wor", "word next", 3), "word next|"); // continuing the caret's word
  assert.equal(place("", "typed", "", 5), "typed|");
  assert.equal(place("x w", "x w🎉", "y x w", 5), "y x w🎉|");
  assert.equal(place("My world", "My world", "Goodbye world", 2), "Goodbye| world");
});
