"""Everything that holds data, behind small interfaces.

- ``Store``: texts and views (and buffer fragments when no cache is set);
  backends ``memory``, ``sqlite``, ``datastore``.
- ``Buffers``: where ``b:`` fragments wait (``buffers``: Redis, memcached;
  or the store itself).
- ``ViewCache``: views written through to the cache (``viewcache``), so an
  idle poll skips a Datastore read.
``cache.open_cache`` opens the one shared cache these come from;
``mobwrite.wiring`` puts them together.
"""

import time
from typing import Protocol


class StoreUnavailable(Exception):
    """The store could not serve the request now (contention, timeout); the
    client may retry, and nothing was written."""


class Store:
    """What the sync service needs from storage.

    Keys: a view is keyed by (user, doc); a text by doc. Views are ``View``
    values (see ``engine``); a text is a str, and a missing text is None.
    """

    def read(self, view_keys, docs):
        """A snapshot ``(views, texts)`` outside any transaction (cacheable)."""
        raise NotImplementedError

    def poll(self, view_keys, docs, run):
        """The cheap path of a sync that may not change a text: ``run`` over
        a cacheable read, then only views saved. None when the outcome would
        change a text, or the read proved stale: the caller then runs it
        through ``transact``."""
        outcome = run(*self.read(view_keys, docs))
        if outcome.changes_text:
            return None
        self.write_views(outcome)
        return outcome

    def write_views(self, outcome):
        """Save the outcome's views and deletions (used when no text changed).
        Only shadows in ``outcome.new_shadows`` differ from what is stored;
        a store may skip rewriting the others."""
        raise NotImplementedError

    def transact(self, view_keys, docs, run, history=None):
        """Read, call ``run(views, texts) -> Outcome``, write the outcome's
        texts and views, all atomically; retried on conflict. Returns the
        outcome of the attempt that committed. With ``history`` (a
        ``history.Recorder``) the documents' history heads are read in the
        same batch and the snapshots it plans written in the same commit."""
        raise NotImplementedError

    # -- history (issue 13): snapshots of texts, see mobwrite/history.py --

    def history_list(self, doc):
        """The document's snapshots, oldest first: [{id, time, size, users, note}]."""
        raise NotImplementedError

    def history_get(self, doc, seq):
        """One snapshot (``history.Snapshot``), or None."""
        raise NotImplementedError

    def history_prune(self, policy, now):
        """Delete the snapshots ``policy.prune`` retires; returns how many."""
        raise NotImplementedError

    def presence_exchange(self, writes, docs, now):
        """Presence entries without a shared cache (see mobwrite/presence.py):
        apply ``writes`` {doc: {id: entry or None}}; return {doc: {id: entry}}."""
        raise NotImplementedError

    def add_fragment(self, fragment, ttl):
        """Keep one buffer fragment; when it completes its buffer, delete the
        buffer and return its DATA pieces in index order, else None."""
        raise NotImplementedError

    def cleanup(self, view_cutoff, text_cutoff, buffer_cutoff):
        """Delete views, texts and buffers idle since these epoch times
        (a text only once no view of it remains). Returns counts."""
        raise NotImplementedError

    def close(self):
        pass


class Buffers(Protocol):
    def add_fragment(self, fragment, ttl):
        """Keep one fragment; the DATA pieces in index order from the one call
        whose fragment completes the buffer (which is then deleted), else None.
        A repeated index is ignored."""


class ViewCache(Protocol):
    """A write-through cache of encoded views, safe against stale fills."""

    def get(self, names):
        """``(found, holds)``: cached values by name, and for each miss a
        placeholder token that ``fill`` needs."""

    def fill(self, values, holds):
        """Store values read from the store, where our placeholder still stands."""

    def lock(self, names):
        """Lock entries before a write; returns the lock tokens."""

    def release(self, locks, values):
        """After a write: swap our locks for the committed values (None: drop)."""

    def refresh(self, changes):
        """Swap ``{name: (old, new)}`` values where the old one still stands."""

    def forget(self, names):
        """Delete entries (stale ones, or ones written while the cache was away)."""


def now():
    return time.time()
