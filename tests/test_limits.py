"""Rate limits and caps (issue 12): 429 with Retry-After, nothing stored,
other clients unaffected; counters on Redis, memcached and in process."""

import dataclasses
import uuid

import pytest

from backends import make_settings
from main import create_app
from mobwrite import limits
from mobwrite.access import TokenKeys
from mobwrite.config import Settings
from mobwrite.stores.cache import open_cache
from tools import devservers


@pytest.mark.parametrize("kind", ["local", "redis", "memcached"])
def test_counters_count_per_key_and_window(kind, request):
    cache = None
    if kind != "local":
        server = request.getfixturevalue(kind + "_server")
        cache = open_cache(Settings(redis_url=server.address) if kind == "redis"
                           else Settings(memcached_hosts=server.address))
    counters = limits.open_counters(cache)
    tag = request.node.name[-12:]
    assert counters.hit(["a" + tag + ":7", "b" + tag + ":7"], 7, 60) == [1, 1]
    assert counters.hit(["a" + tag + ":7"], 7, 60) == [2]
    assert counters.hit(["a" + tag + ":8"], 8, 60) == [1]  # a new window starts at zero
    if cache:
        cache.close()


def gateway(request, tmp_path, **limits_):
    settings = make_settings("memory", request, tmp_path, **limits_)
    app = create_app(settings)
    return app, app.test_client()


def post(client, text, ip="10.0.0.1", **headers):
    return client.post("/scripts/q.py", data={"q": text}, environ_base={"REMOTE_ADDR": ip}, headers=headers)


def text_of(app, doc):
    return app.extensions["mobwrite"].store.read([], [doc])[1].get(doc)


def test_a_user_over_its_rate_gets_429_and_nothing_is_stored(request, tmp_path):
    app, client = gateway(request, tmp_path, rate_user=3, rate_window=60)
    for i in range(3):
        assert post(client, "u:greedy\nf:0:doc%d\nd:0:\n\n" % i).status_code == 200
    over = post(client, "u:greedy\nf:0:doc\nd:0:+spam\n\n")
    assert over.status_code == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert over.get_data(as_text=True).startswith("429 Too Many Requests: user greedy over its limit")
    assert text_of(app, "doc") is None
    assert post(client, "u:polite\nf:0:doc\nd:0:+Hi\n\n").get_data(as_text=True) == "F:1:doc\nd:0:=2\n\n"


def test_a_client_ip_over_its_rate_gets_429_and_others_do_not(request, tmp_path):
    app, client = gateway(request, tmp_path, rate_ip=2)
    assert [post(client, "u:a%d\nf:0:d\nd:0:\n\n" % i).status_code for i in range(3)] == [200, 200, 429]
    assert post(client, "u:b\nf:0:d\nd:0:\n\n", ip="10.0.0.2").status_code == 200
    # Off App Engine X-Forwarded-For is anyone's to write: not trusted.
    assert post(client, "u:c\nf:0:d\nd:0:\n\n", **{"X-Forwarded-For": "10.9.9.9"}).status_code == 429


def test_on_app_engine_the_first_forwarded_address_counts(request, tmp_path):
    app, client = gateway(request, tmp_path, rate_ip=1, on_app_engine=True)
    hop = {"X-Forwarded-For": "203.0.113.5, 10.0.0.1"}
    assert post(client, "u:a\nf:0:d\nd:0:\n\n", **hop).status_code == 200
    assert post(client, "u:a\nf:0:d\nd:0:\n\n", **hop).status_code == 429
    assert post(client, "u:a\nf:0:d\nd:0:\n\n", **{"X-Forwarded-For": "203.0.113.6"}).status_code == 200


