"""A three-way merge at word granularity, in place of a fuzzy patch.

A client's delta is a script of edits to its shadow; the master text is that
same shadow with other users' edits applied since. Diffing shadow to master
gives the other side's script over the same base, and the two scripts merge
exactly, with nothing matched by similarity.

Both scripts are diffs over tokens, not characters: a text is words (runs of
non-space) and the gaps between them (runs of space; the first and last gap
may be empty). A character diff of "Hello" -> "Goodbye" keeps a stray "o"
and "e", so two such edits interleave into a word neither side wrote; a
token diff replaces whole words, so every word of the result is a word of
the base or of one side.

A hunk is a run of changed tokens between tokens that side kept. The rule
(README, "where we are stricter"):

- A later hunk conflicts with an earlier one when the tokens they delete or
  replace overlap, when either inserts strictly inside the other's deleted
  span (its place is gone), or when both insert exactly the same tokens at
  one spot (the same edit twice). The earlier side wins: the master on the
  server, the server's text on a client, since both reached the server
  first. The later hunk is dropped whole and reported, for the log.
- Every other hunk is kept. Inserts at one spot go earlier side first.

Words never glue: tokens alternate gap, word, gap in every text, each hunk
fits between the tokens its side kept around it, and at one spot each
insert starts and ends with the kinds its neighbours expect. The leading
and trailing gaps are tokens of their own, so inserts at the very start or
end of the text replace them; two such are both kept, earlier first, and
where their words would touch ("x" and "y" typed into an empty text) a
space goes between them, so no one's word is lost or glued: see _assemble.
"""

import itertools
import re
import time
from typing import NamedTuple

from diff_match_patch import diff_match_patch

from . import spans

DIFF_DELETE, DIFF_INSERT, DIFF_EQUAL = -1, 1, 0

# The same set as the JS client's merge (static_src/client/merge.js). NUL
# separates a multiple select's values (as the original client writes them),
# so each value is a word of its own and two people's choices merge.
_TOKEN = re.compile(r"[ \t\n\r\0]+|[^ \t\n\r\0]+")
_SPACE = " \t\n\r\0"

# Diffs must be exact: a diff cut short by its deadline replaces a whole
# region and everything the other side did there conflicts. The 0.1 s of
# PROTOCOL.md is for answers, where any valid diff will do; this one gets
# more time (a token diff only spans what changed, so it is quick unless the
# text was rewritten wholesale).
MERGE_DIFF_SECONDS = 2.0

# Its own diff-match-patch: Diff_Timeout 0 turns off the "half match"
# speed-up, which gives non-minimal diffs (false conflicts); the deadline is
# passed to each call instead.
_EXACT = diff_match_patch()
_EXACT.Diff_Timeout = 0

# Tokens are diffed as one character each. Codes skip the surrogate range
# so that the JS client, whose strings are UTF-16, codes them identically.
_MAX_CODES = 0x10000 - 0x800


class _TooManyTokens(Exception):
    """More different tokens than codes (some 63,000 different words)."""


class Merged(NamedTuple):
    text: str
    dropped: list  # (base text the hunk replaced, the text it wrote), per dropped hunk


def merge(dmp, base, client, master):
    """The master text with the edits that turn ``base`` into ``client``
    merged in."""
    return merge3(dmp, base, client, master).text


def merge3(dmp, base, client, master):
    """As merge(), and the client's hunks dropped in conflicts.

    ``dmp`` is the caller's diff-match-patch; the token diffs use their own
    exact one (see _EXACT), so results do not depend on its settings."""
    if master == base or client == master:
        return Merged(client if master == base else master, [])
    if client == base:
        return Merged(master, [])
    deadline = time.time() + MERGE_DIFF_SECONDS
    head, tail = _shared_ends(base, client, master)
    if head:
        # A tail too short to be left out only makes the middles longer.
        merged = _merge_middles(base, client, master, head, tail, deadline)
        if merged is None and tail:
            merged = _merge_middles(base, client, master, head, 0, deadline)
        if merged is not None:
            return merged
    return _merge(_tokens(base), _tokens(client), _tokens(master), deadline)[0]


