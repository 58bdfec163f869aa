"""Every rule of PROTOCOL.md as a worked exchange through the gateway (q= over
POST), on every store backend.

Expected answers are worked out by hand from the spec. ``text_of`` looks at a
document without changing it: a fresh user sends a delta "from the future",
which per step 4 only earns a raw dump of the master text (``R:0:TEXT``, or
``r:0:`` when the document is null).
"""

import dataclasses
import itertools
import logging
import urllib.parse

import pytest

from main import create_app

_peekers = itertools.count()


def req(*lines):
    """A request: the lines, then the closing empty line."""
    return "".join(line + "\n" for line in lines) + "\n"


ans = req  # an answer over q= has the same shape


def text_of(sync, doc):
    """The master text of ``doc`` (None when null), seen by a new user."""
    user = "peek-%d" % next(_peekers)
    answer = sync(req("u:" + user, "f:0:" + doc, "d:1:"))
    lines = answer.split("\n")
    assert lines[0] == "F:0:" + doc, answer
    assert lines[2:] == ["", ""], answer
    if lines[1] == "r:0:":
        return None
    assert lines[1].startswith("R:0:"), answer
    return urllib.parse.unquote(lines[1][4:], errors="strict")


@pytest.fixture
def sync_with(settings, store):
    """``sync`` on an app built with some settings changed (same store)."""

    def make(**overrides):
        client = create_app(dataclasses.replace(settings, **overrides), store).test_client()

        def send(text):
            response = client.post("/scripts/q.py", data={"q": text})
            assert response.status_code == 200, response.data
            return response.get_data(as_text=True)

        return send

    return make


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def messages(self, level=logging.WARNING):
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def mobwrite_log(app):
    handler = _Records()
    logger = logging.getLogger("mobwrite")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


# ---------------------------------------------------------------- A request

@pytest.mark.parametrize("truncated", [
    "u:ann\nf:0:doc\nd:0:+Hi\n",
    "u:ann\nf:0:doc\nd:0:+Hi",
    "u:ann\r\nf:0:doc\r\nd:0:+Hi\r\n",
    "u:ann\nf:0:doc\nR:0:Hi\n",
    "u:ann\n\nf:0:doc\nd:0:+Hi\n",   # an empty line inside does not make it complete
])
def test_a_truncated_request_does_nothing_and_answers_empty(sync, truncated):
    assert sync(truncated) == ""
    assert text_of(sync, "doc") is None
    # Ann's view was not touched either: her first edit is still version 0.
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    # Nor is an existing text, by a truncated overwrite or nullify.
    assert sync("u:ann\nf:1:doc\nR:1:Bye\n") == ""
    assert sync("u:ann\nn:doc\n") == ""
    assert text_of(sync, "doc") == "Hi"


@pytest.mark.parametrize("useless", [
    "\n\n", "\r\n\r\n", "\r\r",
    "u:ann\nf:0:doc\n\n", "f:0:doc\nd:0:+Hi\n\n", "hello\nworld\n\n",
    "\n\nu:ann\nf:0:doc\nd:0:+Hi\n\n",  # stops at the first (here: very first) empty line
])
def test_an_empty_or_useless_request_has_an_empty_answer(sync, useless):
    assert sync(useless) == ""
    assert text_of(sync, "doc") is None


def test_crlf_and_cr_line_endings_are_accepted(sync):
    assert sync("u:ann\r\nf:0:doc\r\nd:0:+Hi\r\n\r\n") == "F:1:doc\nd:0:=2\n\n"
    assert sync("u:bob\rf:0:doc\rd:0:\r\r") == "F:1:doc\nd:0:+Hi\n\n"
    assert sync("u:cy\r\nf:0:doc\rd:0:\n\r\n") == "F:1:doc\nd:0:+Hi\n\n"