def test_a_document_over_its_edit_rate_refuses_edits_but_not_polls(request, tmp_path):
    app, client = gateway(request, tmp_path, rate_doc_edits=2)
    assert post(client, "u:a\nf:0:d\nd:0:+A\n\n").status_code == 200
    assert post(client, "u:a\nf:1:d\nd:1:=1\t+B\n\n").status_code == 200
    assert post(client, "u:a\nf:2:d\nd:2:=2\t+C\n\n").status_code == 429
    assert text_of(app, "d") == "AB"
    assert post(client, "u:b\nf:0:d\nd:0:\n\n").get_data(as_text=True) == "F:1:d\nd:0:+AB\n\n"
    assert post(client, "u:b\nf:0:other\nd:0:+X\n\n").status_code == 200


def test_documents_per_request_and_names_per_user_are_capped(request, tmp_path):
    app, client = gateway(request, tmp_path, max_docs_per_request=2, max_names_per_user=3)
    three = "u:a\nf:0:d1\nd:0:\nf:0:d2\nd:0:\nf:0:d3\nd:0:+x\n\n"
    assert post(client, three).status_code == 429
    assert text_of(app, "d3") is None
    assert post(client, "u:b\nf:0:n1\nd:0:\nf:0:n2\nd:0:\n\n").status_code == 200
    assert post(client, "u:b\nf:0:n1\nd:0:\nf:0:n2\nd:0:\n\n").status_code == 200  # the same names again
    assert post(client, "u:b\nf:0:n3\nd:0:\n\n").status_code == 200
    assert post(client, "u:b\nf:0:n4\nd:0:+x\n\n").status_code == 429
    assert text_of(app, "n4") is None


def test_the_admin_endpoint_mints_tokens_for_the_admin_only(request, tmp_path):
    app, client = gateway(request, tmp_path, access="tokens", token_key="k", admin_token="adm")
    assert client.post("/admin/token", data={"doc": "d"}).status_code == 403
    bearer = {"Authorization": "Bearer adm"}
    assert client.post("/admin/token", data={"doc": "d", "right": "own"}, headers=bearer).status_code == 400
    assert client.post("/admin/token", data={"doc": "d", "ttl": "inf"}, headers=bearer).status_code == 400
    minted = client.post("/admin/token", data={"doc": "d", "right": "view", "ttl": "60"}, headers=bearer)
    assert minted.status_code == 200 and minted.headers["Cache-Control"] == "no-store"
    token = minted.get_data(as_text=True).strip()
    assert TokenKeys("k").verify(token).right == "view"
    assert post(client, "u:a\nt:%s\nf:0:d\nd:0:\n\n" % token).get_data(as_text=True).startswith("x:view:d\n")


def test_the_admin_endpoint_without_a_key_says_so(request, tmp_path):
    app, client = gateway(request, tmp_path, admin_token="adm")
    answer = client.post("/admin/token", data={"doc": "d"}, headers={"Authorization": "Bearer adm"})
    assert answer.status_code == 503 and b"MOBWRITE_TOKEN_KEY" in answer.data


def test_settings_read_the_environment():
    s = Settings.from_env({"MOBWRITE_ACCESS": "tokens", "MOBWRITE_TOKEN_PREFIXES": "a/, b",
                           "MOBWRITE_TOKEN_KEY": "k2", "MOBWRITE_TOKEN_KEY_PREVIOUS": "k1",
                           "MOBWRITE_RATE_USER": "7", "MOBWRITE_RATE_WINDOW": "5"})
    assert (s.access, s.token_prefixes, s.token_key, s.token_key_previous) == ("tokens", "a/, b", "k2", "k1")
    assert (s.rate_user, s.rate_window) == (7, 5.0)
    assert dataclasses.replace(s, rate_ip=0).rate_ip == 0


def test_an_edit_token_buys_a_view_token_and_nothing_more(request, tmp_path):
    app, client = gateway(request, tmp_path, access="tokens", token_key="k")
    keys = TokenKeys("k")
    edit = keys.mint("d", "edit", 60)
    answer = client.post("/token/view", data={"token": edit})
    assert answer.status_code == 200
    claims = keys.verify(answer.get_data(as_text=True).strip())
    assert (claims.name, claims.right, claims.expires) == ("d", "view", keys.verify(edit).expires)
    for bad in ("", keys.mint("d", "view", 60), edit[:-1], TokenKeys("other").mint("d", "edit", 60)):
        assert client.post("/token/view", data={"token": bad}).status_code == 403


