"""The view cache's write-through protocol, on a real Redis and memcached:
a value read before a write can never land after it."""

import dataclasses
import uuid

import pytest
import redis

from main import create_app
from mobwrite.config import Settings
from mobwrite.stores.cache import open_cache
from mobwrite.stores.viewcache import MemcachedViewCache, RedisViewCache
from tools.rpccount import count_rpcs


@pytest.fixture(params=["redis", "memcached"])
def cache(request):
    if request.param == "redis":
        return RedisViewCache(redis.Redis.from_url(request.getfixturevalue("redis_server").address), 60)
    return MemcachedViewCache(open_cache(Settings(memcached_hosts=request.getfixturevalue("memcached_server").address)).client, 60)


@pytest.fixture
def name():
    return uuid.uuid4().hex


def test_a_miss_holds_the_entry_and_a_fill_serves_later_reads(cache, name):
    found, holds = cache.get([name])
    assert found == {} and name in holds
    cache.fill({name: b"v1"}, holds)
    assert cache.get([name]) == ({name: b"v1"}, {})


def test_a_read_that_raced_a_write_cannot_fill(cache, name):
    _, holds = cache.get([name])          # a reader misses and goes to Datastore...
    locks = cache.lock([name])            # ...a writer locks, commits v2, releases
    cache.release(locks, {name: b"v2"})
    cache.fill({name: b"v1 (stale)"}, holds)  # the reader's older value arrives last
    assert cache.get([name])[0] == {name: b"v2"}


def test_while_locked_readers_go_to_the_store_and_do_not_fill(cache, name):
    cache.lock([name])
    found, holds = cache.get([name])
    assert found == {} and holds == {}


def test_a_writer_whose_lock_was_taken_drops_the_entry(cache, name):
    first = cache.lock([name])
    second = cache.lock([name])
    cache.release(first, {name: b"first"})   # no longer its lock: it must not write
    assert cache.get([name])[0] == {}
    cache.release(second, {name: b"second"})
    assert cache.get([name])[0] in ({}, {name: b"second"})


def test_a_failed_or_deleting_write_leaves_nothing_behind(cache, name):
    _, holds = cache.get([name])
    cache.fill({name: b"v1"}, holds)
    cache.release(cache.lock([name]), {})   # the commit failed, or the view was deleted
    found, holds = cache.get([name])
    assert found == {} and name in holds


def test_redis_losing_its_scripts_is_survived(redis_server, name):
    client = redis.Redis.from_url(redis_server.address)
    cache = RedisViewCache(client, 60)
    _, holds = cache.get([name])
    client.script_flush()
    cache.fill({name: b"v1"}, holds)
    assert cache.get([name])[0] == {name: b"v1"}


# Round trips per sync, counted on the gRPC stub (README's table says the same).
ROUND_TRIPS = {
    # backend: (an edit, the first idle poll after it, a steady idle poll)
    "datastore": ({"lookup": 1, "commit": 1}, {"lookup": 1, "commit": 1}, {"lookup": 1, "commit": 1}),
    "datastore+redis": ({"lookup": 1, "commit": 1}, {"commit": 1}, {"commit": 1}),
    "datastore+memcached": ({"lookup": 1, "commit": 1}, {"commit": 1}, {"commit": 1}),
}


@pytest.mark.parametrize("backend", list(ROUND_TRIPS), indirect=True)
def test_round_trips_per_sync(backend, settings, store):
    # History rides in the same Lookup and Commit; presence's own refresh
    # (every few seconds, not per poll) is counted in test_history_rpcs.py.
    app = create_app(dataclasses.replace(settings, presence=False), store)
    client = app.test_client()

    def sync(text):
        return client.post("/scripts/q.py", data={"q": text}).get_data(as_text=True)

    edit, first_poll, steady_poll = ROUND_TRIPS[backend]
    rpcs = count_rpcs(app.extensions["mobwrite"].store)
    assert sync("u:ann\nf:0:doc\nd:0:+Hello\n\n") == "F:1:doc\nd:0:=5\n\n"
    assert dict(rpcs) == edit   # the Lookup begins the transaction: no BeginTransaction
    rpcs.clear()
    assert sync("u:ann\nf:1:doc\nd:1:=5\n\n") == "F:2:doc\nd:1:=5\n\n"
    assert dict(rpcs) == first_poll  # the edit wrote its text through to the cache
    rpcs.clear()
    assert sync("u:ann\nf:2:doc\nd:2:=5\n\n") == "F:3:doc\nd:2:=5\n\n"
    assert dict(rpcs) == steady_poll
