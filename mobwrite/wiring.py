"""The composition root: settings in, a ready ``SyncService`` out.

The one place that opens connections. It opens at most one shared cache
client, makes from it the buffers and the write-through cache (once each),
and hands them to the store and the service.
"""

from . import access, limits, push, serving
from .history import DAY, HistoryPolicy
from .presence import Presence
from .service import SyncService
from .stores.buffers import FallbackBuffers
from .stores.cache import open_cache


def build_service(settings, store=None):
    """The service ``settings`` describe; ``store`` shares one already open
    (a second instance over the same data, as tests do)."""
    cache = open_cache(settings)
    store = store or open_store(settings, cache)
    buffers = FallbackBuffers(cache.buffers(), store) if cache is not None else store
    service = SyncService(settings, store, buffers, cache, build_guard(settings, cache))
    # Issue 13: history and presence, handed in like everything else.
    service.history = history_policy(settings) if settings.history else None
    scope = "%s\0%s\0%s" % (settings.store, settings.project, settings.namespace or settings.sqlite_path)
    service.push = build_hub(settings, cache, store, scope)
    if settings.presence:
        exchange = cache.presence(scope).exchange if cache is not None else store.presence_exchange
        service.presence = Presence(exchange, settings.presence_timeout, settings.presence_refresh)
    return service


def build_hub(settings, cache, store, scope):
    """Issue 11: the wake-up hub over the board this deployment can fan out
    on, or None (push off, or Datastore with no cache: pages poll as before)."""
    if not settings.push:
        return None
    from .stores import wakes
    if cache is not None and cache.kind == "redis":
        board = wakes.RedisWakes(cache.client, scope)
    elif settings.store == "sqlite":
        board = wakes.SqliteWakes(store, settings.push_check)
    elif cache is not None:
        board = wakes.MemcachedWakes(cache.client, scope, max(settings.push_check, 0.05))
    elif settings.store == "memory":
        board = wakes.MemoryWakes()
    else:
        return None
    waiters = settings.push_waiters
    if waiters < 0:  # a held wait must not hold one of a few threads; greenlets are cheap
        waiters = 1000 if serving.cooperative() else 0
    return push.Hub(board, settings.push_timeout, waiters)


def build_guard(settings, cache=None):
    """Issue 12: the access policy, the token keys and the rate limiter."""
    keys = access.TokenKeys(settings.token_key, settings.token_key_previous) if settings.token_key else None
    limiter = limits.Limiter(settings, limits.open_counters(cache))
    return access.Guard(access.Policy.from_settings(settings), keys, limiter)


def history_policy(settings):
    return HistoryPolicy(settings.history_interval, settings.history_max_change,
                         keep_all=settings.history_keep_all_days * DAY,
                         keep_daily=settings.history_keep_daily_days * DAY)


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

        from .stores.cacheguard import GuardedCache
        from .stores.datastore import DatastoreStore
        from .stores.datastore_rpc import make_stub
        client = ndb.Client(project=settings.project, namespace=settings.namespace or None)
        client.stub.grpc_channel.close()  # ndb's own, not yet connected: the same stub, but
        client.stub = make_stub(client)   # reconnecting within a second after an outage
        guarded = GuardedCache(cache.view_cache(settings.timeout_view), settings.cache_retry) if cache else None
        return DatastoreStore(client, settings.datastore_retries, guarded, settings.datastore_transport)
    raise ValueError("MOBWRITE_STORE must be datastore, sqlite or memory, not %r" % settings.store)
