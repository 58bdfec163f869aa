// diff-match-patch with the client's settings, plus the one repair it needs:
// it diffs UTF-16 units, so an edit can start or end inside a surrogate pair
// (an emoji), which no UTF-8 delta can express.

import DiffMatchPatch from "diff-match-patch";

export const DELETE = -1;
export const INSERT = 1;
export const EQUAL = 0;

export function makeDmp() {
  const dmp = new DiffMatchPatch();
  dmp.Diff_Timeout = 1.0; // the browser can afford more than the server's 0.1 s for better merges
  return dmp;
}

const isHigh = (code) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code) => code >= 0xdc00 && code <= 0xdfff;

// Move pair halves out of the equalities around each change, so every
// boundary falls between whole code points.
export function wholeCodePoints(diffs) {
  const out = [];
  let del = "";
  let ins = "";
  const flush = () => {
    if (del) out.push([DELETE, del]);
    if (ins) out.push([INSERT, ins]);
    del = ins = "";
  };
  for (const [op, chunk] of diffs) {
    if (op !== EQUAL) {
      const last = out[out.length - 1];
      if (!del && !ins && last && isHigh(last[1].charCodeAt(last[1].length - 1))) {
        const half = last[1].slice(-1);
        last[1] = last[1].slice(0, -1);
        if (!last[1]) out.pop();
        del = ins = half;
      }
      if (op === DELETE) del += chunk;
      else ins += chunk;
      continue;
    }
    let text = chunk;
    if ((del || ins) && isLow(text.charCodeAt(0))) {
      del += text[0];
      ins += text[0];
      text = text.slice(1);
    }
    flush();
    if (!text) continue;
    const last = out[out.length - 1];
    if (last && last[0] === EQUAL) last[1] += text;
    else out.push([EQUAL, text]);
  }
  flush();
  return out;
}

// The diffs that turn `before` into `after`, ready for a delta.
export function diff(dmp, before, after) {
  const diffs = dmp.diff_main(before, after);
  dmp.diff_cleanupEfficiency(diffs);
  return wholeCodePoints(diffs);
}

export const SPACE = /[ \t\n\r]/; // what separates words, as in the server's merge

// Whether text inserted right at a caret continues the word the caret is
// in (the letter left of it and the text's first are not spaces): then the
// caret goes after it, as after typing; otherwise it stays before it, so
// someone finishing "wor|" while another starts " next" there goes on with
// "d" in the right place.
export function continuesWord(left, text) {
  return left !== undefined && !SPACE.test(left) && !SPACE.test(text[0]);
}
