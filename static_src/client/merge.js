// A three-way merge at character level, the same as the server's
// mobwrite/merge.py: the server's edits land in text typed since the last
// sync. diff-match-patch's fuzzy patch, which the original client used,
// places each hunk by similarity, so when two people type at one spot a
// letter can land beside a look-alike, inside the neighbouring word.

import { DELETE, INSERT, wholeCodePoints } from "./diffs.js";

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

const SPACE = /[ \t\n\r]/; // the same set as the server's merge

// 0: `text` continues the word left of base position `at`; 2: it begins the
// word on the right; else 1.
function lean(base, at, text) {
  if (at > 0 && !SPACE.test(base[at - 1]) && !SPACE.test(text[0])) return 0;
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
// `ours` (our text) merged in. Every base character survives unless a side
// deleted it; each side's insertions land at their own place in the base
// (where both inserted at one spot, see inOrder; else the server's first).
export function merge(dmp, base, ours, theirs) {
  if (ours === base) return theirs;
  if (theirs === base) return ours;
  const their = script(aligned(dmp, base, theirs));
  const our = script(aligned(dmp, base, ours));
  const cuts = new Set([0, base.length, ...their.inserts.keys(), ...our.inserts.keys()]);
  for (const [a, b] of [...their.deletes, ...our.deletes]) cuts.add(a).add(b);
  const points = [...cuts].sort((x, y) => x - y);
  const theyDeleted = deletedAt(their.deletes);
  const weDeleted = deletedAt(our.deletes);
  let out = "";
  points.forEach((start, k) => {
    out += inOrder(base, start, their.inserts.get(start) || "", our.inserts.get(start) || "");
    const end = points[k + 1];
    if (end !== undefined && !theyDeleted(start) && !weDeleted(start)) out += base.slice(start, end);
  });
  return out;
}
