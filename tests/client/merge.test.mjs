// node --test: the client's three-way merge, on the server's worked cases
// (tests/test_merge.py) and on random ones, for what it guarantees.
import assert from "node:assert/strict";
import { test } from "node:test";

import { makeDmp } from "../../static_src/client/diffs.js";
import { mergeMapped } from "../../static_src/client/merge.js";

const dmp = makeDmp();
const merge = (base, ours, theirs) => mergeMapped(dmp, base, ours, theirs)[0];

test("worked merges: base, ours, theirs -> theirs with our edits", () => {
  const cases = [
    ["AB", "ABC", "ABZ", "ABZC"], // same spot: the server's insert first
    ["hello world", "hello brave world", "hello world!", "hello brave world!"],
    ["abcdef", "abef", "abXcdef", "abXef"],
    ["abcdef", "abXYef", "abef", "abXYef"],
    ["The quick fox", "The slow fox", "", "slow"],
    ["", "typed", "other", "othertyped"],
    ["same", "same", "changed", "changed"],
    ["😀 a", "😀 b a", "😀 a c", "😀 b a c"],
    ["😀", "😀😁", "😁😀", "😁😀😁"],
    ["wor", "wor next", "word", "word next"], // they finish a word where we start one
    ["X word", "X reword", "X new word", "X new reword"], // our prefix stays on its word
  ];
  for (const [base, ours, theirs, want] of cases) {
    assert.equal(merge(base, ours, theirs), want, JSON.stringify([base, ours, theirs]));
  }
});

test("the letter-shift case: a word typed at one spot stays whole", () => {
  // Both typed a word at the end; our page shows the other's word as far as
  // it had arrived. A fuzzy patch put our "p" after their "iy g".
  const base = "abc hkwftiy";
  const ours = "abc hkwftiyp";
  const theirs = "abc hkwftiy gpqlvtcz";
  assert.equal(merge(base, ours, theirs), "abc hkwftiyp gpqlvtcz");
});

// The same properties tests/test_merge.py checks of the server's merge.
test("random merges keep both sides' inserts and nothing neither side wrote", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const below = (n) => Math.floor(random() * n);
  const edit = (text, marker) => {
    if (text && random() < 0.5) {
      const a = below(text.length);
      text = text.slice(0, a) + text.slice(a + 1 + below(5));
    }
    const at = below(text.length + 1);
    return text.slice(0, at) + marker + text.slice(at);
  };
  for (let n = 0; n < 3000; n++) {
    const base = Array.from({ length: below(60) }, () => "abcde "[below(6)]).join("");
    const ours = edit(base, `<C${n}>`);
    const theirs = edit(base, `[M${n}]`);
    const result = merge(base, ours, theirs);
    const where = JSON.stringify([base, ours, theirs, result]);
    assert.ok(result.includes(`<C${n}>`) && result.includes(`[M${n}]`), where);
    assert.equal(merge(base, base, theirs), theirs);
    assert.equal(merge(base, ours, base), ours);
    const rest = result.replace(`<C${n}>`, "").replace(`[M${n}]`, "");
    let i = 0;
    for (const ch of rest) {
      i = base.indexOf(ch, i) + 1;
      assert.ok(i > 0, where); // what is left is a subsequence of the base
    }
  }
});

test("the merge maps our caret to the same place among our own letters", async () => {
  const place = (base, ours, theirs, caret) => {
    const [text, map] = mergeMapped(dmp, base, ours, theirs);
    const at = map(caret);
    return text.slice(0, at) + "|" + text.slice(at);
  };
  // We typed " b" after their " a" arrived as far as " "; they typed "a": the
  // same letters on both sides, and our caret stays after our own " b".
  assert.equal(place(" ", "  b", " a", 3), " a b|");
  assert.equal(place("hello world", "hello world", "¡Olá! hello world", 6), "¡Olá! hello |world");
  assert.equal(place("hello world", "hello world", "hello big world", 9), "hello big wor|ld");
  assert.equal(place("abc", "abXc", "abYc", 3), "abYX|c"); // both at one gap: the server's first
  assert.equal(place("abc", "abc", "c", 2), "|c"); // our caret's letters deleted by them
  assert.equal(place("wor", "wor", "wor next", 3), "wor| next"); // a new word after the caret
  assert.equal(place("wor", "wor", "word next", 3), "word next|"); // continuing the caret's word
  assert.equal(place("", "typed", "", 5), "typed|");
  assert.equal(place("x", "x🎉", "yx", 3), "yx🎉|");
});
