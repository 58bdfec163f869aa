"""Views written through to the shared cache, so an idle poll reads its view
without a Datastore round trip.

ndb's global cache cannot serve views: it drops an entity when it is written,
and every sync rewrites its view. Here a writer locks the entry before it
commits and, after the commit, swaps its own lock for the new value (or
deletes the entry if the lock is no longer its own). A reader that misses
leaves a placeholder, reads Datastore, and fills the entry only if its
placeholder is still there, so a value read before a write can never land
after it. Stores still read views inside their transactions from Datastore.
"""

import os

_PREFIX = "mobwrite:view:"
LOCK_SECONDS = 120  # longer than any Datastore call may take


def _token():
    return os.urandom(8).hex()


class RedisViewCache:
    # Each script is one atomic step; a pipeline sends one per key in one round trip.
    _GET_OR_HOLD = "local v = redis.call('GET', KEYS[1]) if v then return v end " \
                   "redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return false"
    _SWAP = "if redis.call('GET', KEYS[1]) == ARGV[1] then " \
            "if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) end " \
            "return 1 end return 0"

    def __init__(self, redis, ttl):
        self.redis, self.ttl = redis, int(ttl)
        self._shas = {}

    def _run(self, script, calls):
        """One EVALSHA per (key, args), pipelined: a single round trip. (redis-py's
        Script objects would ask SCRIPT EXISTS first, every time.)"""
        if not calls:
            return []
        from redis.exceptions import NoScriptError  # here, so the memcached path needs no redis installed

        for attempt in (1, 2):
            sha = self._shas.get(script) or self._shas.setdefault(script, self.redis.script_load(script))
            pipe = self.redis.pipeline(transaction=False)
            for key, args in calls:
                pipe.evalsha(sha, 1, key, *args)
            try:
                return pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
                self._shas.clear()  # the server lost its scripts (restart, SCRIPT FLUSH): load again
        return []

    def get(self, names):
        """Cached values by name; for each miss, a placeholder token to fill()."""
        tokens = {name: b"P" + _token().encode() for name in names}
        results = self._run(self._GET_OR_HOLD, [(_PREFIX + name, (tokens[name], LOCK_SECONDS)) for name in names])
        found, holds = {}, {}
        for name, value in zip(names, results):
            if value is None:
                holds[name] = tokens[name]
            elif value[:1] == b"V":
                found[name] = value[1:]
        return found, holds

    def fill(self, values, holds):
        self._swap_many({name: (holds[name], b"V" + value) for name, value in values.items() if name in holds})

    def lock(self, names):
        tokens = {name: b"L" + _token().encode() for name in names}
        pipe = self.redis.pipeline(transaction=False)
        for name, token in tokens.items():
            pipe.set(_PREFIX + name, token, ex=LOCK_SECONDS)
        pipe.execute()
        return tokens

    def release(self, locks, values):
        """After a commit: our lock becomes the committed value (None: gone);
        an entry someone else has touched since is dropped, never trusted."""
        results = self._swap_many({name: (token, b"V" + values[name] if values.get(name) is not None else b"")
                                   for name, token in locks.items()})
        lost = [_PREFIX + name for name, swapped in results.items() if not swapped]
        if lost:
            self.redis.delete(*lost)

    def refresh(self, changes):
        """Replace values that proved older than Datastore's ({name: (old, new)}),
        where the old value still stands."""
        self._swap_many({name: (b"V" + old, b"V" + new) for name, (old, new) in changes.items()})

    def forget(self, names):
        if names:
            self.redis.delete(*[_PREFIX + name for name in names])

    def _swap_many(self, swaps):
        calls = [(_PREFIX + name, (expected, new, self.ttl)) for name, (expected, new) in swaps.items()]
        return dict(zip(swaps, self._run(self._SWAP, calls)))


class MemcachedViewCache:
    """The same protocol on memcached, with gets/cas for the compare-and-swap."""

    def __init__(self, client, ttl):
        self.client, self.ttl = client, int(ttl)

    def get(self, names):
        keys = {name: _PREFIX + name for name in names}
        got = self.client.get_many(list(keys.values()))
        found, holds = {}, {}
        for name, key in keys.items():
            value = got.get(key)
            if value is not None:
                if value[:1] == b"V":
                    found[name] = value[1:]
                continue
            token = b"P" + _token().encode()
            if self.client.add(key, token, expire=LOCK_SECONDS, noreply=False):
                holds[name] = token
        return found, holds

    def fill(self, values, holds):
        for name, value in values.items():
            if name in holds:
                self._swap(_PREFIX + name, holds[name], b"V" + value)

    def lock(self, names):
        tokens = {name: b"L" + _token().encode() for name in names}
        self.client.set_many({_PREFIX + name: token for name, token in tokens.items()},
                             expire=LOCK_SECONDS, noreply=False)
        return tokens

    def release(self, locks, values):
        for name, token in locks.items():
            key, value = _PREFIX + name, values.get(name)
            if not self._swap(key, token, b"V" + value if value is not None else None):
                self.client.delete(key, noreply=False)

    def refresh(self, changes):
        for name, (old, new) in changes.items():
            self._swap(_PREFIX + name, b"V" + old, b"V" + new)

    def forget(self, names):
        if names:
            self.client.delete_many([_PREFIX + name for name in names], noreply=False)

    def _swap(self, key, expected, new):
        current, cas_token = self.client.gets(key)
        if current != expected:
            return False
        if new is None:
            return self.client.delete(key, noreply=False)
        return bool(self.client.cas(key, new, cas_token, expire=self.ttl, noreply=False))