@pytest.mark.parametrize("kind", ["redis", "memcached"])
def test_an_unreachable_cache_counts_in_process_and_limits_still_hold(kind):
    # A real refused connection: a free loopback port nobody listens on.
    address = "127.0.0.1:%d" % devservers.free_port()
    cache = open_cache(Settings(redis_url="redis://%s/0" % address) if kind == "redis"
                       else Settings(memcached_hosts=address))
    counters = limits.open_counters(cache)
    assert counters.hit(["a:7", "b:7"], 7, 60) == [1, 1]
    assert counters.hit(["a:7"], 7, 60) == [2]
    limiter = limits.Limiter(Settings(rate_ip=2), counters)
    limiter.check_client("10.0.0.9")
    limiter.check_client("10.0.0.9")
    with pytest.raises(limits.RateLimited):
        limiter.check_client("10.0.0.9")


@pytest.mark.parametrize("backend", ["datastore", "sqlite"])
def test_with_the_cache_down_syncs_go_on(backend, request, tmp_path):
    # Both stores keep syncing without the cache (README "Failure behaviour"):
    # Datastore from Datastore alone, SQLite as ever. Never a 503, never a 500.
    if backend == "datastore":
        request.getfixturevalue("datastore_emulator")
    dead = "redis://127.0.0.1:%d/0" % devservers.free_port()
    app, client = gateway(request, tmp_path, store=backend, redis_url=dead, rate_ip=100)
    answer = post(client, "u:a\nf:0:down\nR:0:hello\n\n")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert post(client, "u:b\nf:0:down\nd:0:=0\n\n").get_data(as_text=True).endswith("d:0:+hello\n\n")


class Recorded:
    """The real counters, with each call's keys written down."""

    def __init__(self, counters):
        self.counters, self.calls = counters, []

    def hit(self, keys, slot, ttl):
        self.calls.append([key.split(":")[2] for key in keys])  # the kinds: ip, user, doc, pair, names
        return self.counters.hit(keys, slot, ttl)


def test_a_sync_hits_all_its_counters_in_one_cache_call(request, tmp_path):
    """Each call is a round trip to Redis (3 per sync before: the IP, the
    names, the user and document): one now, a second only when a user opens
    a document new to it."""
    server = request.getfixturevalue("redis_server")
    # Redis lives for the whole session: names and an address no other test
    # counts, and an hour's window, so no count is carried in or cut short.
    tag = uuid.uuid4().hex[:8]
    ann, doc, ip = "ann" + tag, "doc" + tag, "10.9.%d.%d" % (int(tag[:2], 16), int(tag[2:4], 16))
    app, client = gateway(request, tmp_path, redis_url=server.address, rate_ip=5, rate_user=100,
                          rate_doc_edits=100, max_names_per_user=100, rate_window=3600)
    limiter = app.extensions["mobwrite"].guard.limiter
    limiter.counters = recorded = Recorded(limiter.counters)
    assert post(client, "u:%s\nf:0:%s\nd:0:+Hi\n\n" % (ann, doc), ip).status_code == 200
    assert recorded.calls == [["ip", "user", "doc", "pair"], ["names"]]  # ann's first document
    recorded.calls.clear()
    assert post(client, "u:%s\nf:1:%s\nd:1:=2\n\n" % (ann, doc), ip).status_code == 200
    assert recorded.calls == [["ip", "user", "pair"]]  # a poll: no edit to count
    recorded.calls.clear()
    assert post(client, "b:frag 2 1 u%3Aann%0A\n\n", ip).status_code == 200  # a fragment: the IP alone
    assert post(client, "garbage\n\n", ip).status_code == 200
    assert recorded.calls == [["ip"], ["ip"]]
    assert [post(client, "u:%s\nf:2:%s\nd:2:=2\n\n" % (ann, doc), ip).status_code for _ in range(2)] == [200, 429]  # 5 a window
