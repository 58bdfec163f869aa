// A three-way merge at word granularity, the same as the server's
// mobwrite/merge.py (read its docstring for the rule): the server's edits
// land in text typed since the last sync. Both edit scripts are diffs over
// words and the gaps between them; a hunk of ours that overlaps one of
// theirs is dropped (their edit reached the server first), the rest are
// kept, and inserts at one spot go theirs first. The shared cases in
// tests/merge_vectors.json keep the two merges the same.

import DiffMatchPatch from "diff-match-patch";

import { DELETE, EQUAL, INSERT } from "./diffs.js";

// NUL too: it separates a multiple select's values (merge.py says why).
const TOKEN = /[ \t\n\r\0]+|[^ \t\n\r\0]+/g;
const SPACE = /[ \t\n\r\0]/;
const MERGE_DIFF_MS = 2000; // as MERGE_DIFF_SECONDS in merge.py
const MAX_CODES = 0x10000 - 0x800; // one UTF-16 unit per token, surrogates skipped

// Its own diff-match-patch: Diff_Timeout 0 turns off the "half match"
// speed-up (non-minimal diffs, false conflicts); each call gets a deadline.
const exact = new DiffMatchPatch();
exact.Diff_Timeout = 0;

class TooManyTokens extends Error {}

// Gap, word, gap, ..., gap (the end gaps may be empty).
function tokens(text) {
  const parts = text.match(TOKEN) || [];
  if (!parts.length || !SPACE.test(parts[0][0])) parts.unshift("");
  const last = parts[parts.length - 1];
  if (last && !SPACE.test(last[0])) parts.push("");
  return parts;
}

// One UTF-16 unit per token; the edge gaps have keys of their own.
function encode(toks, codes) {
  const last = toks.length - 1;
  let out = "";
  toks.forEach((token, i) => {
    const key = (i === 0 ? "<" : "") + (i === last ? ">" : "") + "|" + token;
    if (!codes.has(key)) {
      const n = codes.size;
      if (n === MAX_CODES) throw new TooManyTokens();
      codes.set(key, String.fromCharCode(n < 0xd800 ? n : n + 0x800));
    }
    out += codes.get(key);
  });
  return out;
}

const diffCodes = (before, after, deadline) => exact.diff_main(before, after, false, deadline);

// Hunks {start, end, tokens} from a token diff of the base from token `at`
// and the side's from token `sideAt`.
function hunksOf(sideTokens, diffs, at, sideAt) {
  const hunks = [];
  let open = null;
  for (const [op, chars] of diffs) {
    const n = chars.length;
    if (op === EQUAL) {
      if (open) hunks.push({ ...open, end: at });
      open = null;
      at += n;
      sideAt += n;
      continue;
    }
    if (!open) open = { start: at, tokens: [] };
    if (op === DELETE) at += n;
    else {
      open.tokens = open.tokens.concat(sideTokens.slice(sideAt, sideAt + n));
      sideAt += n;
    }
  }
  if (open) hunks.push({ ...open, end: at });
  return hunks;
}

// A side's hunks: words matched first, then a token diff between matched
// words places the gaps (see _script in merge.py for why).
function script(baseTokens, sideTokens, baseCoded, sideCoded, deadline) {
  const odd = (s) => [...s].filter((_, i) => i % 2 === 1).join("");
  const anchors = [[-1, -1]];
  let b = 0;
  let s = 0;
  for (const [op, chars] of diffCodes(odd(baseCoded), odd(sideCoded), deadline)) {
    const n = chars.length;
    if (op === EQUAL) for (let k = 0; k < n; k++) anchors.push([2 * (b + k) + 1, 2 * (s + k) + 1]);
    if (op !== INSERT) b += n;
    if (op !== DELETE) s += n;
  }
  anchors.push([baseTokens.length, sideTokens.length]);
  let hunks = [];
  for (let k = 0; k + 1 < anchors.length; k++) {
    const [b0, s0] = anchors[k];
    const [b1, s1] = anchors[k + 1];
    const before = baseCoded.slice(b0 + 1, b1);
    const after = sideCoded.slice(s0 + 1, s1);
    if (before !== after) hunks = hunks.concat(hunksOf(sideTokens, diffCodes(before, after, deadline), b0 + 1, s0 + 1));
  }
  return hunks;
}

