"""Where texts, views and buffer fragments live, behind one small interface.

``Store`` is the whole contract; ``open_store`` picks a backend by name.
"""

import time


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

    def write_views(self, outcome):
        """Save the outcome's views and deletions (used when no text changed).
        Only shadows in ``outcome.new_shadows`` differ from what is stored;
        a store may skip rewriting the others."""
        raise NotImplementedError

    def transact(self, view_keys, docs, run):
        """Read, call ``run(views, texts) -> Outcome``, write the outcome's
        texts and views, all atomically; retried on conflict. Returns the
        outcome of the attempt that committed."""
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


def now():
    return time.time()


def open_store(settings):
    """The backend ``settings.store`` names, configured from ``settings``."""
    if settings.store == "memory":
        from .memory import MemoryStore
        return MemoryStore()
    if settings.store == "sqlite":
        from .sqlite import SqliteStore
        return SqliteStore(settings.sqlite_path)
    if settings.store == "datastore":
        from .datastore import DatastoreStore
        return DatastoreStore.from_settings(settings)
    raise ValueError("MOBWRITE_STORE must be datastore, sqlite or memory, not %r" % settings.store)
