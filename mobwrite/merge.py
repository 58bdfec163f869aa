"""A three-way merge at character level, in place of a fuzzy patch.

A client's delta is a script of edits to its shadow; the master text is that
same shadow with other users' edits applied since. Diffing shadow to master
gives the other side's script over the same base, and the two scripts merge
exactly: every base character survives unless either side deleted it, and
each side's insertions land at their own place in the base. Nothing is
matched by similarity, so nothing is dropped or lands beside a look-alike.

Where both sides inserted at one spot, an insertion that continues the word
on its left goes first and one that begins the word on its right goes last
(someone finishing "wor|" while another starts " next" after it gives
"word next", not "wor nextd"); otherwise the master's goes first.
"""

import bisect
import time

DIFF_DELETE, DIFF_INSERT, DIFF_EQUAL = -1, 1, 0

# The shadow-to-master diff must be exact: a diff cut short by its deadline
# replaces a whole region, and inserts merged around it land mid-word. The
# 0.1 s of PROTOCOL.md is for answers, where any valid diff will do; this one
# gets more time (it only spans what other users changed meanwhile, so it is
# quick unless the text was rewritten wholesale).
MERGE_DIFF_SECONDS = 2.0


def merge(dmp, base, client, master):
    """The master text with the edits that turn ``base`` into ``client``
    merged in."""
    if master == base:
        return client
    deadline = time.time() + MERGE_DIFF_SECONDS
    master_diffs = _aligned(dmp, base, master, deadline)
    # Diffed afresh rather than taken from the client's delta: a delta may be
    # cleaned for size (diff_cleanupEfficiency folds short equalities between
    # edits into delete+insert pairs, so it "retypes" letters of a
    # neighbouring word, and the other side's insert would land around them).
    client_diffs = _aligned(dmp, base, client, deadline)
    master_ins, master_del = _script(master_diffs)
    client_ins, client_del = _script(client_diffs)
    cuts = sorted({0, len(base), *master_ins, *client_ins, *_ends(master_del), *_ends(client_del)})
    out = []
    for start, end in zip(cuts, cuts[1:] + [None]):
        out.extend(_in_order(base, start, master_ins.get(start, ""), client_ins.get(start, "")))
        if end is not None and not (_covered(master_del, start) or _covered(client_del, start)):
            out.append(base[start:end])
    return "".join(out)


def _in_order(base, at, first, second):
    """Two insertions at base position ``at``, in the order they belong."""
    if first and second and _lean(base, at, second) < _lean(base, at, first):
        return second, first
    return first, second


_SPACE = " \t\n\r"  # what separates words here, the same set as the JS client's merge


def _lean(base, at, text):
    """0: continues the word on the left; 2: begins the word on the right; else 1."""
    if at > 0 and base[at - 1] not in _SPACE and text[0] not in _SPACE:
        return 0
    if at < len(base) and base[at] not in _SPACE and text[-1] not in _SPACE:
        return 2
    return 1


def _aligned(dmp, before, after, deadline):
    """A minimal diff with each edit slid onto word boundaries where it can
    go either way (the lossless cleanup moves edits, never merges them)."""
    diffs = dmp.diff_main(before, after, True, deadline)
    dmp.diff_cleanupSemanticLossless(diffs)
    return diffs


def _script(diffs):
    """Insertions by base position, and deleted base spans (sorted, disjoint)."""
    inserts, deletes, at = {}, [], 0
    for op, text in diffs:
        if op == DIFF_INSERT:
            inserts[at] = inserts.get(at, "") + text
        else:
            if op == DIFF_DELETE:
                deletes.append((at, at + len(text)))
            at += len(text)
    return inserts, deletes


def _ends(spans):
    return (point for span in spans for point in span)


def _covered(spans, position):
    """Is base[position] inside one of the deleted spans?"""
    index = bisect.bisect_right(spans, (position, float("inf"))) - 1
    return index >= 0 and spans[index][0] <= position < spans[index][1]