const sameTokens = (x, y) => x.length === y.length && x.every((t, i) => t === y[i]);

// Both replace just the leading or trailing gap (inserts at the text's
// start or end): kept like inserts at one spot, a space between them where
// their words would touch.
const sameEdge = (a, b, n) => a.start === b.start && a.end === b.end && a.end === a.start + 1 &&
  (a.start === 0 || a.end === n);
const glued = (first, second) => first !== "" && second !== "" && !SPACE.test(first[first.length - 1]) &&
  !SPACE.test(second[0]);

// Does `later` clash with `earlier`: overlapping deletions, an insert
// strictly inside the other's deleted span, or the same insert at one spot.
function conflict(later, earlier, n) {
  if (sameEdge(later, earlier, n)) {
    return sameTokens(later.tokens, earlier.tokens); // the same edit twice; else both stand

  }
  const laterPure = later.start === later.end;
  const earlierPure = earlier.start === earlier.end;
  if (!laterPure && !earlierPure) return later.start < earlier.end && earlier.start < later.end;
  if (laterPure && earlierPure) return later.start === earlier.start && sameTokens(later.tokens, earlier.tokens);
  const [insert, span] = laterPure ? [later, earlier] : [earlier, later];
  return span.start < insert.start && insert.start < span.end;
}

// Our hunks split into kept and dropped; theirs always stand.
function resolve(ours, theirs, n) {
  const kept = [];
  const dropped = [];
  let j = 0;
  for (const hunk of ours) {
    while (j < theirs.length && theirs[j].end < hunk.start) j++;
    let clash = false;
    for (let k = j; k < theirs.length && theirs[k].start <= hunk.end; k++) {
      if (conflict(hunk, theirs[k], n)) {
        clash = true;
        break;
      }
    }
    (clash ? dropped : kept).push(hunk);
  }
  return { kept, dropped };
}

// `theirs` (the server's new text) with the edits that turn `base` into
// `ours` (our text) merged in. Also returned: where each position of
// `ours` (a caret) ends up, next to the same character on its left; and
// our hunks dropped in conflicts, as [base text, text we wrote].
export function mergeMapped(dmp, base, ours, theirs) {
  if (theirs === base) return [ours, (pos) => pos, []];
  const baseTokens = tokens(base);
  const ourTokens = tokens(ours);
  const theirTokens = tokens(theirs);
  const codes = new Map();
  let coded;
  try {
    coded = [baseTokens, theirTokens, ourTokens].map((t) => encode(t, codes));
  } catch (err) {
    if (!(err instanceof TooManyTokens)) throw err;
    return [theirs, () => theirs.length, ours === theirs ? [] : [[base, ours]]];
  }
  const deadline = Date.now() + MERGE_DIFF_MS;
  const their = script(baseTokens, theirTokens, coded[0], coded[1], deadline);
  const our = script(baseTokens, ourTokens, coded[0], coded[2], deadline);
  const { kept, dropped } = ours === base || ours === theirs ? { kept: [], dropped: [] } : resolve(our, their, baseTokens.length);

  // The base with both sides' kept hunks applied. At one gap: pure inserts
  // (theirs, then ours), then the hunk starting there.
  const inserts = new Map();
  const spans = new Map();
  for (const hunk of [...their, ...kept]) {
    const into = hunk.start === hunk.end ? inserts : spans;
    into.set(hunk.start, [...(into.get(hunk.start) || []), hunk]);
  }
  const baseOut = new Array(baseTokens.length).fill(-1); // where each kept base token starts
  const coveredBy = new Array(baseTokens.length).fill(null); // the kept hunk that deleted it
  let out = "";
  for (let at = 0; at <= baseTokens.length; ) {
    for (const hunk of inserts.get(at) || []) {
      hunk.out = out.length;
      out += hunk.tokens.join("");
    }
    if (spans.has(at)) { // two only where both replaced one edge gap (sameEdge)
      for (const [i, span] of spans.get(at).entries()) {
        // Two words typed at one edge: a space keeps both whole (merge.py's _assemble).
        if (i && glued(spans.get(at)[0].tokens.join(""), span.tokens.join(""))) out += " ";
        span.out = out.length;
        out += span.tokens.join("");
        for (let i = span.start; i < span.end; i++) coveredBy[i] = coveredBy[i] || span;
      }
      at = spans.get(at)[0].end;
      continue;
    }
    if (at < baseTokens.length) {
      baseOut[at] = out.length;
      out += baseTokens[at];
    }
    at += 1;
  }
  if (ours === theirs) out = theirs; // (the early return of merge.py, same text)
  return [out, caretMap(dmp, { out, baseTokens, ourTokens, our, kept, baseOut, coveredBy }),
    dropped.map((h) => [baseTokens.slice(h.start, h.end).join(""), h.tokens.join("")])];
}