def test_parsing_stops_at_the_first_empty_line(sync):
    assert sync("u:ann\nf:0:a\nd:0:+Hi\n\nu:bob\nf:0:b\nd:0:+Yo\n\n") == ans("F:1:a", "d:0:=2")
    assert sync("u:ann\r\nf:0:c\r\nd:0:+Hi\r\n\r\nu:ann\r\nf:0:b\r\nd:0:+Yo\r\n\r\n") == ans("F:1:c", "d:0:=2")
    assert text_of(sync, "b") is None


def test_lines_that_are_not_letter_colon_are_ignored(sync):
    answer = sync(req("hello", "u:ann", "uu:bob", "u", ":x", "d", " d:0:+X", "f:0:doc", "xd:0:+Y",
                      "d:0:+Hi", "é:1", "::"))
    assert answer == ans("F:1:doc", "d:0:=2")
    assert text_of(sync, "doc") == "Hi"


def test_unknown_command_letters_are_ignored(sync):
    answer = sync(req("u:ann", "x:0:other", "f:0:doc", "q:0:+X", "z:", "e:0:+Y", "d:0:+Hi", "t:bob", "s:0:+Z"))
    assert answer == ans("F:1:doc", "d:0:=2")
    assert text_of(sync, "doc") == "Hi"
    assert text_of(sync, "other") is None


# ---------------------------------------------------------------- users, documents, echo

def test_capital_u_echoes_the_user(sync):
    assert sync(req("U:ann", "f:0:a", "d:0:+1")) == ans("u:ann", "F:1:a", "d:0:=1")
    assert sync(req("u:bob", "f:0:a", "d:0:")) == ans("F:1:a", "d:0:+1")


def test_the_user_is_echoed_only_when_it_changes_between_blocks(sync):
    # One echo user, two documents: u: once.
    assert sync(req("U:ann", "f:0:a", "d:0:+1", "f:0:b", "d:0:+2")) == ans(
        "u:ann", "F:1:a", "d:0:=1", "F:1:b", "d:0:=1")
    # Two echo users on one document (the document setting outlives the user change).
    assert sync(req("U:cy", "f:0:c", "d:0:+3", "U:dee", "d:0:")) == ans(
        "u:cy", "F:1:c", "d:0:=1", "u:dee", "F:1:c", "d:0:+3")
    # The same user as the previous block, now with echo: no u: line.
    assert sync(req("u:eve", "f:0:e", "d:0:+4", "U:eve", "f:0:f", "d:0:+5")) == ans(
        "F:1:e", "d:0:=1", "F:1:f", "d:0:=1")
    # Echo, no echo, echo: u: only for the echo blocks whose user changed.
    assert sync(req("U:fay", "f:0:g", "d:0:+6", "u:gus", "d:0:", "U:fay", "f:0:h", "d:0:+7")) == ans(
        "u:fay", "F:1:g", "d:0:=1", "F:1:g", "d:0:+6", "u:fay", "F:1:h", "d:0:=1")
    # The echo setting is taken at each u/U line: the last one wins.
    assert sync(req("U:hal", "u:hal", "f:0:i", "d:0:+8")) == ans("F:1:i", "d:0:=1")
    assert sync(req("u:ivy", "U:ivy", "f:0:j", "d:0:+9")) == ans("u:ivy", "F:1:j", "d:0:=1")


