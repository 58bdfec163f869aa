"""mobwrite.protocol as pure functions: request text to actions, answer lines
to text (PROTOCOL.md "A request", "The answer", "Transports")."""

import json

import pytest

from mobwrite import protocol
from mobwrite.protocol import Action, Fragment


def actions(text):
    return protocol.parse(text).actions


def fragments(text):
    return protocol.parse(text).fragments


# ---------------------------------------------------------------- completeness

@pytest.mark.parametrize("text, complete", [
    ("", False),
    ("\n", False),
    ("\n\n", True),
    ("u:a\nf:0:d\nd:0:+x\n\n", True),
    ("u:a\nf:0:d\nd:0:+x\n", False),
    ("u:a\nf:0:d\nd:0:+x", False),
    ("u:a\r\nf:0:d\r\n\r\n", True),
    ("u:a\r\nf:0:d\r\n", False),
    ("u:a\rf:0:d\r\r", True),
    ("u:a\rf:0:d\r", False),
    ("u:a\n\nmore lines after the end", False),  # the text must END in two breaks
])
def test_a_request_must_end_with_an_empty_line(text, complete):
    assert protocol.is_complete(text) is complete


# ---------------------------------------------------------------- lines

def test_a_simple_request():
    assert actions("u:ann\nf:3:notes\nd:5:=2\t+x\n\n") == [
        Action("d", "ann", "notes", False, 3, 5, "=2\t+x")]


@pytest.mark.parametrize("text", [
    "u:ann\r\nf:3:notes\r\nd:5:=2\t+x\r\n\r\n",
    "u:ann\rf:3:notes\rd:5:=2\t+x\r\r",
    "u:ann\r\nf:3:notes\rd:5:=2\t+x\n\n",
])
def test_crlf_and_cr_line_endings(text):
    assert actions(text) == [Action("d", "ann", "notes", False, 3, 5, "=2\t+x")]


def test_parsing_stops_at_the_first_empty_line():
    assert actions("u:ann\nf:0:a\nd:0:+x\n\nu:bob\nf:0:b\nd:0:+y\n\n") == [
        Action("d", "ann", "a", False, 0, 0, "+x")]
    assert actions("u:ann\r\nf:0:a\r\n\r\nd:0:+x\r\n\r\n") == []


@pytest.mark.parametrize("junk", [
    "hello", "u", "d", ":", "::", "uu:bob", " u:bob", "u;bob", "ud:0:+x", "\tu:bob", "é:bob",
    "x:1:foo", "z:", "q:0:+x", "F", "0:0:+x", "?:bob", "s:0:+x", "e:bob", "m:bob",
])
def test_other_lines_and_unknown_letters_are_ignored(junk):
    text = "%s\nu:ann\n%s\nf:0:doc\n%s\nd:0:+Hi\n%s\n\n" % (junk, junk, junk, junk)
    assert actions(text) == [Action("d", "ann", "doc", False, 0, 0, "+Hi")]


def test_every_edit_letter():
    got = actions("u:a\nf:1:d\nd:2:=1\nD:3:=2\nr:4:x y\nR:5:%41\n\n")
    assert [(a.kind, a.version, a.payload, a.forceful) for a in got] == [
        ("d", 2, "=1", False), ("D", 3, "=2", True), ("r", 4, "x y", False), ("R", 5, "%41", True)]
    assert all(a.ack == 1 and a.user == "a" and a.doc == "d" for a in got)


def test_the_value_after_the_version_is_kept_whole():
    # Only the first colon after the version separates; the rest is payload/name.
    assert actions("u:a:b\nf:0:c:d:e\nr:0:x:y:z\n\n") == [Action("r", "a:b", "c:d:e", False, 0, 0, "x:y:z")]


def test_user_and_document_are_independent_and_in_either_order():
    got = actions("f:1:doc\nu:ann\nd:0:+a\nu:bob\nd:0:+b\nf:2:other\nd:0:+c\n\n")
    assert [(a.user, a.doc, a.ack) for a in got] == [
        ("ann", "doc", 1), ("bob", "doc", 1), ("bob", "other", 2)]


def test_edits_need_both_a_user_and_a_document():
    assert actions("d:0:+x\nr:0:x\n\n") == []
    assert actions("u:ann\nd:0:+x\nD:0:+x\nr:0:x\nR:0:x\n\n") == []
    assert actions("f:0:doc\nd:0:+x\nD:0:+x\nr:0:x\nR:0:x\n\n") == []


def test_an_empty_name_counts_as_not_set():
    assert actions("u:ann\nf:0:doc\nu:\nd:0:+x\n\n") == []
    assert actions("u:ann\nf:0:doc\nf:0:\nd:0:+x\n\n") == []
    assert actions("U:\nf:0:doc\nd:0:+x\n\n") == []
    assert actions("u:ann\nn:\nd:0:+x\n\n") == []


