"""The write-through cache as the Datastore store uses it, through outages.

Redis or memcached going away must cost speed, not syncs. While the cache
is unreachable every call here answers at once as if it were empty (reads
go to Datastore, writes commit without locking), the cache is not tried
again for ``retry`` seconds, and the names written meanwhile are kept.
The first call that reaches the cache again deletes those entries before
anything else, since they may hold what was there before those commits.

What this cannot clean (a process killed during an outage, or another
instance that never lost the cache) is made safe by the store itself:
a cached view is only ever written back on the condition that Datastore
still holds the version it was read at (``DatastoreStore.poll``).
"""

import logging
import threading
import time

log = logging.getLogger("mobwrite.store")

MAX_DIRTY = 100_000  # names kept for cleaning; past it, entries age out (their TTL) instead


class GuardedCache:
    def __init__(self, cache, retry=1.0, clock=time.monotonic):
        self.cache, self.retry, self.clock = cache, retry, clock
        self.down_since = None   # clock() when the outage began, or None
        self.skipped = 0         # syncs that went on without the cache, in all
        self._next_try = 0.0
        self._dirty = set()
        self._lock = threading.Lock()

    @property
    def up(self):
        return self.down_since is None

    def get(self, names):
        """``(found, holds)`` as the cache's get; nothing found while it is down."""
        return self._call(lambda: self.cache.get(names), ({}, {}))

    def fill(self, values, holds):
        self._call(lambda: self.cache.fill(values, holds), None)

    def lock(self, names):
        """Lock entries before a commit; None while the cache is down, and
        the names are then remembered, to be deleted once it is back."""
        locks = self._call(lambda: self.cache.lock(names), None)
        if locks is None:
            with self._lock:
                self.skipped += 1
                if len(self._dirty) < MAX_DIRTY:
                    self._dirty.update(names)
        return locks

    def release(self, locks, values):
        if locks is not None and self._call(lambda: self.cache.release(locks, values), False) is False:
            with self._lock:  # our locks stand (they expire); clean them once the cache answers
                if len(self._dirty) < MAX_DIRTY:
                    self._dirty.update(locks)

    def refresh(self, changes):
        """Replace values that proved older than Datastore's (best effort)."""
        self._call(lambda: self.cache.refresh(changes), None)

    def forget(self, names):
        """Delete entries that proved stale (best effort: a fresh read wins anyway)."""
        self._call(lambda: self.cache.forget(names), None)

    def _call(self, operation, fallback):
        if self.down_since is not None and self.clock() < self._next_try:
            return fallback
        try:
            self._clean()
            result = operation()
        except Exception as exc:  # noqa: BLE001 - any cache failure: go on from Datastore alone
            self._went_down(exc)
            return fallback
        if self.down_since is not None:
            self._came_back()
        return result

    def _clean(self):
        """Before anything else reaches a cache that was away: drop the
        entries written past it (they may be older than Datastore)."""
        if not self._dirty:
            return
        with self._lock:
            names, self._dirty = list(self._dirty), set()
        try:
            self.cache.forget(names)
        except Exception:
            with self._lock:
                self._dirty.update(names)
            raise
        log.info("cache: %d entries written while it was away deleted", len(names))

    def _went_down(self, exc):
        now = self.clock()
        self._next_try = now + self.retry
        if self.down_since is None:
            self.down_since = now
            log.warning("cache unreachable (%s): syncing from Datastore alone, trying it again every %.1f s",
                        exc, self.retry)

    def _came_back(self):
        log.warning("cache back after %.1f s; %d syncs so far went on without it",
                    self.clock() - self.down_since, self.skipped)
        self.down_since = None
