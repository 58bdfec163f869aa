"""The three-way merge: the shared worked cases, a big paste, and property
tests over random word edits."""

import collections
import itertools
import os
import json
import pathlib
import random
import time

import pytest
from hypothesis import assume, given, settings, strategies as st

from mobwrite.config import Settings
from mobwrite.delta import make_dmp
from mobwrite import merge as merge_module
from mobwrite.merge import merge, merge3

DMP = make_dmp(Settings.diff_timeout)  # the server's own settings: the merge must not depend on them
VECTORS = json.loads((pathlib.Path(__file__).parent / "merge_vectors.json").read_text("utf-8"))["cases"]


@pytest.mark.parametrize("case", VECTORS, ids=[c["why"] for c in VECTORS])
def test_shared_vectors(case):
    """The same cases tests/client/merge.test.mjs runs against merge.js."""
    merged = merge3(DMP, case["base"], case["ours"], case["theirs"])
    assert merged.text == case["merged"]
    assert [list(d) for d in merged.dropped] == case["dropped"]


@pytest.mark.parametrize("size", [5_000, 50_000])
@pytest.mark.parametrize("paster", ["ours", "theirs"])
def test_a_big_paste_2kb_above_another_users_word_leaves_it_whole(size, paster):
    rng = random.Random(size)

    def words(n_chars):
        out = []
        while sum(map(len, out)) < n_chars:
            out.append(" " + "".join(rng.choice("abcdefghij") for _ in range(rng.randrange(2, 9))))
        return "".join(out)

    base = "start" + words(20_000)
    word_at = base.index(" ", 12_000)        # another user types a word here
    paste_at = base.index(" ", word_at - 2_000)  # someone pastes 2 KB above it
    paste = words(size)
    pasted = base[:paste_at] + paste + base[paste_at:]
    typed = base[:word_at] + " ZEBRA" + base[word_at:]
    ours, theirs = (pasted, typed) if paster == "ours" else (typed, pasted)
    merged = merge3(DMP, base, ours, theirs)
    assert merged.dropped == []
    assert merged.text == base[:paste_at] + paste + base[paste_at:word_at] + " ZEBRA" + base[word_at:]


# Property tests. Base words are distinct (which base word an edit touched is
# then never ambiguous) and drawn from a pool of look-alikes; every word an
# edit writes is fresh and names its side, so its fate can be checked.
POOL = ["".join(p) for n in (2, 3) for p in itertools.product("abc", repeat=n)]
EDIT = st.tuples(st.sampled_from(["keep"] * 3 + ["delete", "replace"]), st.integers(0, 2))


@st.composite
def triples(draw):
    base = draw(st.lists(st.sampled_from(POOL), unique=True, max_size=10))
    return base, draw(_edit(len(base), "A")), draw(_edit(len(base), "B"))


def _edit(n, side):
    """Per base word: keep, delete or replace it; per gap: words inserted."""
    return st.tuples(st.lists(EDIT, min_size=n, max_size=n), st.lists(st.integers(0, 2), min_size=n + 1,
                                                                    max_size=n + 1)).map(
        lambda e: (side, e[0], e[1]))


def _apply(base, edit):
    """The edited words, and each change's footprint: slots it touches,
    where slot 2g is the gap before base word g and 2i+1 is word i."""
    side, ops, inserts = edit
    words, changes, fresh = [], [], itertools.count()

    def new_words(k):
        return ["%s%d" % (side, next(fresh)) for _ in range(k)]

    for g in range(len(base) + 1):
        if inserts[g]:
            written = new_words(inserts[g])
            words += written
            changes.append(({2 * g}, written))
        if g == len(base):
            break
        op, _ = ops[g]
        if op == "keep":
            words.append(base[g])
        else:
            written = new_words(1) if op == "replace" else []
            words += written
            changes.append(({2 * g, 2 * g + 1, 2 * g + 2}, written))
    return " ".join(words), changes


def _regions(changes):
    """Changes that touch each other's slots, joined: a side's hunks."""
    regions = []
    for slots, written in changes:
        slots, written = set(slots), list(written)
        for region in [r for r in regions if r[0] & slots]:
            regions.remove(region)
            slots |= region[0]
            written += region[1]
        regions.append((slots, written))
    return regions


def _clear(region, others, base_words):
    """No hunk of the other side touches it, or both only insert at one gap
    (in an empty text the check stays at "at most once": see mobwrite/merge.py)."""
    one_gap = len(region[0]) == 1 and min(region[0]) % 2 == 0 and base_words
    return all(one_gap and other[0] == region[0] for other in others if other[0] & region[0])