def test_user_and_document_come_in_either_order(sync):
    assert sync(req("f:0:doc", "u:ann", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    assert sync(req("f:0:doc", "U:bob", "d:0:")) == ans("u:bob", "F:1:doc", "d:0:+Hi")


def test_an_empty_name_counts_as_not_set(sync):
    assert sync(req("u:", "f:0:doc", "d:0:+Hi")) == ""
    assert sync(req("U:", "f:0:doc", "d:0:+Hi")) == ""
    assert sync(req("u:ann", "f:0:", "d:0:+Hi")) == ""
    assert sync(req("u:ann", "f:0:doc", "u:", "d:0:+Hi")) == ""
    assert sync(req("u:ann", "f:0:doc", "f:0:", "d:0:+Hi")) == ""
    assert sync(req("u:ann", "f:0:doc", "n:", "d:0:+Hi")) == ""
    assert text_of(sync, "doc") is None


def test_edits_without_a_user_or_a_document_are_ignored(sync):
    edits = ["d:0:+Hi", "D:0:+Hi", "r:0:Hi", "R:0:Hi"]
    assert sync(req("f:0:doc", *edits)) == ""
    assert sync(req("u:ann", *edits)) == ""
    assert text_of(sync, "doc") is None
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")


def test_many_users_documents_and_edits_in_one_request_in_order(sync):
    answer = sync(req("u:ann", "f:0:a", "d:0:+1", "f:0:b", "d:0:+2",
                      "u:bob", "f:0:a", "d:0:", "f:0:b", "d:0:"))
    # Bob sees Ann's edits made earlier in the same request.
    assert answer == ans("F:1:a", "d:0:=1", "F:1:b", "d:0:=1", "F:1:a", "d:0:+1", "F:1:b", "d:0:+2")
    # Several edits for one (user, document) make one block.
    assert sync(req("u:cy", "f:0:c", "d:0:+a", "d:1:=1\t+b", "d:2:=2\t+c")) == ans("F:3:c", "d:0:=3")
    assert text_of(sync, "c") == "abc"


def test_the_f_line_is_printed_when_user_or_document_changes(sync):
    answer = sync(req("u:ann", "f:0:a", "d:0:+1", "f:0:b", "d:0:+2", "f:1:a", "d:1:=1\t+x"))
    assert answer == ans("F:1:a", "d:0:=1", "F:1:b", "d:0:=1", "F:2:a", "d:1:=2")
    # Blocks for the same user and document, one after the other (the nullify
    # of another document in between prints nothing): no second F line.
    answer = sync(req("u:ann", "f:0:c", "d:0:+1", "n:z", "f:1:c", "d:1:=1\t+2"))
    assert answer == ans("F:1:c", "d:0:=1", "d:1:=2")
    assert text_of(sync, "c") == "12"


@pytest.mark.parametrize("version", ["", "x", "-1", "+0", "2147483648", "1" * 400])
def test_a_line_with_a_bad_version_is_ignored(sync, version):
    assert sync(req("u:ann", "f:0:doc", "d:%s:+Hi" % version)) == ""
    assert sync(req("u:ann", "f:0:doc", "R:%s:Hi" % version, "r:%s:Hi" % version, "D:%s:+Hi" % version)) == ""
    assert sync(req("u:ann", "f:%s:doc" % version, "d:0:+Hi")) == ""
    assert sync(req("u:ann", "F:%s:doc" % version, "r:0:Hi")) == ""
    # An ignored f line leaves the previous document (and its version) in place.
    assert sync(req("u:ann", "f:0:doc", "f:%s:other" % version, "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    assert text_of(sync, "other") is None


def test_the_largest_version_is_taken(sync):
    sync(req("u:ann", "f:0:doc", "d:0:+Hi"))
    # Taken, and then (correctly) found to be from the future / unacknowledgeable.
    assert sync(req("u:bob", "f:0:doc", "d:2147483647:")) == ans("F:0:doc", "R:0:Hi")
    assert sync(req("u:cy", "f:2147483647:doc", "d:0:")) == ans("F:0:doc", "R:0:Hi")


# ---------------------------------------------------------------- n / N

def test_nullify_deletes_the_text_and_this_users_view(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+Hi")
    assert sync(req("n:doc")) == ""                 # needs a user
    assert text_of(sync, "doc") == "Hi"
    assert sync(req("u:ann", "n:doc")) == ""        # prints nothing
    assert text_of(sync, "doc") is None
    # Ann's view is new: her old versions fit nothing, and the text is null.
    assert sync(req("u:ann", "f:1:doc", "d:1:=2")) == ans("F:0:doc", "r:0:")
    # Bob's view is untouched: his delta fits his shadow, and the text being
    # null, his shadow becomes the text (a merge: letter d).
    assert sync(req("u:bob", "f:1:doc", "D:1:=2")) == ans("F:2:doc", "d:1:=2")
    assert text_of(sync, "doc") == "Hi"


def test_capital_n_and_edits_after_a_nullify(sync):
    assert sync(req("u:cy", "f:0:doc", "d:0:+Old")) == ans("F:1:doc", "d:0:=3")
    # N makes NAME the current document; the following edit starts a new view.
    assert sync(req("u:cy", "N:doc", "d:0:+New")) == ans("F:1:doc", "d:0:=3")
    assert text_of(sync, "doc") == "New"
    # The acknowledged version still comes from the last f line (1 here), which
    # the new view (server version 0) cannot match: a raw dump of the null text.
    assert sync(req("u:cy", "f:1:doc", "n:doc", "d:0:+X")) == ans("F:0:doc", "r:0:")
    assert text_of(sync, "doc") is None


# ---------------------------------------------------------------- steps 0-2

def test_step0_a_stale_request_is_ignored_and_prints_nothing(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    second = req("u:ann", "f:1:doc", "d:1:=2\t+!")
    assert sync(second) == ans("F:2:doc", "d:1:=3")
    assert sync(req("u:ann", "f:2:doc", "d:2:=3\t+?")) == ans("F:3:doc", "d:2:=4")
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+Hi!?")
    assert sync(req("u:bob", "f:1:doc", "d:1:+>%20\t=4")) == ans("F:2:doc", "d:1:=6")
    # A late duplicate of Ann's second request: A=1 is older than the backup
    # (2) and V=1 below client_version (3).
    assert sync(second) == ""
    assert text_of(sync, "doc") == "> Hi!?"
    # Ann's view was left alone, so her next edit still fits and merges.
    assert sync(req("u:ann", "f:3:doc", "d:3:=4\t+.")) == ans("F:4:doc", "d:3:+%3E \t=5")
    assert text_of(sync, "doc") == "> Hi!?."


def test_step1_lost_reply_rolls_back_to_the_backup_shadow(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+Hi")
    assert sync(req("u:ann", "f:1:doc", "d:1:=2\t+%20there")) == ans("F:2:doc", "d:1:=8")
    assert sync(req("u:bob", "f:1:doc", "d:1:=2")) == ans("F:2:doc", "d:1:=2\t+ there")
    # Bob never got that answer: he resends d:1 and adds a new edit made
    # against his old shadow "Hi". A=1 is the backup's version: the shadow
    # goes back to "Hi", d:1 is a retransmission, and d:2 fits "Hi".
    answer = sync(req("u:bob", "f:1:doc", "d:1:=2", "d:2:+Yo%20\t=2"))
    assert answer == ans("F:3:doc", "d:1:=5\t+ there")
    assert text_of(sync, "doc") == "Yo Hi there"
    assert sync(req("u:bob", "f:2:doc", "d:3:=11")) == ans("F:4:doc", "d:2:=11")


def test_step2_edit_stack_is_resent_oldest_first_until_acknowledged(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    assert sync(req("u:ann", "f:1:doc", "d:1:=2")) == ans("F:2:doc", "d:1:=2")
    # A=0 is neither the server version (2) nor the backup's (1): nothing is
    # dropped, the delta cannot be taken, and a raw dump joins the stack.
    unacknowledged = req("u:ann", "f:0:doc", "d:2:=2")
    assert sync(unacknowledged) == ans("F:2:doc", "d:1:=2", "R:2:Hi")
    assert sync(unacknowledged) == ans("F:2:doc", "d:1:=2", "R:2:Hi", "R:2:Hi")
    # Acknowledging 2 drops every entry <= 2.
    assert sync(req("u:ann", "f:2:doc", "d:2:=2")) == ans("F:3:doc", "d:2:=2")


def test_step2_an_acknowledged_raw_dump_is_not_sent_again(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    assert sync(req("u:ann", "f:1:doc", "d:1:=9")) == ans("F:2:doc", "R:1:Hi")
    # The client took R:1 (its server version is now 1) and acknowledges it.
    assert sync(req("u:ann", "f:1:doc", "d:2:=2\t+!")) == ans("F:3:doc", "d:1:=3")
    assert text_of(sync, "doc") == "Hi!"


# ---------------------------------------------------------------- step 3: r / R

# (the text an earlier r:0:Hi from ann made, or None; the raw line; answer; text after)
@pytest.mark.parametrize("before, raw, answer, text", [
    pytest.param(None, ("u:ann", "r:0:Hi"), "d:0:=2", "Hi", id="r-sets-a-null-document"),
    pytest.param("Hi", ("u:bob", "r:0:Yo"), "d:0:-2\t+Hi", "Hi", id="r-does-not-overwrite-a-text"),
    pytest.param("Hi", ("u:cy", "R:0:Yo"), "D:0:=2", "Yo", id="capital-r-overwrites"),
    # Only step 4 turns an action on a null text into a merge; step 3 does not.
    pytest.param(None, ("u:ann", "R:0:Hello"), "D:0:=5", "Hello", id="capital-r-on-null-is-still-forceful"),
])
def test_step3_raw_text(sync, before, raw, answer, text):
    if before is not None:
        sync(req("u:ann", "f:0:doc", "r:0:" + before))
    user, line = raw
    assert sync(req(user, "f:0:doc", line)) == ans("F:0:doc", answer)
    assert text_of(sync, "doc") == text


def test_step3_client_version_becomes_v_and_server_version_becomes_a(sync):
    sync(req("u:ann", "f:0:doc", "r:0:Yo"))
    assert sync(req("u:dee", "f:7:doc", "r:5:Yo")) == ans("F:5:doc", "d:7:=2")
    assert sync(req("u:dee", "f:8:doc", "d:5:=2\t+!")) == ans("F:6:doc", "d:8:=3")
    assert text_of(sync, "doc") == "Yo!"


@pytest.mark.parametrize("bad", ["%ZZ", "a%4", "%FF", "%ED%A0%80"])
def test_step3_raw_text_that_does_not_decode_earns_a_raw_dump(sync, bad):
    sync(req("u:ann", "f:0:doc", "r:0:Yo!"))
    assert sync(req("u:eve", "f:0:doc", "R:0:" + bad)) == ans("F:0:doc", "R:0:Yo!")
    assert sync(req("u:fay", "f:0:doc", "r:0:" + bad)) == ans("F:0:doc", "R:0:Yo!")
    assert text_of(sync, "doc") == "Yo!"
    # The line is ignored: client and server versions stay.
    assert sync(req("u:gus", "f:0:doc", "r:4:Yo!")) == ans("F:4:doc", "d:0:=3")
    assert sync(req("u:gus", "f:1:doc", "R:9:" + bad)) == ans("F:4:doc", "R:1:Yo!")
    # On a null document: r:M: and the document stays null.
    assert sync(req("u:eve", "f:0:none", "R:0:" + bad)) == ans("F:0:none", "r:0:")
    assert text_of(sync, "none") is None


# ---------------------------------------------------------------- step 4: d / D

def _hi_with_readers(sync, *users):
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    for user in users:
        assert sync(req("u:" + user, "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+Hi")


@pytest.mark.parametrize("edit, answer, text", [
    pytest.param(("f:5:doc", "d:1:=2\t+!"), ("F:1:doc", "R:1:Hi"), "Hi", id="against-a-shadow-we-no-longer-have"),
    pytest.param(("f:1:doc", "d:3:=2\t+!"), ("F:1:doc", "R:1:Hi"), "Hi", id="from-the-future"),
    pytest.param(("f:1:doc", "d:0:=2\t+!"), ("F:1:doc", "d:1:=2"), "Hi", id="a-retransmission-is-skipped"),
    pytest.param(("f:1:doc", "d:1:=3"), ("F:2:doc", "R:1:Hi"), "Hi", id="not-fitting-still-counts"),
    pytest.param(("f:1:doc", "d:1:=2\t+!"), ("F:2:doc", "d:1:=3"), "Hi!", id="fitting-is-merged"),
])
def test_step4_a_delta_from_a_second_user(sync, edit, answer, text):
    _hi_with_readers(sync, "bob")
    assert sync(req("u:bob", *edit)) == ans(*answer)
    assert text_of(sync, "doc") == text


def test_step4_on_a_null_text_d_becomes_a_merge(sync):
    assert sync(req("u:ann", "f:0:doc", "D:0:+Hi")) == ans("F:1:doc", "d:0:=2")
    assert text_of(sync, "doc") == "Hi"


def test_step4_d_merges_and_capital_d_overwrites(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hello world")) == ans("F:1:doc", "d:0:=11")
    for user in ("bob", "cy", "dee"):
        assert sync(req("u:" + user, "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+Hello world")
    assert sync(req("u:ann", "f:1:doc", "d:1:=6\t+brave \t=5")) == ans("F:2:doc", "d:1:=17")
    # Bob edited concurrently: his edit is merged with Ann's.
    assert sync(req("u:bob", "f:1:doc", "d:1:=11\t+!")) == ans("F:2:doc", "d:1:=6\t+brave \t=6")
    assert text_of(sync, "doc") == "Hello brave world!"
    # D with an empty patch does not overwrite; the answer's letter is D.
    assert sync(req("u:cy", "f:1:doc", "D:1:=11")) == ans("F:2:doc", "D:1:=6\t+brave \t=5\t+!")
    assert text_of(sync, "doc") == "Hello brave world!"
    # D with a change overwrites: Ann's and Bob's edits are gone.
    assert sync(req("u:dee", "f:1:doc", "D:1:=11\t+.")) == ans("F:2:doc", "D:1:=12")
    assert text_of(sync, "doc") == "Hello world."


def _hunk_that_cannot_apply(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+The quick brown fox jumps")) == ans("F:1:doc", "d:0:=25")
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+The quick brown fox jumps")
    assert sync(req("u:ann", "f:1:doc", "d:1:-25\t+1234567890")) == ans("F:2:doc", "d:1:=10")
    # Bob's hunk needs "The quick bro" around it; nothing like it is left.
    return sync(req("u:bob", "f:1:doc", "d:1:=4\t-5\t+slow\t=16"))


def test_an_edit_to_text_another_user_replaced_is_dropped_and_logged(sync, mobwrite_log):
    # README ("Merging"): Bob replaced "quick", which Ann had replaced with
    # everything else first. Her edit reached the server first and stands;
    # his is dropped with its text in the log, and the answer takes it back
    # out of his text.
    answer = _hunk_that_cannot_apply(sync)
    assert text_of(sync, "doc") == "1234567890"
    assert answer == ans("F:2:doc", "d:1:-24\t+1234567890")
    assert any("bob" in m and "'quick'" in m and "'slow'" in m for m in mobwrite_log.messages()), \
        mobwrite_log.messages()


def test_conflicting_replacements_resolve_like_the_original(sync):
    """The original server's own test case "Conflicting merge": A replaces
    "Hello" with "My" against "Hello world" after B replaced it with
    "Goodbye". B's edit stands, A's is dropped, and A's answer shows it."""
    assert sync(req("u:a", "f:0:doc", "d:0:+Hello%20world")) == ans("F:1:doc", "d:0:=11")
    assert sync(req("u:b", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+Hello world")
    assert sync(req("u:b", "f:1:doc", "d:1:-5\t+Goodbye\t=6")) == ans("F:2:doc", "d:1:=13")
    assert sync(req("u:a", "f:1:doc", "d:1:-5\t+My\t=6")) == ans("F:2:doc", "d:1:-2\t+Goodbye\t=6")
    assert text_of(sync, "doc") == "Goodbye world"


def test_two_users_fixing_one_typo_give_one_fix(sync):
    assert sync(req("u:a", "f:0:doc", "d:0:+teh%20cat")) == ans("F:1:doc", "d:0:=7")
    assert sync(req("u:b", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+teh cat")
    assert sync(req("u:a", "f:1:doc", "d:1:=1\t-2\t+he\t=4\t+%20sat")) == ans("F:2:doc", "d:1:=11")
    assert sync(req("u:b", "f:1:doc", "d:1:=1\t-2\t+he\t=4")) == ans("F:2:doc", "d:1:=7\t+ sat")
    assert text_of(sync, "doc") == "the cat sat"


def test_two_users_typing_at_one_spot_both_keep_their_words(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+one two")) == ans("F:1:doc", "d:0:=7")
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+one two")
    assert sync(req("u:ann", "f:1:doc", "d:1:=3\t+ ann\t=4")) == ans("F:2:doc", "d:1:=11")
    # Bob typed at the same place against the old text: both words survive
    # whole, the one already in the text first.
    assert sync(req("u:bob", "f:1:doc", "d:1:=3\t+ bob\t=4")) == ans("F:2:doc", "d:1:=4\t+ann \t=7")
    assert text_of(sync, "doc") == "one ann bob two"


# ---------------------------------------------------------------- the answer

ODD = "a b%25%c3%a9%F0%9F%98%80%0A%3C%22+%09~"     # 'a b%é😀\n<"+\t~' as a client may send it
ODD_ENCODED = "a b%25%C3%A9%F0%9F%98%80%0A%3C%22+%09~"


def test_raw_dump_is_encoded_and_letters_follow_the_text(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+" + ODD)) == ans("F:1:doc", "d:0:=13")
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+" + ODD_ENCODED)
    assert text_of(sync, "doc") == 'a b%é😀\n<"+\t~'
    assert sync(req("u:bob", "f:1:doc", "d:9:")) == ans("F:1:doc", "R:1:" + ODD_ENCODED)
    # The dump changed neither version: Bob's next edit is taken, not skipped.
    assert sync(req("u:bob", "f:1:doc", "d:1:=13\t+!")) == ans("F:2:doc", "d:1:=14")
    # Null: r:M: with nothing after it.
    assert sync(req("u:cy", "f:3:none", "d:0:")) == ans("F:0:none", "r:0:")


def test_max_chars_refuses_an_edit_and_resyncs_the_client(sync_with):
    sync = sync_with(max_chars=10)
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hello")) == ans("F:1:doc", "d:0:=5")
    assert sync(req("u:ann", "f:1:doc", "d:1:=5\t+ world!")) == ans("F:2:doc", "R:1:Hello")
    assert text_of(sync, "doc") == "Hello"       # unchanged, never truncated
    assert sync(req("u:ann", "f:1:doc", "d:2:=5\t+!")) == ans("F:3:doc", "d:1:=6")
    assert sync(req("u:bob", "f:0:doc", "R:0:0123456789a")) == ans("F:0:doc", "R:0:Hello!")
    assert sync(req("u:bob", "f:0:doc", "r:0:0123456789a")) == ans("F:0:doc", "d:0:-11\t+Hello!")
    assert text_of(sync, "doc") == "Hello!"


def test_max_chars_refuses_a_merge_that_grows_too_long(sync_with):
    sync = sync_with(max_chars=10)
    assert sync(req("u:ann", "f:0:doc", "d:0:+Hello")) == ans("F:1:doc", "d:0:=5")
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+Hello")
    assert sync(req("u:ann", "f:1:doc", "d:1:=5\t+123")) == ans("F:2:doc", "d:1:=8")
    assert sync(req("u:bob", "f:1:doc", "d:1:+abc%20\t=5")) == ans("F:2:doc", "R:1:Hello123")
    assert text_of(sync, "doc") == "Hello123"


def test_max_chars_counts_code_points_after_line_break_normalisation(sync_with):
    sync = sync_with(max_chars=10)
    assert sync(req("u:ann", "f:0:a", "d:0:+0123456789")) == ans("F:1:a", "d:0:=10")
    assert sync(req("u:ann", "f:0:b", "d:0:+0123456789a")) == ans("F:1:b", "r:0:")
    assert text_of(sync, "b") is None
    emoji = "%F0%9F%98%80"
    assert sync(req("u:ann", "f:0:c", "d:0:+" + emoji * 10)) == ans("F:1:c", "d:0:=20")
    assert sync(req("u:ann", "f:0:d", "d:0:+" + emoji * 11)) == ans("F:1:d", "r:0:")
    # 11 characters as sent, 10 once CRLF is LF: taken.
    assert sync(req("u:ann", "f:0:e", "d:0:+12345678%0D%0A")) == ans("F:1:e", "d:0:=8\t-1\t=1")
    assert text_of(sync, "e") == "12345678\n"


def test_max_chars_refusal_is_logged(sync_with, mobwrite_log):
    sync = sync_with(max_chars=10)
    assert sync(req("u:ann", "f:0:doc", "d:0:+0123456789a")) == ans("F:1:doc", "r:0:")
    assert any("doc" in m and "10" in m for m in mobwrite_log.messages()), mobwrite_log.messages()


def test_cr_and_crlf_become_lf_in_the_master_text(sync):
    answer = sync(req("u:ann", "f:0:doc", "d:0:+a%0D%0Ab%0Dc"))
    assert answer == ans("F:1:doc", "d:0:=1\t-1\t=2\t-1\t+%0A\t=1")
    assert text_of(sync, "doc") == "a\nb\nc"
    assert sync(req("u:ann", "f:0:two", "d:0:+old")) == ans("F:1:two", "d:0:=3")
    assert sync(req("u:bob", "f:0:two", "R:0:x%0D%0Ay%0Dz")) == ans("F:0:two", "D:0:=1\t-1\t=2\t-1\t+%0A\t=1")
    assert text_of(sync, "two") == "x\ny\nz"


def test_lengths_count_utf16_code_units(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+%F0%9F%98%80")) == ans("F:1:doc", "d:0:=2")
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+%F0%9F%98%80")
    assert sync(req("u:cy", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+%F0%9F%98%80")
    # A count that ends inside the surrogate pair does not fit.
    assert sync(req("u:bob", "f:1:doc", "d:1:=1\t+a\t=1")) == ans("F:2:doc", "R:1:%F0%9F%98%80")
    assert sync(req("u:cy", "f:1:doc", "d:1:=2\t+%20a")) == ans("F:2:doc", "d:1:=4")
    assert text_of(sync, "doc") == "😀 a"
    assert sync(req("u:ann", "f:1:doc", "d:1:=2\t+%20%F0%9F%98%81")) == ans("F:2:doc", "d:1:=3\t+a \t=2")
    assert text_of(sync, "doc") == "😀 a 😁"


def test_inserted_text_decoding_plus_is_a_plus_sign(sync):
    assert sync(req("u:ann", "f:0:doc", "d:0:+1+1=2 %2B ok")) == ans("F:1:doc", "d:0:=10")
    assert text_of(sync, "doc") == "1+1=2 + ok"
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+1+1=2 + ok")


def test_inserted_text_is_encoded_like_encodeuri_with_the_space_kept(sync):
    printable = "".join(chr(i) for i in range(32, 127))
    wire = ("%20!%22#$%25&'()*+,-./0123456789:;%3C=%3E?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
            "%5B%5C%5D%5E_%60abcdefghijklmnopqrstuvwxyz%7B%7C%7D~")
    assert sync(req("u:ann", "f:0:doc", "d:0:+" + wire)) == ans("F:1:doc", "d:0:=95")
    assert text_of(sync, "doc") == printable
    assert sync(req("u:bob", "f:0:doc", "d:0:")) == ans("F:1:doc", "d:0:+ " + wire[3:])