@pytest.mark.parametrize("name, ok", [
    ("a", True), ("x" * 256, True), ("😀" * 256, True), ("x" * 257, False), ("😀" * 257, False),
    ("", False), (" ", True), ("a b:c", True), ("__reserved__", True), ("__key__", True),
    ("été 中文 😀", True), ("</script>", True), ('q"\\', True), ("\u2028\u2029", True),
    ("%41", True), ("..", True), ("a/b", True), ("\u200b\ufeff", True),
    ("a\tb", False), ("a\x00b", False), ("\x01", False), ("a\x1fb", False), ("a\x7fb", False),
    ("a\x85b", False), ("a\x9fb", False), ("a\ud800b", False), ("\udfff", False),
])
def test_valid_name(name, ok):
    assert protocol.valid_name(name) is ok


def test_a_name_that_is_not_valid_unsets_the_setting():
    assert actions("u:ann\nf:0:doc\nu:a\x01b\nd:0:+x\n\n") == []
    assert actions("u:ann\nf:0:doc\nf:0:%s\nd:0:+x\n\n" % ("x" * 257)) == []
    assert actions("u:%s\nf:0:%s\nd:0:+x\n\n" % ("u" * 256, "d" * 256)) == [
        Action("d", "u" * 256, "d" * 256, False, 0, 0, "+x")]


def test_echo_is_taken_at_each_user_line():
    got = actions("U:ann\nf:0:d\nd:0:+a\nu:bob\nd:0:\nU:ann\nd:1:\nu:ann\nd:2:\n\n")
    assert [(a.user, a.echo) for a in got] == [("ann", True), ("bob", False), ("ann", True), ("ann", False)]


def test_nullify_needs_a_user_and_sets_the_document():
    assert actions("n:doc\n\n") == []
    assert actions("u:ann\nn:doc\n\n") == [Action("n", "ann", "doc", False)]
    assert [a.kind for a in actions("U:ann\nN:doc\n\n")] == ["n"]
    # n sets the current document for the lines that follow, even without a user.
    got = actions("f:4:old\nn:doc\nu:ann\nd:0:+x\n\n")
    assert [(a.kind, a.user, a.doc, a.ack) for a in got] == [("d", "ann", "doc", 4)]
    got = actions("u:ann\nf:4:old\nn:doc\nd:0:+x\n\n")
    assert [(a.kind, a.doc) for a in got] == [("n", "doc"), ("d", "doc")]


# ---------------------------------------------------------------- versions

@pytest.mark.parametrize("version", [
    "", "x", "-1", "+1", " 1", "1 ", "1.0", "0x1", "1e3", "١", "１", "2147483648", "4294967296",
    "99999999999999999999", "9" * 5000,
])
def test_an_edit_line_with_a_bad_version_is_ignored(version):
    assert actions("u:a\nf:0:doc\nd:%s:+x\nD:%s:+x\nr:%s:x\nR:%s:x\n\n" % ((version,) * 4)) == []


@pytest.mark.parametrize("version", ["", "x", "-1", "2147483648", "9" * 5000])
def test_a_file_line_with_a_bad_version_is_ignored(version):
    # Ignored entirely: the previous document and acknowledged version stay.
    got = actions("u:a\nf:7:doc\nf:%s:other\nd:0:+x\n\n" % version)
    assert [(a.doc, a.ack) for a in got] == [("doc", 7)]
    assert actions("u:a\nF:%s:other\nd:0:+x\n\n" % version) == []


def test_version_limits():
    got = actions("u:a\nf:2147483647:doc\nd:2147483647:+x\nf:0:doc\nd:0:+y\n\n")
    assert [(a.ack, a.version) for a in got] == [(2**31 - 1, 2**31 - 1), (0, 0)]


def test_a_version_with_leading_zeros_is_still_a_decimal_integer():
    # "VERSION is a decimal integer"; only a value outside 0..2^31-1 is refused.
    got = actions("u:a\nf:00000000002:doc\nd:000000000003:+x\n\n")
    assert [(a.ack, a.version) for a in got] == [(2, 3)]
    got = actions("u:a\nf:0:doc\nd:%s3:+x\n\n" % ("0" * 5000))
    assert [a.version for a in got] == [3]


def test_a_version_needs_its_colon():
    assert actions("u:a\nf:0:doc\nd:0\nr:0\n\n") == []
    assert actions("u:a\nf:0\nd:0:+x\n\n") == []
    assert actions("u:a\nf:0:doc\nd:0:\n\n") == [Action("d", "a", "doc", False, 0, 0, "")]


# ---------------------------------------------------------------- fragments

