"""Buffer fragments in the shared cache, so every instance sees them.

Both keep the contract of ``Store.add_fragment``: a repeated index is
ignored, and exactly one caller (the one whose fragment completes the
buffer) gets the pieces back.
"""

import hashlib
import logging

log = logging.getLogger("mobwrite.store")
_PREFIX = "mobwrite:buffer:"


class FallbackBuffers:
    """The cache's buffers, or the store's while the cache is unreachable, so
    a fragmented request still goes through during a cache outage. A buffer
    whose fragments straddle the outage never completes; it expires, and the
    client, having no answer, sends its edits again."""

    def __init__(self, cache_buffers, store):
        self.cache_buffers, self.store = cache_buffers, store

    def add_fragment(self, fragment, ttl):
        try:
            return self.cache_buffers.add_fragment(fragment, ttl)
        except Exception as exc:  # noqa: BLE001 - any cache failure: the store keeps it
            log.warning("cache unreachable for buffer %s (%s): kept in the store", fragment.id, exc)
            return self.store.add_fragment(fragment, ttl)


class RedisBuffers:
    def __init__(self, redis):
        self.redis = redis

    def add_fragment(self, fragment, ttl):
        key = "%s%s:%d" % (_PREFIX, fragment.id, fragment.size)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hsetnx(key, fragment.index, fragment.data)
        pipe.expire(key, int(ttl), nx=True)
        pipe.hlen(key)
        added, _, count = pipe.execute()
        if not added or count < fragment.size:
            return None
        pieces = self.redis.hgetall(key)
        self.redis.delete(key)
        return [pieces[str(i).encode()].decode() for i in range(1, fragment.size + 1)]


class MemcachedBuffers:
    """memcached has no hashes: one key a piece, and an atomic counter."""

    def __init__(self, client):
        self.client = client

    def add_fragment(self, fragment, ttl):
        base = "%s%s:%d" % (_PREFIX, _safe(fragment.id), fragment.size)
        ttl = int(ttl)
        if not self.client.add("%s:%d" % (base, fragment.index), fragment.data.encode(), expire=ttl, noreply=False):
            return None  # a repeated fragment
        self.client.add(base + ":n", b"0", expire=ttl, noreply=False)
        if int(self.client.incr(base + ":n", 1) or 0) < fragment.size:
            return None
        keys = ["%s:%d" % (base, i) for i in range(1, fragment.size + 1)]
        found = self.client.get_many(keys)
        self.client.delete_many(keys + [base + ":n"], noreply=False)
        if len(found) < fragment.size:
            return None  # a piece expired or was evicted; the client will resend
        return [found[k].decode() for k in keys]


def _safe(text):
    """memcached keys: no spaces or control characters, at most 250 bytes."""
    raw = text.encode("utf-8")
    return raw.hex() if len(raw) <= 64 else hashlib.sha256(raw).hexdigest()
