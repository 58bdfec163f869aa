"""The one shared cache a process talks to: Redis, memcached, or none.

This is the only place that decides between them. Each ``SharedCache``
holds a single client (one connection pool) and makes from it everything
that lives in the cache: buffer fragments, the view cache and ndb's global
cache, so one process opens one Redis client or one memcached pool.
"""

from .buffers import MemcachedBuffers, RedisBuffers
from .presence_boards import MemcachedPresence, RedisPresence
from .viewcache import MemcachedViewCache, RedisViewCache


class RedisShared:
    kind = "redis"

    def __init__(self, url):
        import redis
        self.client = redis.Redis.from_url(url)

    def buffers(self):
        return RedisBuffers(self.client)

    def view_cache(self, ttl):
        return RedisViewCache(self.client, ttl)

    def presence(self, scope):
        return RedisPresence(self.client, scope)

    def ndb_cache(self):
        from google.cloud import ndb
        return ndb.RedisCache(self.client)

    def close(self):
        self.client.close()


class MemcachedShared:
    kind = "memcached"

    def __init__(self, hosts):
        from pymemcache.client.hash import HashClient
        self.client = HashClient(memcached_servers(hosts), use_pooling=True, max_pool_size=8)

    def buffers(self):
        return MemcachedBuffers(self.client)

    def view_cache(self, ttl):
        return MemcachedViewCache(self.client, ttl)

    def presence(self, scope):
        return MemcachedPresence(self.client, scope)

    def ndb_cache(self):
        from google.cloud import ndb
        return ndb.MemcacheCache(self.client)

    def close(self):
        self.client.close()


def open_cache(settings):
    """The cache ``settings`` name (Redis wins if both are set), or None."""
    if settings.redis_url:
        return RedisShared(settings.redis_url)
    if settings.memcached_hosts:
        return MemcachedShared(settings.memcached_hosts)
    return None


def memcached_servers(hosts):
    """``host:port`` items, separated by commas or spaces, as (host, port) pairs."""
    servers = []
    for host in hosts.replace(",", " ").split():
        name, _, port = host.partition(":")
        servers.append((name, int(port or 11211)))
    return servers
