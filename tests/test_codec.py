"""textcodec and delta as pure functions: the wire encoding of PROTOCOL.md
("Text processing settings") and strict, UTF-16-counted deltas."""

import pytest

from mobwrite import delta, textcodec
from mobwrite.config import Settings
from mobwrite.delta import DIFF_DELETE, DIFF_EQUAL, DIFF_INSERT, DeltaError
from mobwrite.textcodec import DecodeError

# ---------------------------------------------------------------- encoding

# Every printable ASCII character, as JavaScript's encodeURI escapes it, but
# with the space kept (MobWrite's rule), written out by hand from the spec's
# list: A-Z a-z 0-9 - _ . ! ~ * ' ( ) ; / ? : @ & = + $ , # and space stay.
PRINTABLE = "".join(chr(i) for i in range(32, 127))
PRINTABLE_ENCODED = (
    " !%22#$%25&'()*+,-./0123456789:;%3C=%3E?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~"
)


def test_encode_keeps_the_encodeuri_set_and_space_and_escapes_the_rest():
    assert textcodec.encode(PRINTABLE) == PRINTABLE_ENCODED


@pytest.mark.parametrize("text, wire", [
    ("", ""),
    ("\t", "%09"),
    ("\n", "%0A"),
    ("\r", "%0D"),
    ("\x00", "%00"),
    ("\x7f", "%7F"),
    ("é", "%C3%A9"),                      # UTF-8 bytes, uppercase hex
    ("€", "%E2%82%AC"),
    ("😀", "%F0%9F%98%80"),               # 4 bytes, not two escaped surrogates
    ("\u2028", "%E2%80%A8"),
    ("a b", "a b"),                       # the space stays a space
    ("100%", "100%25"),
    ("1+1=2", "1+1=2"),
])
def test_encode_examples(text, wire):
    assert textcodec.encode(text) == wire


@pytest.mark.parametrize("wire, text", [
    ("", ""),
    ("a+b", "a+b"),                       # + is a plus sign, not a space
    ("%2B", "+"),
    ("a b", "a b"),
    ("%20", " "),
    ("%c3%a9", "é"),                      # lowercase hex is still an escape
    ("%C3%A9", "é"),
    ("%F0%9F%98%80", "😀"),
    ("%25", "%"),
    ("%2525", "%25"),                     # decoded once, not twice
    ("é", "é"),                           # an unescaped character is itself
    ("%0D%0A", "\r\n"),                   # decoding does not touch line breaks
    (PRINTABLE_ENCODED, PRINTABLE),
])
def test_decode_examples(wire, text):
    assert textcodec.decode(wire) == text


@pytest.mark.parametrize("wire", [
    "%",            # escape cut short
    "ab%",
    "%4",
    "%G0",
    "%ZZ",
    "% 20",
    "%%41",
    "%FF",          # never valid in UTF-8
    "%C3",          # a sequence cut short
    "%E2%82",
    "%C3%28",       # a continuation byte missing
    "%80",          # a lone continuation byte
    "%C0%80",       # overlong NUL
    "%E0%80%AF",    # overlong '/'
    "%ED%A0%80",    # UTF-8 of a surrogate (U+D800)
    "%ED%BF%BF",    # UTF-8 of a surrogate (U+DFFF)
    "%ED%A0%BD%ED%B8%80",  # CESU-8 pair for an emoji
    "%F4%90%80%80", # past U+10FFFF
    "%F8%88%80%80%80",
    "\ud800",       # a lone surrogate in the str itself (in process only: HTTP decodes strictly)
    "a%41\udfffb",
])
def test_decode_refuses_bad_escapes_and_bad_utf8(wire):
    with pytest.raises(DecodeError):
        textcodec.decode(wire)


@pytest.mark.parametrize("text", [
    "plain", PRINTABLE, "tab\there\nnew\rline", "é€😀𝄞 mixed 中文",
    "%41 is not A", "a+b c", "\u2028\u2029", "\x00\x01\x1f",
])
def test_decode_undoes_encode(text):
    wire = textcodec.encode(text)
    assert "\t" not in wire and "\n" not in wire and "\r" not in wire
    assert textcodec.decode(wire) == text


@pytest.mark.parametrize("text, units", [
    ("", 0), ("abc", 3), ("é", 1), ("€", 1), ("😀", 2), ("a😀b", 4), ("𝄞𝄞", 4), ("中文", 2),
])
def test_utf16_len_counts_as_javascript_does(text, units):
    assert textcodec.utf16_len(text) == units


# ---------------------------------------------------------------- deltas

def test_make_dmp_uses_the_protocol_settings():
    dmp = delta.make_dmp(0.25)
    assert dmp.Diff_Timeout == 0.25
    assert (dmp.Diff_EditCost, dmp.Match_Threshold, dmp.Match_Distance,
            dmp.Patch_DeleteThreshold, dmp.Patch_Margin) == (4, 0.5, 1000, 0.5, 4)
    assert Settings().diff_timeout == 0.1  # PROTOCOL.md's, the one default


