"""Bad input, table-driven, on every store backend: never a 500, a short 4xx
where HTTP is wrong, the protocol's own answer where only the protocol text
is wrong, and nothing stored for anything refused (checked afterwards by
another user)."""

import dataclasses
import urllib.parse
import uuid

import pytest

from backends import open_store
from main import create_app

GATEWAY = "/scripts/q.py"
FORM = "application/x-www-form-urlencoded"


def req(*lines):
    return "".join(line + "\n" for line in lines) + "\n"


ans = req
RESYNC_HI = ans("F:1:doc", "R:0:Hi")  # the answer that puts a client back on "Hi"


def bob(*lines):
    """A request from bob on doc, acknowledging nothing yet."""
    return req("u:bob", "f:0:doc", *lines)


def form(text):
    return urllib.parse.quote(text, safe="")


@pytest.fixture
def make_client(settings, store):
    def make(**overrides):
        return create_app(dataclasses.replace(settings, **overrides), store).test_client()
    return make


@pytest.fixture
def quick_client(settings, store):
    """The gateway on the test's store; on Datastore, through a store in the
    same namespace that does not retry, so that a request the Datastore
    refuses fails in milliseconds (with 8 retries it takes about 2 minutes)."""
    if settings.store != "datastore":
        return create_app(settings, store).test_client()
    quick = open_store(dataclasses.replace(settings, datastore_retries=0))
    return create_app(settings, quick).test_client()


def text_of(client, doc):
    """The master text of doc (None when null), seen by a new user: a delta
    from the future earns a raw dump and changes nothing."""
    response = client.post(GATEWAY, data={"q": req("u:peek-" + uuid.uuid4().hex[:8], "f:0:" + doc, "d:1:")})
    assert response.status_code == 200, response.data
    lines = response.get_data(as_text=True).split("\n")
    assert lines[0] == "F:0:" + doc
    return None if lines[1] == "r:0:" else urllib.parse.unquote(lines[1][len("R:0:"):], errors="strict")


# ---------------------------------------------------------------- HTTP

# Each request below carries an edit that would create "doc" if it were
# handled; a refused request must leave "doc" null.
EDIT = req("u:ann", "f:0:doc", "d:0:+Hi")
EDIT_FORM = form(EDIT)
EDIT_JUNK = "u:ann\nf:0:doc\nd:0:+Hi\nx:%s\n\n"   # the junk line is ignored by the protocol


def junk_form(escape):
    """EDIT with an ignored line holding ``escape`` raw in the form field."""
    return form("u:ann\nf:0:doc\nd:0:+Hi\nx:") + escape + form("\n\n")


def multipart(raw_value, name="q"):
    body = (b"--XyZ\r\nContent-Disposition: form-data; name=\"" + name.encode() + b"\"\r\n\r\n"
            + raw_value + b"\r\n--XyZ--\r\n")
    return {"data": body, "content_type": "multipart/form-data; boundary=XyZ"}


def short_reason(status):
    def check(response):
        body = response.get_data(as_text=True)
        assert response.content_type.startswith("text/plain"), response.content_type
        assert body.startswith("%d " % status) and len(body) < 200 and "<" not in body, body
    return check


def redirected(response):
    assert response.headers["Location"].endswith("/index.html"), response.headers


def allows_get_and_post(response):
    allowed = {m.strip() for m in response.headers.get("Allow", "").split(",")}
    assert {"GET", "POST"} <= allowed and "PUT" not in allowed and "DELETE" not in allowed, allowed
    short_reason(405)(response)


def answers(body):
    def check(response):
        assert response.get_data(as_text=True) == body
    return check


