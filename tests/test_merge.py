"""The three-way merge, on worked cases and thousands of random ones."""

import random

import pytest

from mobwrite.delta import make_dmp
from mobwrite.merge import merge

DMP = make_dmp(diff_timeout=0)  # no timeout: diffs are exact and repeatable


def merged(base, client, master):
    return merge(DMP, base, client, master)


@pytest.mark.parametrize("base, client, master, expected", [
    ("AB", "ABC", "ABZ", "ABZC"),                        # same spot: the master's insert first
    ("hello world", "hello brave world", "hello world!", "hello brave world!"),
    ("abcdef", "abef", "abXcdef", "abXef"),              # the client's deletion spares the master's insert
    ("abcdef", "abXYef", "abef", "abXYef"),              # both deleted "cd"; the client's insert stays
    ("The quick fox", "The slow fox", "", "slow"),       # text deleted under the client's edit: typed text kept
    ("", "typed", "other", "othertyped"),
    ("same", "same", "changed", "changed"),
    ("😀 a", "😀 b a", "😀 a c", "😀 b a c"),
    # Both typed at one spot: a word being finished stays whole.
    ("abc hkwftiy", "abc hkwftiyp", "abc hkwftiy gpqlvtcz", "abc hkwftiyp gpqlvtcz"),
    ("wor", "wor next", "word", "word next"),
    ("X word", "X reword", "X new word", "X new reword"),   # a prefix stays on its word
])
def test_worked_merges(base, client, master, expected):
    assert merged(base, client, master) == expected


def _edit(rng, text, marker):
    """Delete a random span and insert a unique marker somewhere."""
    if text and rng.random() < 0.5:
        a = rng.randrange(len(text))
        b = min(len(text), a + rng.randrange(1, 6))
        text = text[:a] + text[b:]
    at = rng.randrange(len(text) + 1)
    return text[:at] + marker + text[at:]


@pytest.mark.parametrize("seed", range(5))
def test_random_merges_keep_both_sides_inserts_and_all_untouched_text(seed):
    rng = random.Random(seed)
    for case in range(600):
        base = "".join(rng.choice("abcde ") for _ in range(rng.randrange(0, 60)))
        client = _edit(rng, base, "<C%d>" % case)
        master = _edit(rng, base, "[M%d]" % case)
        result = merged(base, client, master)
        # Each side's insertion survives whole.
        assert "<C%d>" % case in result and "[M%d]" % case in result, (base, client, master, result)
        # With one side unchanged the merge is the other side, exactly.
        assert merged(base, base, master) == master
        assert merged(base, client, base) == client
        # Nothing appears that neither side wrote: the result minus both
        # markers is a subsequence of the base.
        rest = result.replace("<C%d>" % case, "").replace("[M%d]" % case, "")
        it = iter(base)
        assert all(ch in it for ch in rest), (base, client, master, result)
