"""The composition root: settings in, a ready ``SyncService`` out.

The one place that opens connections. It opens at most one shared cache
client, makes from it the buffers and the write-through cache (once each),
and hands them to the store and the service.
"""

from . import access, limits
from .service import SyncService
from .stores.cache import open_cache


def build_service(settings, store=None):
    """The service ``settings`` describe; ``store`` shares one already open
    (a second instance over the same data, as tests do)."""
    cache = open_cache(settings)
    store = store or open_store(settings, cache)
    buffers = cache.buffers() if cache is not None else store
    return SyncService(settings, store, buffers, cache, build_guard(settings, cache))


def build_guard(settings, cache=None):
    """Issue 12: the access policy, the token keys and the rate limiter."""
    keys = access.TokenKeys(settings.token_key, settings.token_key_previous) if settings.token_key else None
    limiter = limits.Limiter(settings, limits.open_counters(cache))
    return access.Guard(access.Policy.from_settings(settings), keys, limiter)


def open_store(settings, cache=None):
    """The backend ``settings.store`` names, its cache parts from ``cache``."""
    if settings.store == "memory":
        from .stores.memory import MemoryStore
        return MemoryStore()
    if settings.store == "sqlite":
        from .stores.sqlite import SqliteStore
        return SqliteStore(settings.sqlite_path)
    if settings.store == "datastore":
        from google.cloud import ndb

        from .stores.datastore import DatastoreStore
        client = ndb.Client(project=settings.project, namespace=settings.namespace or None)
        return DatastoreStore(client, settings.datastore_retries,
                              cache.view_cache(settings.timeout_view) if cache is not None else None)
    raise ValueError("MOBWRITE_STORE must be datastore, sqlite or memory, not %r" % settings.store)