// Token starts, as character offsets.
function starts(toks) {
  const at = [0];
  for (const t of toks) at.push(at[at.length - 1] + t.length);
  return at;
}

// The last index i with list[i] <= x.
function floorIndex(list, x) {
  let lo = 0;
  let hi = list.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (list[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// Where a caret in `ours` goes: after the same character on its left. In
// a word someone rewrote, a character diff of the word carries it over.
function caretMap(dmp, m) {
  const { out, baseTokens, ourTokens, our, kept, baseOut, coveredBy } = m;
  const baseAt = starts(baseTokens);
  const ourAt = starts(ourTokens);
  const keptSet = new Set(kept);
  // For each of our tokens: the base token it is, or the hunk it is in.
  const owner = [];
  let b = 0;
  for (const hunk of our) {
    while (b < hunk.start) owner.push({ base: b++ });
    hunk.tokens.forEach((_, i) => owner.push({ hunk, offset: i }));
    b = hunk.end;
  }
  while (owner.length < ourTokens.length) owner.push({ base: b++ });
  const through = (from, to, loc) => dmp.diff_xIndex(dmp.diff_main(from, to, false), loc);
  // Just after base character L - 1, in the result.
  const afterBase = (L) => {
    if (L <= 0) return 0;
    const t = floorIndex(baseAt, L - 1);
    if (baseOut[t] >= 0) return baseOut[t] + (L - baseAt[t]);
    const span = coveredBy[t];
    const from = baseTokens.slice(span.start, span.end).join("");
    return span.out + through(from, span.tokens.join(""), L - baseAt[span.start]);
  };
  const place = (pos) => {
    if (pos <= 0) return 0;
    if (pos > ourAt[ourAt.length - 1]) return out.length;
    const k = floorIndex(ourAt, pos - 1);
    const inToken = pos - ourAt[k];
    const { base: t, hunk, offset } = owner[k];
    if (hunk === undefined) return afterBase(baseAt[t] + inToken);
    const before = hunk.tokens.slice(0, offset).join("").length + inToken;
    if (keptSet.has(hunk)) return hunk.out + before;
    // Our hunk was dropped: follow the base text it replaced.
    const from = baseTokens.slice(hunk.start, hunk.end).join("");
    return afterBase(baseAt[hunk.start] + through(hunk.tokens.join(""), from, before));
  };
  // Never between the halves of a surrogate pair.
  return (pos) => {
    const at = Math.min(place(pos), out.length);
    const code = out.charCodeAt(at - 1);
    return at > 0 && code >= 0xd800 && code <= 0xdbff ? at + 1 : at;
  };
}