HTTP_CASES = [
    # (name, settings overrides, call, status, check)
    ("control: a good edit is taken", {},
     lambda c: c.post(GATEWAY, data=("q=" + EDIT_FORM).encode(), content_type=FORM), 200,
     answers(ans("F:1:doc", "d:0:=2"))),
    ("bad %-escape in the query string", {},
     lambda c: c.get(GATEWAY + "?q=" + junk_form("%ZZ")), 400, short_reason(400)),
    ("bad %-escape cut short at the end of the field", {},
     lambda c: c.get(GATEWAY + "?q=" + EDIT_FORM + "%"), 400, short_reason(400)),
    ("bad %-escape with one hex digit", {},
     lambda c: c.post(GATEWAY, data=("q=" + junk_form("%4")).encode(), content_type=FORM), 400, short_reason(400)),
    ("bad %-escape in the p field", {},
     lambda c: c.get(GATEWAY + "?p=" + junk_form("%G1")), 400, short_reason(400)),
    ("bad %-escape in another field", {},
     lambda c: c.get(GATEWAY + "?q=" + EDIT_FORM + "&x=%ZZ"), 400, short_reason(400)),
    ("invalid UTF-8 %FF in the query string", {},
     lambda c: c.get(GATEWAY + "?q=" + junk_form("%FF")), 400, short_reason(400)),
    ("invalid UTF-8: overlong %C0%80", {},
     lambda c: c.get(GATEWAY + "?q=" + junk_form("%C0%80")), 400, short_reason(400)),
    ("invalid UTF-8: surrogate %ED%A0%80", {},
     lambda c: c.post(GATEWAY, data=("q=" + junk_form("%ED%A0%80")).encode(), content_type=FORM), 400,
     short_reason(400)),
    ("invalid UTF-8: cut short %E2%82", {},
     lambda c: c.get(GATEWAY + "?p=" + junk_form("%E2%82")), 400, short_reason(400)),
    ("invalid UTF-8: a raw 0xFF byte in the body", {},
     lambda c: c.post(GATEWAY, data=b"q=" + EDIT_FORM.encode() + b"%0Ax%3A\xff%0A%0A", content_type=FORM), 400,
     short_reason(400)),
    ("invalid UTF-8 in a multipart field", {},
     lambda c: c.post(GATEWAY, **multipart(b"u:ann\xff\nf:0:doc\nd:0:+Hi\n\n")), 400, short_reason(400)),
    ("body over max_body", {"max_body": 200},
     lambda c: c.post(GATEWAY, data=("q=" + EDIT_FORM + "&pad=" + "x" * 300).encode(), content_type=FORM), 413,
     short_reason(413)),
    ("multipart body over max_body", {"max_body": 200},
     lambda c: c.post(GATEWAY, data={"q": EDIT, "pad": "x" * 300}, content_type="multipart/form-data"), 413,
     short_reason(413)),
    ("control: a body under max_body is taken", {"max_body": 200},
     lambda c: c.post(GATEWAY, data=("q=" + EDIT_FORM).encode(), content_type=FORM), 200,
     answers(ans("F:1:doc", "d:0:=2"))),
    # A Content-Length that is no number is no length: the body goes unread (Flask's reading, and the
    # fast path's since fuzzing found it: str.isdigit() took these, and int("²") raised, a 500).
    ("Content-Length in superscript digits", {},
     lambda c: c.post(GATEWAY, data=("q=" + EDIT_FORM).encode(), content_type=FORM,
                      environ_overrides={"CONTENT_LENGTH": "\u00b2"}), 303, redirected),
    ("Content-Length in Arabic-Indic digits", {},
     lambda c: c.post(GATEWAY, data=("q=" + EDIT_FORM).encode(), content_type=FORM,
                      environ_overrides={"CONTENT_LENGTH": "\u0663\u0663"}), 303, redirected),
    # Raw bytes that are not UTF-8: werkzeug raised UnicodeDecodeError (a 500) for a query string
    # (found by fuzzing), and dropped a body's fields silently.
    ("history: invalid UTF-8 raw in the query string", {},
     lambda c: c.get("/history/list", environ_overrides={"QUERY_STRING": "doc=\xff"}), 400, short_reason(400)),
    ("presence: invalid UTF-8 raw in the query string", {},
     lambda c: c.get("/presence", environ_overrides={"QUERY_STRING": "doc=a\xc3"}), 400, short_reason(400)),
    ("history restore: invalid UTF-8 raw in the body", {},
     lambda c: c.post("/history/restore", data=b"doc=doc&id=1&name=\xff", content_type=FORM), 400,
     short_reason(400)),
    # The fast path answered from the bytes that came, where Flask refuses (found by fuzzing).
    ("body shorter than its Content-Length", {},
     lambda c: c.post(GATEWAY, data=("q=" + EDIT_FORM).encode(), content_type=FORM,
                      environ_overrides={"CONTENT_LENGTH": str(len("q=" + EDIT_FORM) + 10)}), 400,
     short_reason(400)),
    ("PUT", {}, lambda c: c.put(GATEWAY, data={"q": EDIT}), 405, allows_get_and_post),
    ("DELETE", {}, lambda c: c.delete(GATEWAY + "?q=" + EDIT_FORM), 405, allows_get_and_post),
    ("PATCH on /sync", {}, lambda c: c.patch("/sync", data={"q": EDIT}), 405, allows_get_and_post),
    ("unknown path", {}, lambda c: c.get("/scripts/q.pyx?q=" + EDIT_FORM), 404, short_reason(404)),
    ("unknown path: folder", {}, lambda c: c.get("/scripts/?q=" + EDIT_FORM), 404, short_reason(404)),
    ("unknown path: below the gateway", {}, lambda c: c.post("/scripts/q.py/x", data={"q": EDIT}), 404,
     short_reason(404)),
    ("unknown path: /q.py", {}, lambda c: c.post("/q.py", data={"q": EDIT}), 404, short_reason(404)),
]