def _merge_middles(base, client, master, head, tail, deadline):
    """merge3 of the texts without their shared ``head`` and ``tail``
    characters, or None where that might not be the whole texts' merge."""
    # An end must hold more words than the longest edit (checked below), and
    # every edit is a word or more: an end of fewer than two words never does.
    if not _has_words(base[:head], 2, from_end=True) or (tail and not _has_words(base[len(base) - tail:], 2)):
        return None
    middles = [t[head:len(t) - tail] for t in (base, client, master)]
    try:
        middle, longest = _merge(*[_tokens(m) for m in middles], deadline, True, bool(tail))
    except _Unfenced:
        return None
    if not _has_words(base[:head], longest + 1, from_end=True):
        return None
    if tail and not _has_words(base[len(base) - tail:], longest + 1):
        return None
    return Merged(base[:head] + middle.text + base[len(base) - tail:], middle.dropped)


def _merge(base_tokens, client_tokens, master_tokens, deadline, head_cut=False, tail_cut=False):
    """merge3 of three tokenized texts (or middles: see _shared_ends), and
    the most words one edit of either side's word diff inserts or deletes."""
    codes = {}  # shared, so equal tokens have equal codes in all three
    try:
        coded, master_coded, client_coded = (_encode(t, codes) for t in (base_tokens, master_tokens, client_tokens))
    except _TooManyTokens:
        # Too big to merge by words: each side is one hunk, so theirs stands.
        return Merged("".join(master_tokens), [("".join(base_tokens), "".join(client_tokens))]), 0
    theirs, their_longest = _script(base_tokens, master_tokens, coded, master_coded, deadline, head_cut, tail_cut)
    ours, our_longest = _script(base_tokens, client_tokens, coded, client_coded, deadline, head_cut, tail_cut)
    kept, dropped = _resolve(ours, theirs, len(base_tokens))
    out = _assemble(base_tokens, theirs, kept)
    return (Merged("".join(out), [("".join(base_tokens[h.start:h.end]), "".join(h.tokens)) for h in dropped]),
            max(their_longest, our_longest))


# Shared ends. Edits are local, and tokenizing the whole of a 10 KB text
# three times cost more than the rest of a merge, so the text the three
# share at each end is left out. The merge of what remains (the middles)
# is the merge of the whole, hunk for hunk, because:
# - each middle starts (and, if a tail is left out, ends) with a word all
#   three share, so every gap diff lies between matched words, as it would
#   in the whole texts;
# - the word diff is fenced in by the edge codes where an end is left out:
#   no edit slides over a fence, and in the whole texts diff-match-patch's
#   cleanup cannot slide one over the shared ends either, since it only
#   moves an edit over a whole equality and the ends have more words than
#   any edit. The middles' word diffs are the whole texts' apart from what
#   happens at the ends, so their longest edit is the one to check, after
#   the middles are merged (an end too short: the whole texts are merged);
# - with a tail left out, the word diff's common prefix stops inside the
#   middles (_Unfenced if not: in the whole texts it would run into the tail).
# tests/test_merge.py checks each point against whole-text merges.
_CUT_SCAN = 256  # characters searched back for a cut; a longer word is not cut around


class _Unfenced(Exception):
    """The middles' diff would not be the whole texts' diff."""


def _shared_ends(base, client, master):
    """``(head, tail)``: how many characters of the three texts' shared
    start and end can be left out of a merge (0: none)."""
    prefix = min(spans.common_prefix(base, client), spans.common_prefix(base, master))
    n, starts = len(base), lambda i: base[i - 1] in _SPACE and base[i] not in _SPACE
    first = _cut_back(prefix, starts)  # the word the first change is in, or just after
    head = _cut_back(first, starts)    # the shared word before it: the middles start with it
    if not head:
        return 0, 0
    limit = min(len(base), len(client), len(master)) - first
    suffix = min(spans.common_suffix(base, client, limit), spans.common_suffix(base, master, limit))
    ends = lambda t: base[n - t] in _SPACE and base[n - t - 1] not in _SPACE
    return head, _cut_back(_cut_back(suffix, ends), ends)


def _cut_back(shared, fits):
    """The largest k < ``shared`` (0 if none within _CUT_SCAN) where ``fits(k)``."""
    for k in range(shared - 1, max(0, shared - 1 - _CUT_SCAN), -1):
        if fits(k):
            return k
    return 0


