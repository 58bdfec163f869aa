"""PROTOCOL.md "Transports" and "Buffers" over HTTP, on every store backend:
q= and p= on GET and POST (form-encoded and multipart), the JSONP answer and
its escaping, headers, the redirect, and b:/B: fragments.
"""

import dataclasses
import time
import urllib.parse
import uuid

import pytest

from backends import open_store
from main import create_app

GATEWAY = "/scripts/q.py"
TEXT = "text/plain; charset=utf-8"
SCRIPT = "text/javascript; charset=utf-8"
EMPTY_CALLBACK = 'mobwrite.callback("");'


def req(*lines):
    return "".join(line + "\n" for line in lines) + "\n"


ans = req


def callback(*lines):
    """The p= body for answer lines that need no escaping."""
    return 'mobwrite.callback("%s");' % "".join(line + "\\n" for line in lines)


@pytest.fixture
def client(app):
    return app.test_client()


def q(client, text, path=GATEWAY):
    response = client.post(path, data={"q": text})
    assert response.status_code == 200, response.data
    assert response.content_type == TEXT
    return response.get_data(as_text=True)


def p(client, text, path=GATEWAY):
    response = client.get(path, query_string={"p": text})
    assert response.status_code == 200, response.data
    assert response.content_type == SCRIPT
    return response.get_data(as_text=True)


def text_of(client, doc):
    """The master text of doc (None when null), seen by a new user (a delta
    from the future earns a raw dump and changes nothing)."""
    answer = q(client, req("u:peek-" + uuid.uuid4().hex[:8], "f:0:" + doc, "d:1:"))
    line = answer.split("\n")[1]
    return None if line == "r:0:" else urllib.parse.unquote(line[len("R:0:"):])


# ---------------------------------------------------------------- q= and p=

def test_q_on_get_post_and_multipart_post(client):
    response = client.get(GATEWAY, query_string={"q": req("u:ann", "f:0:doc", "d:0:+Hi")})
    assert (response.status_code, response.content_type) == (200, TEXT)
    assert response.get_data(as_text=True) == ans("F:1:doc", "d:0:=2")
    response = client.post(GATEWAY, data={"q": req("u:bob", "f:0:doc", "d:0:")})
    assert (response.status_code, response.content_type) == (200, TEXT)
    assert response.get_data(as_text=True) == ans("F:1:doc", "d:0:+Hi")
    response = client.post(GATEWAY, data={"q": req("u:cy", "f:0:doc", "d:0:")}, content_type="multipart/form-data")
    assert (response.status_code, response.content_type) == (200, TEXT)
    assert response.get_data(as_text=True) == ans("F:1:doc", "d:0:+Hi")


def test_p_on_get_post_and_multipart_post(client):
    # The example of PROTOCOL.md, over p=.
    response = client.get(GATEWAY, query_string={"p": req("u:ann42", "f:0:notes7", "d:0:+Hi")})
    assert (response.status_code, response.content_type) == (200, SCRIPT)
    assert response.get_data(as_text=True) == 'mobwrite.callback("F:1:notes7\\nd:0:=2\\n");'
    response = client.post(GATEWAY, data={"p": req("u:bob9", "f:0:notes7", "d:0:")})
    assert (response.status_code, response.content_type) == (200, SCRIPT)
    assert response.get_data(as_text=True) == 'mobwrite.callback("F:1:notes7\\nd:0:+Hi\\n");'
    response = client.post(GATEWAY, data={"p": req("u:cy", "f:0:notes7", "d:0:")},
                           content_type="multipart/form-data")
    assert (response.status_code, response.content_type) == (200, SCRIPT)
    assert response.get_data(as_text=True) == callback("F:1:notes7", "d:0:+Hi")