# 1,000 in CI (the same ones each run); MOBWRITE_MERGE_EXAMPLES=10000 for the longer run issue 10 was measured with.
@settings(max_examples=int(os.environ.get("MOBWRITE_MERGE_EXAMPLES", 1000)), deadline=None, derandomize=True)
@given(triples())
def test_random_word_edits_merge_into_whole_words(triple):
    base_words, edit_a, edit_b = triple
    base = " ".join(base_words)
    theirs, changes_a = _apply(base_words, edit_a)  # A reached the server first
    ours, changes_b = _apply(base_words, edit_b)
    merged = merge3(DMP, base, ours, theirs)
    # Deterministic, and whatever diff settings the caller's dmp has.
    assert merge3(make_dmp(diff_timeout=0), base, ours, theirs) == merged
    assert merge(DMP, base, ours, theirs) == merged.text
    counts = collections.Counter(merged.text.split())
    # No hybrid word: each is a word of the base or of one side.
    assert set(counts) <= set(base_words) | set(theirs.split()) | set(ours.split()), merged
    # A's edits all stand: its words once each, the words it removed gone.
    regions_a, regions_b = _regions(changes_a), _regions(changes_b)
    for _, written in regions_a:
        assert all(counts[w] == 1 for w in written), (written, merged)
    touched_a = {i for slots, _ in changes_a for i in slots if i % 2}
    assert not any(counts[base_words[i // 2]] for i in touched_a), merged
    # B's edits clear of A's stand too; the others are kept whole or dropped.
    for region in regions_b:
        if _clear(region, regions_a, base_words):
            assert all(counts[w] == 1 for w in region[1]), (region, merged)
        else:
            assert all(counts[w] <= 1 for w in region[1]), (region, merged)
    # A base word neither side touched is still there.
    touched_b = {i for slots, _ in changes_b for i in slots if i % 2}
    assert all(counts[base_words[i // 2]] == 1 for i in range(1, 2 * len(base_words), 2)
               if i not in touched_a | touched_b), merged


@settings(max_examples=2_000, deadline=None, derandomize=True)
@given(st.text(alphabet="ab \n", max_size=12), st.text(alphabet="ab \n", max_size=12),
       st.text(alphabet="ab \n", max_size=12))
def test_any_texts_merge_into_words_of_the_three(base, ours, theirs):
    """Arbitrary whitespace and words, edges included: still no glued word,
    and one side unchanged gives the other exactly."""
    merged = merge(DMP, base, ours, theirs)
    assert set(merged.split()) <= set(base.split()) | set(ours.split()) | set(theirs.split())
    assert merge(DMP, base, base, theirs) == theirs
    assert merge(DMP, base, ours, base) == ours


MIDDLE = st.text(alphabet="ab \n", max_size=8)
# Shared ends: a few repeated words, from none to enough to be left out.
WORDS = st.lists(st.tuples(st.sampled_from(["a", "b", "aa", "ab"]), st.sampled_from([" ", "  ", "\n", " \n"])),
                 max_size=10).map(lambda pairs: "".join(w + g for w, g in pairs))
ENDS = st.tuples(st.sampled_from(["", " "]), WORDS).map("".join)


def _whole(base, ours, theirs):
    tokens = [merge_module._tokens(t) for t in (base, ours, theirs)]
    return merge_module._merge(*tokens, time.time() + 60)[0]


@settings(max_examples=int(os.environ.get("MOBWRITE_MERGE_EXAMPLES", 1000)), deadline=None, derandomize=True)
@given(ENDS, ENDS, MIDDLE, MIDDLE, MIDDLE)
def test_leaving_out_the_shared_ends_changes_nothing(head, tail, base, ours, theirs):
    """merge3 merges only what lies between the ends the three texts share.
    On repetitive texts, where diffs could match across the cut, the text
    and the dropped hunks are still those of merging the whole texts."""
    texts = [head + middle + tail for middle in (base, ours, theirs)]
    assume(len(set(texts)) == 3)  # otherwise merge3 answers before it tokenizes anything
    assert merge3(DMP, *texts) == _whole(*texts)


def test_an_edit_that_repeats_all_before_it_is_placed_as_in_the_whole_text():
    """In the whole text, diff-match-patch slides our insert of "a b" over
    the equal "a b" before it, to the first word; were the head (20 spaces)
    left out, it would stay after "b" and go after theirs ("x"). The head
    has fewer words than the middle, so the whole text is merged."""
    texts = (" " * 20 + "a b c", " " * 20 + "a b a b c", " " * 20 + "a b x c")
    assert merge3(DMP, *texts) == _whole(*texts) == (" " * 20 + "a b a b x c", [])


def test_at_the_very_end_the_middles_are_not_fenced_in():
    """No tail is left out here (theirs changes the last word). In the whole
    text the word diff has no fence at the end, and a fence there would
    place one of their edits elsewhere (found by random search with one)."""
    texts = (" aaa a    a a aa  aaaa a  aaaa    aa  a  a  a a a    aa  aa aa    a a   a ",
             " aaa a    a a aa  aaaa a  aaaa    aa  a  a  a a a    aa  aa aa   a aaaa   a ",
             " aaa a    a a aa  aaaa a  aaaa    aa  a  a  a a a    aa  aa aa     aa a")
    assert merge_module._shared_ends(*texts)[1] == 0
    assert merge3(DMP, *texts) == _whole(*texts)


def test_a_tail_of_spaces_alone_is_not_left_out():
    """The mirror image: the tail holds no word, so in the whole text the
    word diff's last equality ends at the last word, and an edit that
    starts with all of it may be slid over it (found by random search)."""
    z, pad = "z " * 8, " " * 20
    texts = (z + "b b c c b b" + pad, z + "b b c c c c b b b" + pad, z + "b b c b c b b b b" + pad)
    assert merge_module._shared_ends(*texts)[1] > 0
    assert merge3(DMP, *texts) == _whole(*texts)


# Found by random search with _script's prefix check taken out: in each,
# one middle's words are the start of the other's, so in the whole texts
# the word diff's common prefix runs on into the tail.
RUNS_INTO_THE_TAIL = [
    ("     aa a a    aa aaa   a aaa  aa  aa   aa   a a a a  a a a aaa aaaaa aa  aa    a  a   aa a  a     aa  a aaaaa",
     "     aa a a    aa aaa   a aaa  aa  aa   aa   a a  a  a a a aaa aaaaa aa  aa    a  a   aa a  a     aa  a aaaaa",
     "     aa a a    aa aaa   a aaa  aa  aa   aa  a a a  a a a aaa aaaaa aa  aa    a  a   aa a  a     aa  a aaaaa"),
    (" a aaaa  aa   a aa     a a     aaa       a a   a aaa  aaaa  aa a   a a a aa a a  aaa    a  a a a a aaaa  a",
     " a aaaa  aa   a aa     a a     aaa       a a   a aaa  aaaa  aa     a a a aa a a  aaa    a  a a a a aaaa  a",
     " a aaaa  aa   a aa     a a     aaa       a a   a aaa  aaaa  aa a  a a  a a a aa a a  aaa    a  a a a a aaaa  a"),
]


@pytest.mark.parametrize("texts", RUNS_INTO_THE_TAIL)
def test_where_the_word_diff_would_run_into_the_tail_the_whole_text_is_merged(texts):
    assert merge3(DMP, *texts) == _whole(*texts)


def test_a_small_edit_on_a_long_text_is_merged_between_the_shared_ends():
    """The common case, edits far apart in a 40 KB text: only what lies
    between the first and last places the three differ is tokenized."""
    base = " ".join("w%d" % i for i in range(8_000))
    ours, theirs = base.replace(" w100 ", " w100 ours "), base.replace(" w7000 ", " w7000 theirs ")
    head, tail = merge_module._shared_ends(base, ours, theirs)
    assert 0 < head < base.index("w100 ") and 0 < tail < len(base) - base.index("w7000 ") - len("w7000")
    # The middles are far longer than the ends; each edit is one word, so they are merged alone.
    assert merge_module._merge_middles(base, ours, theirs, head, tail, time.time() + 60) is not None
    merged = merge3(DMP, base, ours, theirs)
    assert merged == _whole(base, ours, theirs)
    assert merged.text == base.replace(" w100 ", " w100 ours ").replace(" w7000 ", " w7000 theirs ")


# Edits of several words at once, at any place in texts of repeated words:
# where one edit is as long as an end, diff-match-patch could slide it over
# that end in the whole texts, so the ends must not be left out.
REPEATED = st.lists(st.tuples(st.sampled_from(["a", "b", "aa", "x"]), st.sampled_from([" ", "  ", "\n"])),
                    max_size=25).map(lambda pairs: "".join(w + g for w, g in pairs))


@st.composite
def _edited(draw, base):
    text = base
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(REPEATED.filter(bool).map(lambda t: t[:30])) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 12)):]
    return text


@st.composite
def _three(draw):
    base = draw(st.sampled_from(["", " "])) + draw(REPEATED)
    return base, draw(_edited(base)), draw(_edited(base))


@settings(max_examples=int(os.environ.get("MOBWRITE_MERGE_EXAMPLES", 1000)), deadline=None, derandomize=True)
@given(_three())
def test_long_edits_near_short_ends_merge_as_the_whole_texts(texts):
    assume(len(set(texts)) == 3)
    assert merge3(DMP, *texts) == _whole(*texts)