def _has_words(text, n, from_end=False):
    """Has ``text`` ``n`` words or more? Looks at no more of it than it must,
    from its start (or end)."""
    width = 64
    while True:
        window = text[-width:] if from_end else text[:width]
        if sum(1 for part in _TOKEN.findall(window) if part[0] not in _SPACE) >= n:
            return True
        if len(window) == len(text):
            return False
        width *= 4


class Hunk(NamedTuple):
    start: int   # base tokens [start, end) deleted (start == end: a pure insert)
    end: int
    tokens: list  # what this side wrote there


def _tokens(text):
    """Gap, word, gap, ..., gap: a text as alternating tokens, with an
    empty gap at either end if the text starts or ends with a word."""
    parts = _TOKEN.findall(text)
    if not parts or parts[0][0] not in _SPACE:
        parts.insert(0, "")
    if parts[-1] and parts[-1][0] not in _SPACE:
        parts.append("")
    return parts


def _encode(tokens, codes):
    """One character per token. The edge gaps get keys of their own, so an
    inner gap is never matched with an edge. Distinct keys are found by
    dict.fromkeys and the text is built by one join, both in C: a Python
    step per token cost 2.7 ms on a 10 KB text."""
    if len(tokens) == 1:
        keys = [("<>", tokens[0])]
    else:
        keys = [("<", tokens[0])] + tokens[1:-1] + [(">", tokens[-1])]
    new = [key for key in dict.fromkeys(keys) if key not in codes]  # distinct, in order
    n = len(codes)
    if n + len(new) > _MAX_CODES:
        raise _TooManyTokens()
    codes.update(zip(new, map(chr, itertools.chain(range(n, min(n + len(new), 0xD800)),
                                                   range(max(n, 0xD800) + 0x800, n + len(new) + 0x800)))))
    return "".join(map(codes.__getitem__, keys))


def _script(base_tokens, side_tokens, base_coded, side_coded, deadline, head_cut=False, tail_cut=False):
    """A side's hunks over base token positions, in order, and the words in
    the longest edit of its word diff. ``head_cut``, ``tail_cut``: the texts
    had their shared start, end left out, and the word diff is fenced in at
    that end (see _shared_ends).

    Words are matched first, on their own: in one diff of all tokens a
    matched gap counts as much as a matched word, so a minimal diff may keep
    a space and delete an untouched word beside the edit instead. Between
    matched words, a token diff places the gaps (and keeps pure inserts
    pure: "a b" -> "a x b" adds " x", it does not replace the " ")."""
    runs = []  # (base word, side word, count): runs of words matched in order
    b = s = 0  # word indices; word k is token 2k + 1
    base_words, side_words = base_coded[1::2], side_coded[1::2]
    if tail_cut and base_words != side_words and (base_words.startswith(side_words)
                                                  or side_words.startswith(base_words)):
        raise _Unfenced()
    if head_cut:  # the edge gaps' codes: no word has them
        base_words, side_words, b, s = base_coded[0] + base_words, side_coded[0] + side_words, -1, -1
    if tail_cut:
        base_words, side_words = base_words + base_coded[-1], side_words + side_coded[-1]
    longest = 0  # words in the longest edit of the word diff
    for op, chars in _diff(base_words, side_words, deadline):
        n = len(chars)
        if op == DIFF_EQUAL:
            runs.append((b, s, n))
        else:
            longest = max(longest, n)
        b += n if op != DIFF_INSERT else 0
        s += n if op != DIFF_DELETE else 0
    # The fences matched each other, first and last: out of the runs with them.
    if head_cut:
        runs[0] = (0, 0, runs[0][2] - 1)
    if tail_cut:
        runs[-1] = runs[-1][:2] + (runs[-1][2] - 1,)
    runs = [run for run in runs if run[2]]
    hunks = []

    def between(b0, s0, b1, s1):  # the tokens between two matched words (or the ends)
        before, after = base_coded[b0 + 1:b1], side_coded[s0 + 1:s1]
        if before != after:
            hunks.extend(_hunks(side_tokens, _diff(before, after, deadline), b0 + 1, s0 + 1))

    last = (-1, -1)
    for b, s, n in runs:
        between(*last, 2 * b + 1, 2 * s + 1)
        # Inside a run, only the gaps between its words can differ; most runs
        # have none that do, which one slice comparison (in C) tells.
        if base_coded[2 * b + 1:2 * (b + n)] != side_coded[2 * s + 1:2 * (s + n)]:
            for k in range(n - 1):
                between(2 * (b + k) + 1, 2 * (s + k) + 1, 2 * (b + k) + 3, 2 * (s + k) + 3)
        last = (2 * (b + n) - 1, 2 * (s + n) - 1)
    between(*last, len(base_tokens), len(side_tokens))
    return hunks, longest