def test_the_form_decoding_is_the_only_decoding_of_the_field(client):
    # %25 in the form is a literal % in the request, whose own escape %2B is a +.
    response = client.post(GATEWAY, data=b"q=u%3Aann%0Af%3A0%3Adoc%0Ad%3A0%3A%2Ba%252Bb+c%0A%0A",
                           content_type="application/x-www-form-urlencoded")
    assert response.get_data(as_text=True) == ans("F:1:doc", "d:0:=5")
    assert text_of(client, "doc") == "a+b c"


def test_q_wins_over_p(client):
    edit = req("u:ann", "f:0:doc", "d:0:+Hi")
    for kwargs in ({"data": {"q": "", "p": edit}},
                   {"query_string": {"q": ""}, "data": {"p": edit}},
                   {"query_string": {"p": edit}, "data": {"q": ""}},
                   {"data": {"q": "", "p": edit}, "content_type": "multipart/form-data"}):
        response = client.post(GATEWAY, **kwargs)
        assert (response.status_code, response.content_type, response.data) == (200, TEXT, b""), kwargs
    response = client.get(GATEWAY, query_string=[("p", edit), ("q", "")])
    assert (response.status_code, response.content_type, response.data) == (200, TEXT, b"")
    assert text_of(client, "doc") is None     # p was not handled at all
    response = client.get(GATEWAY, query_string=[("p", ""), ("q", edit)])
    assert (response.content_type, response.get_data(as_text=True)) == (TEXT, ans("F:1:doc", "d:0:=2"))


@pytest.mark.parametrize("call, content_type, body", [
    (lambda c: c.get(GATEWAY + "?q="), TEXT, ""),
    (lambda c: c.get(GATEWAY + "?q"), TEXT, ""),
    (lambda c: c.post(GATEWAY, data={"q": ""}), TEXT, ""),
    (lambda c: c.get(GATEWAY + "?p="), SCRIPT, EMPTY_CALLBACK),
    (lambda c: c.get(GATEWAY + "?p"), SCRIPT, EMPTY_CALLBACK),
    (lambda c: c.post(GATEWAY, data={"p": ""}), SCRIPT, EMPTY_CALLBACK),
    (lambda c: c.post(GATEWAY, data={"p": ""}, content_type="multipart/form-data"), SCRIPT, EMPTY_CALLBACK),
    (lambda c: c.get(GATEWAY, query_string={"p": "\n\n"}), SCRIPT, EMPTY_CALLBACK),
    (lambda c: c.get(GATEWAY, query_string={"p": "u:ann\nf:0:doc\n\n"}), SCRIPT, EMPTY_CALLBACK),
])
def test_an_empty_q_or_p_is_an_empty_request(client, call, content_type, body):
    response = call(client)
    assert (response.status_code, response.content_type) == (200, content_type)
    assert response.get_data(as_text=True) == body


@pytest.mark.parametrize("call", [
    lambda c: c.get(GATEWAY),
    lambda c: c.get(GATEWAY + "?x=1&qq=2&P=3"),
    lambda c: c.post(GATEWAY),
    lambda c: c.post(GATEWAY, data={"x": "1"}),
    lambda c: c.post(GATEWAY, data={"Q": "u:a\n\n"}, content_type="multipart/form-data"),
    lambda c: c.get("/sync"),
])
def test_without_q_or_p_the_gateway_redirects_to_the_editor(client, call):
    response = call(client)
    assert response.status_code == 303
    assert urllib.parse.urlsplit(response.headers["Location"]).path == "/static/mobwrite/index.html"


def test_the_redirect_goes_to_the_configured_editor(settings, store):
    app = create_app(dataclasses.replace(settings, editor_url="/elsewhere/"), store)
    response = app.test_client().get(GATEWAY)
    assert response.status_code == 303
    assert urllib.parse.urlsplit(response.headers["Location"]).path == "/elsewhere/"


def test_the_site_root_goes_to_the_landing_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert urllib.parse.urlsplit(response.headers["Location"]).path == "/static/mobwrite/index.html"