@pytest.mark.parametrize("line, fragment", [
    ("b:id 3 1 abc", Fragment("id", 3, 1, "abc")),
    ("B:id 3 3 abc", Fragment("id", 3, 3, "abc")),
    ("b:id 1 1 ", Fragment("id", 1, 1, "")),
    ("b:id 2 2 a b c", Fragment("id", 2, 2, "a b c")),
    ("b:id 2 2 %4", Fragment("id", 2, 2, "%4")),
    ("b:x:y 2 1 %41", Fragment("x:y", 2, 1, "%41")),
])
def test_fragment_lines(line, fragment):
    assert fragments(line + "\n\n") == [fragment]


@pytest.mark.parametrize("line", [
    "b:id 3 0 abc",     # index is 1-based
    "b:id 3 4 abc",     # index past size
    "b:id 0 1 abc",
    "b:id 3 1",         # no data part at all
    "b:id 3",
    "b:id",
    "b: 3 1 abc",       # no id
    "b:id x 1 abc",
    "b:id 3 x abc",
    "b:id -3 1 abc",
    "b:id 3 -1 abc",
    "b:id 2147483648 1 abc",
])
def test_bad_fragment_lines_are_ignored(line):
    assert fragments(line + "\n\n") == []


def test_fragments_and_actions_in_one_request_are_both_parsed():
    request = protocol.parse("b:id 2 1 abc\nu:a\nf:0:d\nd:0:+x\n\n")
    assert request.fragments == [Fragment("id", 2, 1, "abc")]
    assert [a.kind for a in request.actions] == ["d"]


# ---------------------------------------------------------------- may_change_text

def act(kind, payload=""):
    return Action(kind, "u", "d", False, 0, 0, payload)


@pytest.mark.parametrize("batch, may", [
    ([], False),
    ([act("d", "")], False),
    ([act("d", "=5")], False),
    ([act("d", "=2\t=3\t")], False),
    ([act("D", "=5")], False),
    ([act("d", "=2\t+x\t=3")], True),
    ([act("d", "=2\t-1\t=2")], True),
    ([act("D", "+")], True),
    ([act("r", "")], True),
    ([act("R", "same")], True),
    ([act("n")], True),
    ([act("d", "=1"), act("d", "=1"), act("D", "-1")], True),
])
def test_may_change_text(batch, may):
    assert protocol.may_change_text(batch) is may


# ---------------------------------------------------------------- answers

def test_format_answer_for_q():
    assert protocol.format_answer([]) == ""
    assert protocol.format_answer(["F:1:notes7", "d:0:=2"]) == "F:1:notes7\nd:0:=2\n\n"
    assert protocol.format_answer(["d:0:"]) == "d:0:\n\n"


def test_format_jsonp_example_from_the_protocol():
    assert protocol.format_jsonp([]) == 'mobwrite.callback("");'
    assert (protocol.format_jsonp(["F:1:notes7", "d:0:+Hi"])
            == 'mobwrite.callback("F:1:notes7\\nd:0:+Hi\\n");')


def test_format_jsonp_escapes_everything_that_could_end_the_script():
    lines = ["u:</script><script>alert(1)//", 'F:1:q"\\\u2028\u2029<!--\r']
    body = protocol.format_jsonp(lines)
    assert body == ('mobwrite.callback("u:\\u003c/script>\\u003cscript>alert(1)//\\n'
                    'F:1:q\\"\\\\\\u2028\\u2029\\u003c!--\\r\\n");')
    assert "</" not in body and "<" not in body
    assert "\n" not in body and "\r" not in body and "\u2028" not in body and "\u2029" not in body
    # And it still means exactly the lines, each followed by a line break.
    literal = body[len("mobwrite.callback("):-len(");")]
    assert json.loads(literal) == "".join(line + "\n" for line in lines)


def test_format_jsonp_keeps_other_text_readable():
    body = protocol.format_jsonp(["u:été 😀", "F:0:a'b"])
    assert body == "mobwrite.callback(\"u:été 😀\\nF:0:a'b\\n\");"


def test_lines_yields_letter_and_value_up_to_the_first_empty_line():
    from mobwrite.protocol import lines
    assert list(lines("u:a\r\nnot a line\nx\nF:1:doc:x\n\nd:0:after")) == [("u", "a"), ("F", "1:doc:x")]


def test_the_client_ignores_a_malformed_answer():
    from mobwrite.client import Client
    client = Client("ann")
    doc = client.share("doc", "kept")
    client.receive("F:x:doc\nF:1:doc\nd:zz:=4\nR:0:%ZZ\nd:0:=4\n\n")
    assert (doc.text, doc.server_version, doc.acked) == ("kept", 0, 1)
    assert not doc.delta_ok  # the broken raw dump asks for a resync