def _diff(before, after, deadline):
    return _EXACT.diff_main(before, after, False, deadline)


def _hunks(side_tokens, diffs, at, side_at):
    """Hunks from a token diff of the base from token ``at`` and the side's
    from token ``side_at``."""
    hunks = []
    start, written = None, []
    for op, chars in diffs:
        n = len(chars)
        if op == DIFF_EQUAL:
            if start is not None:
                hunks.append(Hunk(start, at, written))
                start, written = None, []
            at += n
            side_at += n
            continue
        if start is None:
            start = at
        if op == DIFF_DELETE:
            at += n
        else:
            written = written + side_tokens[side_at:side_at + n]
            side_at += n
    if start is not None:
        hunks.append(Hunk(start, at, written))
    return hunks


def _conflict(later, earlier, n_tokens):
    """Does ``later`` clash with ``earlier`` (see the module docstring)?"""
    if _same_edge(later, earlier, n_tokens):
        return later.tokens == earlier.tokens  # the same edit twice; else both stand (_assemble)
    if later.start < later.end and earlier.start < earlier.end:
        return later.start < earlier.end and earlier.start < later.end
    if later.start == later.end and earlier.start == earlier.end:
        return later.start == earlier.start and later.tokens == earlier.tokens
    insert, span = (later, earlier) if later.start == later.end else (earlier, later)
    return span.start < insert.start < span.end


def _same_edge(a, b, n_tokens):
    """Both replace just the leading or trailing gap: inserts at the text's
    start or end (the whole of an empty text), kept like inserts at one spot."""
    return a.start == b.start and a.end == b.end == a.start + 1 and (a.start == 0 or a.end == n_tokens)


def _glued(first, second):
    return bool(first) and bool(second) and first[-1] not in _SPACE and second[0] not in _SPACE


def _resolve(ours, theirs, n_tokens):
    """Our hunks split into kept and dropped; theirs always stand."""
    kept, dropped, j = [], [], 0
    for hunk in ours:
        # Hunks are sorted and disjoint on each side: those of theirs ending
        # before this one starts cannot touch it or any later one of ours.
        while j < len(theirs) and theirs[j].end < hunk.start:
            j += 1
        k = j
        clash = False
        while k < len(theirs) and theirs[k].start <= hunk.end:
            if _conflict(hunk, theirs[k], n_tokens):
                clash = True
                break
            k += 1
        (dropped if clash else kept).append(hunk)
    return kept, dropped


def _assemble(base_tokens, theirs, ours):
    """The base with both sides' kept hunks applied, as a list of tokens.
    At one gap: pure inserts (theirs, then ours), then the hunk that starts
    there; a hunk that ends there was written before them. Two hunks at one
    edge get a space between them where their words would touch."""
    inserts, spans = {}, {}
    for side in (theirs, ours):
        for hunk in side:
            (inserts if hunk.start == hunk.end else spans).setdefault(hunk.start, []).append(hunk)
    out, at = [], 0
    # From one hunk's place to the next, the base's tokens go over as a slice.
    for place in sorted(inserts.keys() | spans.keys()):
        if place < at:
            continue  # inside a span already written (no kept hunk is: see _conflict)
        out.extend(base_tokens[at:place])
        at = place
        for hunk in inserts.get(at, ()):
            out.extend(hunk.tokens)
        if at in spans:  # two only where both replaced one edge gap (_same_edge)
            for i, span in enumerate(spans[at]):
                if i and _glued("".join(spans[at][0].tokens), "".join(span.tokens)):
                    out.append(" ")  # two words typed at one edge: a space keeps both whole
                out.extend(span.tokens)
            at = spans[at][0].end
        else:
            out.extend(base_tokens[at:at + 1])
            at += 1
    out.extend(base_tokens[at:])
    return out
