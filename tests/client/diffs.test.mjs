// node --test: the pure parts of the client, with plain strings.
import assert from "node:assert/strict";
import { test } from "node:test";

import { decodeText, encodeText, wellFormed } from "../../static_src/client/codec.js";
import { diff, makeDmp, wholeCodePoints } from "../../static_src/client/diffs.js";

const dmp = makeDmp();

test("text encodes as the protocol says: encodeURI's set, space kept", () => {
  assert.equal(encodeText("a b+c%é#/?"), "a b+c%25%C3%A9#/?");
  assert.equal(decodeText("a b+c%25%C3%A9#/?"), "a b+c%é#/?");
  assert.equal(decodeText("%2B"), "+");
  assert.throws(() => decodeText("%C3"), URIError); // not UTF-8: does not fit
  assert.throws(() => decodeText("%ZZ"), URIError);
});

test("lone surrogates become U+FFFD, keeping the length in UTF-16 units", () => {
  assert.equal(wellFormed("a\uD83Db"), "a\uFFFDb");
  assert.equal(wellFormed("a\uDE00"), "a\uFFFD");
  assert.equal(wellFormed("🎉"), "🎉");
  assert.equal(encodeText("x\uD83D"), "x%EF%BF%BD");
});

// Every pair of emoji that share a high surrogate: diff-match-patch splits them.
const CASES = [
  ["😀", "😁"], ["a😀b", "a😁b"], ["😀", "😁😀"], ["😀😀", "😀"], ["x😀y", "xy"],
  ["", "😀"], ["😀", ""], ["ab😀cd", "ab😀😁cd"], ["😀x😁", "😁x😀"], ["🎉", "🎊🎉"],
];

test("no diff boundary falls inside a surrogate pair", () => {
  for (const [a, b] of CASES) {
    const raw = dmp.diff_main(a, b);
    const diffs = wholeCodePoints(raw);
    assert.equal(dmp.diff_text1(diffs), a);
    assert.equal(dmp.diff_text2(diffs), b);
    for (const [, chunk] of diffs) assert.equal(chunk, wellFormed(chunk), `${a} -> ${b}: ${JSON.stringify(diffs)}`);
    const delta = dmp.diff_toDelta(diffs); // encodeURI throws on a half pair
    assert.equal(dmp.diff_text2(dmp.diff_fromDelta(a, delta)), b);
  }
});

test("the split really happens without the repair", () => {
  assert.throws(() => dmp.diff_toDelta(dmp.diff_main("😀", "😁")), URIError);
  assert.doesNotThrow(() => dmp.diff_toDelta(diff(dmp, "😀", "😁")));
});

test("a caret follows its text, and passes an insert right at it that continues its word", async () => {
  const { mapPosition } = await import("../../static_src/client/fields.js");
  const at = (before, after, pos) => mapPosition(diff(dmp, before, after), pos);
  assert.equal(at("hello world", "¡Olá! hello world", 6), 12); // insert before the caret
  assert.equal(at("hello world", "hello big world", 6), 6); // insert right at it: caret stays before
  assert.equal(at("hello world", "hello world!", 11), 12); // continues "world": as if typed
  assert.equal(at("hello world", "hello world again", 11), 11); // a new word: the caret stays
  assert.equal(at("hello world", "hello", 8), 5); // caret in deleted text: where it was
  assert.equal(at("hello world", "hi world", 5), 2);
  assert.equal(at("ab🎉cd", "🎉ab🎉cd", 4), 6); // UTF-16 units
  assert.equal(at("", "abc", 0), 0);
});