def test_sync_is_an_alias_of_the_gateway(client):
    assert q(client, req("u:ann", "f:0:doc", "d:0:+Hi"), path="/sync") == ans("F:1:doc", "d:0:=2")
    assert p(client, req("u:bob", "f:0:doc", "d:0:"), path="/sync") == callback("F:1:doc", "d:0:+Hi")
    assert q(client, req("u:bob", "f:1:doc", "d:1:=2"), path=GATEWAY) == ans("F:2:doc", "d:1:=2")


def test_jsonp_escapes_echoed_names_so_they_cannot_end_the_script(client):
    user = "</script><script>alert(1)//"
    doc = 'q"\\\u2028\u2029<!--'
    body = p(client, req("U:" + user, "f:0:" + doc, "d:0:+Hi"))
    assert body == ('mobwrite.callback("u:\\u003c/script>\\u003cscript>alert(1)//\\n'
                    'F:1:q\\"\\\\\\u2028\\u2029\\u003c!--\\nd:0:=2\\n");')
    assert "</" not in body and "<" not in body
    assert "\u2028" not in body and "\u2029" not in body and "\n" not in body
    # Over q= the same names come back verbatim.
    assert q(client, req("U:" + user, "f:1:" + doc, "d:1:=2")) == ans("u:" + user, "F:2:" + doc, "d:1:=2")


@pytest.mark.parametrize("field", ["q", "p"])
def test_headers(settings, store, field):
    edit = {field: req("u:ann", "f:0:doc", "d:0:+Hi")}
    for cors, expected in (("*", "*"), ("https://example.org", "https://example.org"), ("", None)):
        client = create_app(dataclasses.replace(settings, cors_origin=cors), store).test_client()
        for response in (client.post(GATEWAY, data=edit), client.get(GATEWAY, query_string={field: ""})):
            assert response.status_code == 200
            assert response.content_type == (TEXT if field == "q" else SCRIPT)
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers.get("Access-Control-Allow-Origin") == expected


# ---------------------------------------------------------------- buffers

def encode_component(text):
    """encodeURIComponent, as the client applies it to the request."""
    return urllib.parse.quote(text, safe="-_.!~*'()")


