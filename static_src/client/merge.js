// A three-way merge at character level, the same as the server's
// mobwrite/merge.py: the server's edits land in text typed since the last
// sync. diff-match-patch's fuzzy patch, which the original client used,
// places each hunk by similarity, so when two people type at one spot a
// letter can land beside a look-alike, inside the neighbouring word.

import { DELETE, INSERT, SPACE, continuesWord, wholeCodePoints } from "./diffs.js";

// A minimal diff with each edit slid onto word boundaries where it could go
// either way, and never splitting a surrogate pair.
function aligned(dmp, before, after) {
  const diffs = dmp.diff_main(before, after, true);
  dmp.diff_cleanupSemanticLossless(diffs);
  return wholeCodePoints(diffs);
}

// Insertions by base position, and deleted base spans (sorted, disjoint).
function script(diffs) {
  const inserts = new Map();
  const deletes = [];
  let at = 0;
  for (const [op, text] of diffs) {
    if (op === INSERT) {
      inserts.set(at, (inserts.get(at) || "") + text);
    } else {
      if (op === DELETE) deletes.push([at, at + text.length]);
      at += text.length;
    }
  }
  return { inserts, deletes };
}


// 0: `text` continues the word left of base position `at`; 2: it begins the
// word on the right; else 1.
function lean(base, at, text) {
  if (continuesWord(base[at - 1], text)) return 0;
  if (at < base.length && !SPACE.test(base[at]) && !SPACE.test(text[text.length - 1])) return 2;
  return 1;
}

// Two insertions at one base position, in the order they belong: someone
// finishing "wor|" while another starts " next" there gives "word next".
function inOrder(base, at, first, second) {
  return first && second && lean(base, at, second) < lean(base, at, first) ? second + first : first + second;
}

// Whether a base position lies in a deleted span; positions must be asked
// in increasing order (each check moves the cursor on).
function deletedAt(spans) {
  let i = 0;
  return (position) => {
    while (i < spans.length && spans[i][1] <= position) i++;
    return i < spans.length && spans[i][0] <= position;
  };
}

// `theirs` (the server's new text) with the edits that turn `base` into
// `ours` (our text) merged in, as mobwrite/merge.py does: every base
// character survives unless a side deleted it; each side's insertions land
// at their own place in the base (both at one spot: see inOrder). Also
// returned: where each position of `ours` (a caret) ends up in it: next
// to the same character on its left, so a caret stays with the text the
// user typed even when someone else typed the same letters beside it (and
// past their insertion there if it continues the caret's word).
export function mergeMapped(dmp, base, ours, theirs) {
  if (theirs === base) return [ours, (pos) => pos];
  const their = script(aligned(dmp, base, theirs));
  const ourDiffs = aligned(dmp, base, ours);
  const our = script(ourDiffs);
  const cuts = new Set([0, base.length, ...their.inserts.keys(), ...our.inserts.keys()]);
  for (const [a, b] of [...their.deletes, ...our.deletes]) cuts.add(a).add(b);
  const points = [...cuts].sort((x, y) => x - y);
  const theyDeleted = deletedAt(their.deletes);
  const weDeleted = deletedAt(our.deletes);
  const ourInsertAt = new Map(); // base gap -> where our insertion there starts in the result
  const theirInsertAt = new Map(); // where one of theirs starts in the result -> its text
  const segments = []; // [base start, base end, start in the result, kept]
  let out = "";
  points.forEach((start, k) => {
    const theirText = their.inserts.get(start) || "";
    const ourText = our.inserts.get(start) || "";
    const oursFirst = inOrder(base, start, theirText, ourText) !== theirText + ourText;
    if (oursFirst) {
      ourInsertAt.set(start, out.length);
      out += ourText;
    }
    if (theirText) theirInsertAt.set(out.length, theirText);
    out += theirText;
    if (!oursFirst) {
      ourInsertAt.set(start, out.length);
      out += ourText;
    }
    const end = points[k + 1];
    if (end === undefined) return;
    const kept = !theyDeleted(start) && !weDeleted(start);
    segments.push([start, end, out.length, kept]);
    if (kept) out += base.slice(start, end);
  });

  // Just after base character i in the result (where it was, if deleted).
  const afterBase = (i) => {
    let lo = 0;
    let hi = segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segments[mid][0] <= i) lo = mid;
      else hi = mid - 1;
    }
    const [start, , at, kept] = segments[lo];
    return kept ? at + (i - start) + 1 : at;
  };
  // A caret right before their insertion goes past it if it continues the
  // caret's word (see continuesWord).
  const settle = (at) => {
    const text = theirInsertAt.get(at);
    return text && continuesWord(out[at - 1], text) ? at + text.length : at;
  };
  const map = (pos) => settle(place(pos));
  const place = (pos) => {
    if (pos <= 0) return 0;
    const left = pos - 1; // the character left of the caret, in our text
    let o = 0;
    let b = 0;
    for (const [op, text] of ourDiffs) {
      if (op === DELETE) {
        b += text.length;
        continue;
      }
      if (left < o + text.length) {
        return op === INSERT ? ourInsertAt.get(b) + (left - o) + 1 : afterBase(b + (left - o));
      }
      o += text.length;
      if (op !== INSERT) b += text.length;
    }
    return out.length;
  };
  return [out, map];
}