@pytest.mark.parametrize("name, overrides, call, status, check", HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_http_input(make_client, name, overrides, call, status, check):
    client = make_client(**overrides)
    response = call(client)
    assert response.status_code != 500
    assert response.status_code == status, response.data
    check(response)
    if status != 200:
        assert text_of(client, "doc") is None     # nothing of a refused request was stored


# ---------------------------------------------------------------- protocol text

# (name, text of "doc" before (None: null), request from a new user "bob",
#  expected answer, expected text after)
PROTOCOL_CASES = [
    ("only malformed lines", None, req("garbage", ":", "u", "uu:bob", "d", "f0:doc"), "", None),
    ("missing version", None, bob("d::+Hi", "R::Hi"), "", None),
    ("version without its colon", None, bob("d:0", "r:0"), "", None),
    ("negative version", "Hi", bob("D:-1:-2\t+X", "R:-1:X"), "", "Hi"),
    ("version 2^31", "Hi", bob("R:2147483648:X"), "", "Hi"),
    ("huge version", None, bob("d:99999999999999999999:+Hi"), "", None),
    ("5000-digit version", None, bob("d:%s:+Hi" % ("9" * 5000)), "", None),
    ("5000-digit acknowledged version", "Hi", req("u:bob", "f:%s:doc" % ("9" * 5000), "R:0:X"), "", "Hi"),
    ("non-ASCII digits as version", None, bob("d:٠:+Hi"), "", None),
    ("delta longer than the shadow", "Hi", bob("d:0:=5\t+X"), RESYNC_HI, "Hi"),
    ("delta on a null text that does not fit", None, bob("d:0:=1\t+Hi"), ans("F:1:doc", "r:0:"), None),
    ("delta token with no operation", "Hi", bob("d:0:*1\t+X"), RESYNC_HI, "Hi"),
    ("delta count with a sign", "Hi", bob("D:0:=+0\t+X"), RESYNC_HI, "Hi"),
    ("delta count with a negative sign", "Hi", bob("d:0:-0\t=-0\t+X"), RESYNC_HI, "Hi"),
    ("delta count in Arabic-Indic digits", "Hi", bob("d:0:=٠\t+X"), RESYNC_HI, "Hi"),
    ("delta count with a space", "Hi", bob("d:0:= 0\t+X"), RESYNC_HI, "Hi"),
    ("delta count missing", "Hi", bob("d:0:=\t+X"), RESYNC_HI, "Hi"),
    ("delta count huge", "Hi", bob("d:0:+X\t=%s" % ("9" * 5000)), RESYNC_HI, "Hi"),
    ("delta insert with a bad escape", "Hi", bob("D:0:+X%ZZ"), RESYNC_HI, "Hi"),
    ("delta insert cut inside an escape", "Hi", bob("d:0:+X%4"), RESYNC_HI, "Hi"),
    ("delta insert with invalid UTF-8", "Hi", bob("d:0:+%FF"), RESYNC_HI, "Hi"),
    ("delta insert with an overlong encoding", None, bob("d:0:+%C0%AF"), ans("F:1:doc", "r:0:"), None),
    ("delta insert with an encoded surrogate", "Hi", bob("d:0:+%ED%A0%BD%ED%B8%80"), RESYNC_HI, "Hi"),
    ("delta insert cut inside a character", "Hi", bob("d:0:+%E2%82"), RESYNC_HI, "Hi"),
    ("delta count ending inside a surrogate pair", "😀", bob("d:0:+x\t=1"), ans("F:1:doc", "R:0:%F0%9F%98%80"), "😀"),
    ("raw text with a bad escape", "Hi", bob("R:0:X%ZZ"), ans("F:0:doc", "R:0:Hi"), "Hi"),
    ("raw text with invalid UTF-8", "Hi", bob("R:0:%FF"), ans("F:0:doc", "R:0:Hi"), "Hi"),
    ("raw text with invalid UTF-8 on a null text", None, bob("r:0:%ED%A0%80"), ans("F:0:doc", "r:0:"), None),
]


@pytest.mark.parametrize("name, before, request_text, answer, after", PROTOCOL_CASES,
                         ids=[c[0] for c in PROTOCOL_CASES])
def test_protocol_input(make_client, name, before, request_text, answer, after):
    client = make_client()
    if before is not None:
        created = client.post(GATEWAY, data={"q": req("u:ann", "f:0:doc", "d:0:+" + urllib.parse.quote(before))})
        assert created.status_code == 200
    for field, body in (("q", answer), ("p", None)):
        response = client.post(GATEWAY, data={field: request_text})
        assert response.status_code == 200, response.data
        if body is not None:
            assert response.get_data(as_text=True) == body
    assert text_of(client, "doc") == after


# ---------------------------------------------------------------- names

# One table of names: which the protocol counts as not set, and which are
# odd but fine (stored and answered like any other).
NAME_CASES = [  # (why, name, is a name)
    ("control character", "a\x01b", False),
    ("NUL", "a\x00b", False),
    ("tab", "a\tb", False),
    ("DEL", "a\x7fb", False),
    ("C1 control (NEL)", "a\x85b", False),
    ("space", " ", True),
    ("spaces and colons", "a b:c: d", True),
    ("accents", "été", True),
    ("CJK", "中文文档", True),
    ("emoji", "😀👍🏽", True),
    ("reserved pattern", "__reserved__", True),
    ("Datastore key-like", "__key__", True),
    ("dots", "..", True),
    ("slashes", "a/b/../c", True),
    ("percent", "%41%", True),
    ("backslash and quote", 'a\\b"c\'', True),
    ("markup", "</script><b>", True),
    ("line separators", "a\u2028b\u2029c", True),
    ("zero-width", "a\u200bb\ufeff", True),
    ("256 characters", "n" * 256, True),
    ("256 four-byte characters", "😀" * 256, True),
    ("257 characters", "n" * 257, False),
    ("257 emoji", "😀" * 257, False),
]
NOT_NAMES = [(why, name) for why, name, ok in NAME_CASES if not ok]
NAMES = [(why, name) for why, name, ok in NAME_CASES if ok]


@pytest.mark.parametrize("name, bad", NOT_NAMES, ids=[n[0] for n in NOT_NAMES])
def test_names_that_are_not_set(make_client, name, bad):
    client = make_client()
    for text in (req("u:" + bad, "f:0:doc", "d:0:+Hi"), req("u:ann", "f:0:" + bad, "d:0:+Hi"),
                 req("U:" + bad, "f:0:doc", "R:0:Hi"), req("u:ann", "n:" + bad, "d:0:+Hi")):
        response = client.post(GATEWAY, data={"q": text})
        assert (response.status_code, response.data) == (200, b""), text
    assert text_of(client, "doc") is None


@pytest.mark.parametrize("name, odd", NAMES, ids=[n[0] for n in NAMES])
def test_odd_names_are_stored_fine(quick_client, name, odd):
    client = quick_client

    def q(text):
        response = client.post(GATEWAY, data={"q": text})
        assert response.status_code == 200, response.data
        return response.get_data(as_text=True)

    # The odd name as user and as document, both at once.
    assert q(req("U:" + odd, "f:0:" + odd, "d:0:+Hi")) == ans("u:" + odd, "F:1:" + odd, "d:0:=2")
    assert q(req("U:" + odd, "f:1:" + odd, "d:1:=2\t+!")) == ans("u:" + odd, "F:2:" + odd, "d:1:=3")
    assert q(req("u:bob", "f:0:" + odd, "d:0:")) == ans("F:1:" + odd, "d:0:+Hi!")
    assert q(req("u:" + odd, "f:0:doc", "d:0:+Yo")) == ans("F:1:doc", "d:0:=2")
    assert text_of(client, odd) == "Hi!"
    assert text_of(client, "doc") == "Yo"
    assert q(req("u:" + odd, "n:" + odd)) == ""
    assert text_of(client, odd) is None


BUFFER_IDS = [("unicode and colons", "é:😀/"), ("reserved pattern", "__key__"), ("2000 characters", "i" * 2000)]


@pytest.mark.parametrize("name, bid", BUFFER_IDS, ids=[b[0] for b in BUFFER_IDS])
def test_odd_buffer_ids(quick_client, name, bid):
    client = quick_client
    bid = bid + uuid.uuid4().hex[:8]    # Redis and memcached are shared between tests
    data = urllib.parse.quote(EDIT, safe="")
    half = len(data) // 2
    for index, piece, body in ((1, data[:half], b""), (2, data[half:], b"F:1:doc\nd:0:=2\n\n")):
        response = client.post(GATEWAY, data={"q": req("b:%s 2 %d %s" % (bid, index, piece))})
        assert (response.status_code, response.data) == (200, body)