@pytest.mark.parametrize("text, wire, diffs", [
    ("", "", []),
    ("", "+Hi", [(DIFF_INSERT, "Hi")]),
    ("abc", "=3", [(DIFF_EQUAL, "abc")]),
    ("abc", "=1\t-1\t=1", [(DIFF_EQUAL, "a"), (DIFF_DELETE, "b"), (DIFF_EQUAL, "c")]),
    ("abc", "=3\t", [(DIFF_EQUAL, "abc")]),                     # trailing tab is fine
    ("abc", "=1\t\t=2", [(DIFF_EQUAL, "a"), (DIFF_EQUAL, "bc")]),  # blank tokens are fine
    ("abc", "=0\t=3", [(DIFF_EQUAL, ""), (DIFF_EQUAL, "abc")]),
    ("ab", "=1\t+x+y%20z\t=1", [(DIFF_EQUAL, "a"), (DIFF_INSERT, "x+y z"), (DIFF_EQUAL, "b")]),
    ("a😀b", "=4", [(DIFF_EQUAL, "a😀b")]),                       # emoji counts 2
    ("a😀b", "=1\t-2\t=1", [(DIFF_EQUAL, "a"), (DIFF_DELETE, "😀"), (DIFF_EQUAL, "b")]),
    ("😀😀", "=2\t=2", [(DIFF_EQUAL, "😀"), (DIFF_EQUAL, "😀")]),
    ("é", "-1\t+%C3%A8", [(DIFF_DELETE, "é"), (DIFF_INSERT, "è")]),
])
def test_from_delta_expands_a_fitting_delta(text, wire, diffs):
    assert delta.from_delta(text, wire) == diffs


@pytest.mark.parametrize("text, wire", [
    ("abc", "=2"),          # too short
    ("abc", "=4"),          # too long
    ("abc", "=2\t-2"),
    ("", "=1"),
    ("abc", ""),            # an empty delta only fits an empty text
    ("abc", "=+3"),         # int() would take these; the protocol does not
    ("abc", "=٣"),          # ARABIC-INDIC DIGIT THREE
    ("abc", "=３"),          # FULLWIDTH DIGIT THREE
    ("abc", "= 3"),
    ("abc", "=3 "),
    ("abc", "=-3"),
    ("abc", "-+3"),
    ("abc", "=3.0"),
    ("abc", "=0x3"),
    ("abc", "=1_2"),
    ("abc", "=3\t="),       # a count is required
    ("abc", "=3\t-"),
    ("abc", "*3"),          # an unknown operation
    ("abc", " =3"),
    ("abc", "=3\t+%"),      # bad escapes in inserted text
    ("abc", "=3\t+%ZZ"),
    ("abc", "=3\t+%FF"),    # invalid UTF-8 in inserted text
    ("abc", "=3\t+%ED%A0%80"),
    ("abc", "=3\t+%C0%80"),
    ("abc", "=3\t+x\ud83d"),  # a lone surrogate in inserted text
    ("😀", "=1"),           # ends inside the surrogate pair
    ("😀", "=1\t=1"),
    ("😀", "-1\t=1"),
    ("a😀", "=2\t+x\t=1"),
    ("a😀b", "=3"),
    ("a😀b", "=1\t-1\t=2"),
])
def test_from_delta_refuses_what_does_not_fit(text, wire):
    with pytest.raises(DeltaError):
        delta.from_delta(text, wire)


def test_a_huge_count_does_not_fit_rather_than_crash():
    with pytest.raises(DeltaError):
        delta.from_delta("abc", "=" + "9" * 5000)
    with pytest.raises(DeltaError):
        delta.from_delta("abc", "=99999999999")


@pytest.mark.parametrize("diffs, wire", [
    ([], ""),
    ([(DIFF_EQUAL, "Hi")], "=2"),
    ([(DIFF_INSERT, "Hi")], "+Hi"),
    ([(DIFF_EQUAL, "a😀"), (DIFF_DELETE, "😀b"), (DIFF_INSERT, "😀 x\t%")],
     "=3\t-3\t+%F0%9F%98%80 x%09%25"),
    ([(DIFF_DELETE, "é€"), (DIFF_INSERT, "<\"&>")], "-2\t+%3C%22&%3E"),
])
def test_to_delta_counts_utf16_units_and_encodes_inserts(diffs, wire):
    assert delta.to_delta(diffs) == wire


@pytest.mark.parametrize("old, new", [
    ("", "hello"), ("hello", ""), ("The quick brown fox", "The slow brown dog!"),
    ("a😀b", "a😁b😀"), ("tab\tand\nnewline", "tab and\r\nnewline"), ("%20", "%2520+"),
])
def test_to_delta_and_from_delta_round_trip(old, new):
    dmp = delta.make_dmp(Settings.diff_timeout)
    diffs = dmp.diff_main(old, new)
    wire = delta.to_delta(diffs)
    expanded = delta.from_delta(old, wire)
    assert dmp.diff_text1(expanded) == old
    assert dmp.diff_text2(expanded) == new
