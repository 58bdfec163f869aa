"""One process opens one shared cache client: at most one Redis connection
pool or one memcached pool, whatever uses it (buffers, the view cache,
ndb's global cache). Counted at the server, on a Redis and a memcached of
this test's own, so no other test's connections are in the count."""

import re
import socket
import time
import uuid

import pytest
import redis

from main import create_app
from mobwrite.config import Settings
from tools import devservers

EXCHANGES = [
    "u:ann\nf:0:doc\nd:0:+Hello\n\n",          # an edit: a transaction, the view cache, the global cache
    "u:ann\nf:1:doc\nd:1:=5\n\n",              # an idle poll: the cached path
    "u:bob\nf:0:doc\nd:0:\n\n",
    "b:frag 2 1 u%3Aann%0Af%3A2%3Adoc%0A",     # a buffer fragment, then the one that completes it
    "b:frag 2 2 d%3A2%3A%3D5%0A%0A",
]


@pytest.fixture
def own_redis():
    server = devservers.start_redis()
    yield server
    server.stop()


@pytest.fixture
def own_memcached():
    server = devservers.start_memcached()
    yield server
    server.stop()


def _exercise(settings):
    client = create_app(settings).test_client()
    for text in EXCHANGES * 3:
        assert client.post("/scripts/q.py", data={"q": text}).status_code == 200
    assert "Hello" in client.post("/scripts/q.py", data={"q": "u:cy\nf:0:doc\nd:0:\n\n"}).get_data(as_text=True)


def _settings(datastore_emulator, **cache):
    return Settings(store="datastore", project="mobwrite-test", namespace="c" + uuid.uuid4().hex[:12],
                    log_level="ERROR", **cache)


def test_one_redis_connection(datastore_emulator, own_redis):
    watcher = redis.Redis.from_url(own_redis.address)
    mine = watcher.client_id()
    _exercise(_settings(datastore_emulator, redis_url=own_redis.address))
    deadline = time.monotonic() + 5
    while True:  # a closed socket (the start-up check's) may linger a moment in the list
        others = [c for c in watcher.client_list() if int(c["id"]) != mine]
        if len(others) <= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(others) == 1, others


def _memcached_connections(address):
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"stats\r\n")
        data = b""
        while not data.endswith(b"END\r\n"):
            data += sock.recv(65536)
    return int(re.search(rb"STAT curr_connections (\d+)", data).group(1))


def _settled_connections(address):
    """The count once memcached has noticed closed sockets (the start-up
    check's, our last probe's): the same figure three reads running."""
    seen = []
    deadline = time.monotonic() + 5
    while len(seen) < 3 or len(set(seen[-3:])) > 1:
        assert time.monotonic() < deadline, seen
        seen.append(_memcached_connections(address))
        time.sleep(0.1)
    return seen[-1]


def test_one_memcached_connection(datastore_emulator, own_memcached):
    before = _settled_connections(own_memcached.address)  # the listener and this probe
    _exercise(_settings(datastore_emulator, memcached_hosts=own_memcached.address))
    assert _settled_connections(own_memcached.address) - before == 1


def test_memcached_commands_go_out_at_once(memcached_server):
    """TCP_NODELAY on the memcached sockets: pymemcache leaves Nagle's
    algorithm on, and an edit on Datastore + memcached then waited for the
    server's delayed ACK (47 ms p50, against 5 ms with Redis)."""
    from mobwrite.stores.cache import open_cache

    cache = open_cache(Settings(memcached_hosts=memcached_server.address))
    try:
        cache.client.set_many({b"a": b"1", b"b": b"2"})
        assert cache.client.get_many([b"a", b"b"]) == {b"a": b"1", b"b": b"2"}
        sockets = [client.sock for pooled in cache.client.clients.values() for client in pooled.client_pool._free_objs]
        assert sockets and all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)
    finally:
        cache.close()
