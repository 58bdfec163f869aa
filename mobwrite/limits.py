"""Per-client and per-document rate limits: fixed-window counters.

Counted in the shared cache when one is configured (Redis INCR+EXPIRE,
memcached incr/add), so every instance sees the same counts, else in this
process. Over a limit the request is refused whole with ``RateLimited``
(HTTP 429 with Retry-After) before anything is read or stored.
"""

import hashlib
import logging
import math
import threading
import time

from .logs import Throttled

log = logging.getLogger("mobwrite.limits")


class RateLimited(Exception):
    def __init__(self, what, retry_after):
        super().__init__("%s over its limit; retry after %d s" % (what, retry_after))
        self.what, self.retry_after = what, retry_after


class LocalCounters:
    """Counters in this process: a dict behind a lock, old windows dropped."""

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = {}
        self._slot = None

    def hit(self, keys, slot, ttl):
        with self._lock:
            if slot != self._slot:
                self._counts = {k: v for k, v in self._counts.items() if k.endswith(":%d" % slot)}
                self._slot = slot
            out = []
            for key in keys:
                self._counts[key] = self._counts.get(key, 0) + 1
                out.append(self._counts[key])
            return out


class RedisCounters:
    """One command however many counters a request hits (a pipeline of
    INCR and EXPIRE per key cost redis-py a command each to pack and parse)."""

    _HIT = """
    local out = {}
    for i, key in ipairs(KEYS) do
      out[i] = redis.call('INCR', key)
      if out[i] == 1 then redis.call('EXPIRE', key, ARGV[1]) end
    end
    return out
    """

    def __init__(self, client):
        self.client = client
        self._hit = client.register_script(self._HIT)

    def hit(self, keys, slot, ttl):
        return [int(n) for n in self._hit(keys=keys, args=[ttl])]


class MemcachedCounters:
    def __init__(self, client):
        self.client = client

    def hit(self, keys, slot, ttl):
        out = []
        for key in keys:
            value = self.client.incr(key, 1)  # None: no such key; a dead server raises (stores/cache.py)
            if value is None and self.client.add(key, b"1", expire=ttl, noreply=False):
                value = 1
            elif value is None:  # another instance added it first
                value = self.client.incr(key, 1) or 1
            out.append(int(value))
        return out


class FallbackCounters:
    """The shared counters, or this process's while the cache is unreachable:
    a limiter outage must not be an outage, nor a 500. Limits then hold per
    instance, which is looser but still a limit."""

    def __init__(self, shared, local=None):
        self.shared, self.local = shared, local or LocalCounters()
        self._warning = Throttled(log)

    def hit(self, keys, slot, ttl):
        try:
            return self.shared.hit(keys, slot, ttl)
        except Exception as exc:  # noqa: BLE001 - any cache failure: count here instead
            self._warning.warning("rate limits counted in this process: the cache is unreachable: %s", exc)
            return self.local.hit(keys, slot, ttl)


def open_counters(cache):
    """Counters in the shared cache ``cache`` (or None: in process)."""
    if cache is None:
        return LocalCounters()
    shared = RedisCounters(cache.client) if cache.kind == "redis" else MemcachedCounters(cache.client)
    return FallbackCounters(shared)


def _key(kind, ident, slot):
    # Hashed: user ids and names may hold anything; memcached keys may not.
    return "mw:rl:%s:%s:%d" % (kind, hashlib.sha1(ident.encode("utf-8", "replace")).hexdigest()[:24], slot)


class Limiter:
    """The limits of Settings (0 turns one off), over ``counters``."""

    def __init__(self, settings, counters):
        self.s, self.counters = settings, counters

    def _window(self, now):
        window = self.s.rate_window
        slot = int(now // window)
        return slot, math.ceil(window * (slot + 1) - now) or 1, int(window * 2)

    def check_client(self, ip, now=None):
        """One HTTP request from IP (b: fragments count one each)."""
        if not (ip and self.s.rate_ip):
            return
        slot, retry, ttl = self._window(time.time() if now is None else now)
        if self.counters.hit([_key("ip", ip, slot)], slot, ttl)[0] > self.s.rate_ip:
            raise RateLimited("client %s" % ip, retry)

    def check_request(self, actions, now=None, ip=None):
        """A parsed request: its size, its users' request rate and new
        names, its documents' edit rate; and, given ``ip``, the request as
        check_client counts it. Every counter is hit in one call to the
        cache (a second only when a user opens a document new to it)."""
        docs = set(a.doc for a in actions)
        if self.s.max_docs_per_request and len(docs) > self.s.max_docs_per_request:
            self.check_client(ip, now)
            raise RateLimited("a request of %d documents" % len(docs), 1)
        slot, retry, ttl = self._window(time.time() if now is None else now)
        checks = []  # (key, limit, what), in the order they are judged
        if ip and self.s.rate_ip:
            checks.append((_key("ip", ip, slot), self.s.rate_ip, "client %s" % ip))
        for user in dict.fromkeys(a.user for a in actions):
            checks.append((_key("user", user, slot), self.s.rate_user, "user %s" % user))
        for doc in dict.fromkeys(a.doc for a in actions if a.writes and not a.read_only):
            checks.append((_key("doc", doc, slot), self.s.rate_doc_edits, "edits of %r" % doc))
        checks = [c for c in checks if c[1]]
        pairs = list(dict.fromkeys((a.user, a.doc) for a in actions)) if self.s.max_names_per_user else []
        keys = [c[0] for c in checks] + [_key("pair", "%s\n%s" % p, slot) for p in pairs]
        if not keys:
            return
        counts = self.counters.hit(keys, slot, ttl)
        for (key, limit, what), count in zip(checks, counts):
            if count > limit:
                raise RateLimited(what, retry)
        # Documents one user id opens per window: each new (user, doc) pair counts.
        new_users = [user for (user, _), n in zip(pairs, counts[len(checks):]) if n == 1]
        if new_users:
            for user, count in zip(new_users, self.counters.hit([_key("names", u, slot) for u in new_users],
                                                                 slot, ttl)):
                if count > self.s.max_names_per_user:
                    raise RateLimited("user %s's document names" % user, retry)
