"""mobwrite/spans.py: where two texts differ, against a character-by-character scan."""

from hypothesis import given, settings as hsettings, strategies as st

from mobwrite.history import changed_size
from mobwrite.spans import changed_span, common_prefix, common_suffix


def _naive_prefix(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


texts = st.text(alphabet="ab😀\n", max_size=400)


@hsettings(max_examples=500, deadline=None)
@given(texts, texts)
def test_spans_agree_with_a_character_by_character_scan(a, b):
    assert common_prefix(a, b) == _naive_prefix(a, b)
    assert common_suffix(a, b) == _naive_prefix(a[::-1], b[::-1])
    prefix, suffix = changed_span(a, b)
    assert prefix + suffix <= min(len(a), len(b))
    assert a[:prefix] + b[prefix:len(b) - suffix] + a[len(a) - suffix:] == b
    assert a[:prefix] + a[prefix:len(a) - suffix] + a[len(a) - suffix:] == a


def test_changed_size_counts_the_middle_of_a_large_text_edit():
    big = "abcdefgh" * 125_000
    assert changed_size(big, big[:400_000] + "xyz" + big[400_000:]) == 3
    assert changed_size(big, big[:10] + big[20:]) == 10
    assert changed_size(None, "abc") == 3