def fragment_lines(bid, text, size, letter="b"):
    """The client's split: the request URI-encoded once, cut in ``size`` pieces."""
    data = encode_component(text)
    step = -(-len(data) // size)
    pieces = [data[i * step:(i + 1) * step] for i in range(size)]
    return ["%s:%s %d %d %s" % (letter, bid, size, i + 1, piece) for i, piece in enumerate(pieces)]


def new_id(prefix="buf"):
    # Redis and memcached are shared by every test: ids must not repeat.
    return "%s-%s" % (prefix, uuid.uuid4().hex[:12])


CREATE = req("u:ann", "f:0:doc", "d:0:+h%C3%A9llo w%C3%B6rld %F0%9F%98%80")
CREATED = ("F:1:doc", "d:0:=14")


def test_fragments_over_p_in_order(client):
    lines = fragment_lines(new_id(), CREATE, 4)
    for line in lines[:-1]:
        assert p(client, req(line)) == EMPTY_CALLBACK
    assert p(client, req(lines[-1])) == callback(*CREATED)
    assert text_of(client, "doc") == "héllo wörld 😀"


def test_fragments_over_q_out_of_order(client):
    lines = fragment_lines(new_id(), CREATE, 3, letter="B")
    assert q(client, req(lines[2])) == ""
    assert q(client, req(lines[0])) == ""
    assert q(client, req(lines[1])) == ans(*CREATED)


def test_a_piece_may_end_anywhere_inside_an_escape(client):
    for cut in range(6):                          # before, inside and after "%25C3"
        doc = "cut%d" % cut
        data = encode_component(req("u:ann", "f:0:" + doc, "d:0:+%C3%A9"))
        at = data.index("%25C3") + cut
        bid = new_id()
        assert q(client, req("b:%s 2 2 %s" % (bid, data[at:]))) == ""
        assert q(client, req("b:%s 2 1 %s" % (bid, data[:at]))) == ans("F:1:" + doc, "d:0:=1"), cut
        assert text_of(client, doc) == "é"


def test_a_repeated_fragment_is_ignored(client):
    bid = new_id()
    first = fragment_lines(bid, req("u:ann", "f:0:kept", "d:0:+Hi"), 2)
    other = fragment_lines(bid, req("u:ann", "f:0:lost", "d:0:+Yo"), 2)
    assert len(first[0]) == len(other[0])
    assert q(client, req(first[0])) == ""
    assert q(client, req(other[0])) == ""          # same (ID, SIZE, INDEX): ignored
    assert q(client, req(first[1])) == ans("F:1:kept", "d:0:=2")
    assert text_of(client, "lost") is None
    # The completed buffer is gone: the same id starts a new one.
    assert q(client, req(other[1])) == ""


def test_an_index_out_of_range_is_ignored(client):
    bid = new_id()
    lines = fragment_lines(bid, CREATE, 3)
    assert q(client, req("b:%s 3 0 u%%3Aeve%%0A" % bid)) == ""
    assert q(client, req("b:%s 3 4 u%%3Aeve%%0A" % bid)) == ""
    assert q(client, req("b:%s 3 -1 u%%3Aeve%%0A" % bid)) == ""
    assert q(client, req(lines[0])) == ""
    assert q(client, req(lines[1])) == ""
    assert q(client, req(lines[2])) == ans(*CREATED)


def test_a_size_of_one_is_simply_the_request(client):
    bid = new_id()
    assert q(client, req(fragment_lines(bid, CREATE, 1)[0])) == ans(*CREATED)
    # Nothing was kept under that id: the same line works again.
    assert q(client, req(fragment_lines(bid, req("u:ann", "f:1:doc", "d:1:=14"), 1)[0])) == ans("F:2:doc", "d:1:=14")


def test_the_joined_request_needs_no_closing_empty_line(client):
    for n, text in enumerate(("u:ann\nf:0:a\nd:0:+Hi", "u:ann\nf:0:b\nd:0:+Hi\n", "u:ann\r\nf:0:c\r\nd:0:+Hi\r\n")):
        doc = "abc"[n]
        assert q(client, req("b:%s 1 1 %s" % (new_id(), encode_component(text)))) == ans("F:1:" + doc, "d:0:=2")


def test_truncation_applies_to_the_http_request_carrying_the_fragment(client):
    lines = fragment_lines(new_id(), CREATE, 2)
    assert q(client, lines[0] + "\n") == ""          # truncated: not kept
    assert q(client, req(lines[1])) == ""            # so this does not complete
    assert q(client, req(lines[0])) == ans(*CREATED)


def test_a_fragment_that_does_not_complete_is_skipped_and_parsing_goes_on(client):
    line = fragment_lines(new_id(), CREATE, 2)[0]
    assert q(client, req(line, "u:bob", "f:0:other", "d:0:+Yo")) == ans("F:1:other", "d:0:=2")


def test_a_completing_fragment_replaces_the_whole_request(client):
    joined = encode_component(req("u:bob", "f:0:other", "d:0:+Yo"))
    answer = q(client, req("u:ann", "f:0:doc", "d:0:+Hi", "b:%s 1 1 %s" % (new_id(), joined), "u:cy", "f:0:doc",
                           "d:0:+Zz"))
    assert answer == ans("F:1:other", "d:0:=2")
    assert text_of(client, "doc") is None


def test_joined_text_that_is_not_utf8_is_ignored(client):
    bid = new_id()
    assert q(client, req("b:%s 2 1 u%%3Aann%%0Af%%3A0%%3Adoc%%0Ad%%3A0%%3A%%2B%%FF" % bid)) == ""
    assert q(client, req("b:%s 2 2 %%0A%%0A" % bid)) == ""
    assert text_of(client, "doc") is None


def test_nested_buffers(client):
    inner = new_id("inner")
    inner_lines = fragment_lines(inner, CREATE, 2)
    outer_lines = fragment_lines(new_id("outer"), req(inner_lines[0]), 2)
    assert p(client, req(outer_lines[0])) == EMPTY_CALLBACK
    assert p(client, req(outer_lines[1])) == EMPTY_CALLBACK   # joined: inner fragment 1, kept
    assert p(client, req(inner_lines[1])) == callback(*CREATED)
    # Two levels of size-1 buffers.
    text = req("u:ann", "f:1:doc", "d:1:=14")
    for _ in range(2):
        text = req("b:%s 1 1 %s" % (new_id(), encode_component(text)))
    assert q(client, text) == ans("F:2:doc", "d:1:=14")


def test_nesting_is_limited(client):
    text = req("u:ann", "f:0:doc", "d:0:+Hi")
    for _ in range(40):
        text = req("b:%s 1 1 %s" % (new_id(), encode_component(text)))
    assert len(text) < 1_000_000
    assert q(client, text) == ""
    assert text_of(client, "doc") is None


@pytest.fixture
def other_instance(settings, store):
    """A second app on the same storage, as another process would have: the
    same SQLite file, the same Datastore namespace (and cache), its own
    connections. The memory store can only be shared as an object."""
    other = store if settings.store == "memory" else open_store(settings)
    yield create_app(settings, other).test_client()
    if other is not store:
        other.close()


def test_fragments_seen_by_two_instances(client, other_instance):
    lines = fragment_lines(new_id("two-é:/"), CREATE, 3)
    assert p(client, req(lines[1])) == EMPTY_CALLBACK
    assert p(other_instance, req(lines[2])) == EMPTY_CALLBACK
    assert p(client, req(lines[0])) == callback(*CREATED)
    lines = fragment_lines(new_id("two"), req("u:ann", "f:1:doc", "d:1:=14"), 2)
    assert q(client, req(lines[0])) == ""
    assert q(other_instance, req(lines[1])) == ans("F:2:doc", "d:1:=14")
    assert text_of(other_instance, "doc") == "héllo wörld 😀"


def test_a_buffer_over_the_size_bound_is_ignored(settings, store):
    client = create_app(dataclasses.replace(settings, buffer_max_fragments=3), store).test_client()
    lines = fragment_lines(new_id(), CREATE, 4)
    for line in lines:
        assert q(client, req(line)) == ""
    assert text_of(client, "doc") is None
    lines = fragment_lines(new_id(), CREATE, 3)
    assert [q(client, req(line)) for line in lines] == ["", "", ans(*CREATED)]


def test_a_fragment_over_the_byte_bound_is_ignored(settings, store):
    client = create_app(dataclasses.replace(settings, buffer_max_bytes=100), store).test_client()
    small = req("u:ann", "f:0:doc", "d:0:+Hi")      # 45 bytes encoded
    large = req("u:ann", "f:0:doc", "d:0:+" + "x" * 60)
    assert len(encode_component(small)) <= 50 < len(encode_component(large)) / 2 and len(encode_component(large)) > 100
    for line in fragment_lines(new_id(), large, 2):
        assert q(client, req(line)) == ""
    assert text_of(client, "doc") is None
    assert [q(client, req(line)) for line in fragment_lines(new_id(), small, 2)] == ["", ans("F:1:doc", "d:0:=2")]


def test_an_expired_buffer_is_forgotten(settings, store):
    client = create_app(dataclasses.replace(settings, timeout_buffer=1), store).test_client()
    lines = fragment_lines(new_id(), CREATE, 2)
    assert q(client, req(lines[0])) == ""
    time.sleep(1.15)
    assert q(client, req(lines[1])) == ""
    assert text_of(client, "doc") is None
