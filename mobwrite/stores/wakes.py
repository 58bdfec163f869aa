"""Wake boards (issue 11): where a document's latest wake token lives, and
how a process hears of a new one.

Every board has ``publish({doc: by}) -> {doc: wake}`` (after the text's
commit), ``current(docs) -> {doc: (wake, by)}``, ``listen(hub)`` (start
telling ``hub.seen``), ``healthy`` and ``close()``. A wake token is opaque
and new at every publish; ``by`` is the writer's public id.

- ``MemoryWakes``: one process (the memory store, tests).
- ``SqliteWakes``: a table in the SQLite file; each process checks
  ``PRAGMA data_version`` (no I/O when nothing was committed) every
  ``interval`` seconds and reads the watched documents' rows when it moved.
- ``RedisWakes``: keys plus one pub/sub channel; a subscriber per process.
- ``MemcachedWakes``: keys only (memcached has no pub/sub); each process
  reads the watched documents' keys every ``interval`` seconds.
"""

import hashlib
import logging
import os
import sqlite3
import threading
import time

log = logging.getLogger("mobwrite.push")
KEEP = 2 * 24 * 3600  # seconds a wake token outlives its last edit (a text lives 1 day idle)


def new_wake():
    return "%x%s" % (time.time_ns(), os.urandom(3).hex())


def _daemon(target, name):
    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


class MemoryWakes:
    healthy = True

    def __init__(self):
        self._entries = {}

    def publish(self, writers):
        wakes = {doc: new_wake() for doc in writers}
        for doc, wake in wakes.items():
            self._entries[doc] = (wake, writers[doc])
        return wakes  # the hub tells its own waiters; there is no other process

    def current(self, docs):
        return {doc: self._entries[doc] for doc in docs if doc in self._entries}

    def listen(self, hub):
        pass

    def close(self):
        pass


class _Board:
    """What every board across processes shares: whether it works now, and
    telling the hub when that changes."""

    BACK = "push: wake board back"

    def __init__(self):
        self.healthy = True
        self._stop = threading.Event()

    def _set_healthy(self, hub, healthy):
        if healthy != self.healthy:
            self.healthy = healthy
            if healthy:
                log.info(self.BACK)
            hub.release_all()  # wake-ups may have been missed: every wait re-arms (or polls, while it is down)

    def close(self):
        self._stop.set()


class _Checker(_Board):
    """A polling board's loop: every ``interval`` s, read the hub's watched
    documents through ``current(docs)`` when ``moved()`` says something changed."""

    def __init__(self, interval):
        super().__init__()
        self.interval = interval

    def listen(self, hub):
        _daemon(lambda: self._run(hub), "mobwrite-wake-checker")

    def _run(self, hub):
        while not self._stop.wait(self.interval):
            docs = hub.watched()
            try:
                if not self.moved() or not docs:
                    self._set_healthy(hub, True)
                    continue
                for doc, (wake, by) in self.current(docs).items():
                    hub.seen(doc, wake, by)
                self._set_healthy(hub, True)
            except Exception as exc:  # noqa: BLE001 - down: waits answer "poll" until it is back
                if self.healthy:
                    log.warning("push: wake board unreachable: %s", exc)
                self._set_healthy(hub, False)

    def moved(self):
        return True


class SqliteWakes(_Checker):
    SCHEMA = "CREATE TABLE IF NOT EXISTS wakes (doc TEXT PRIMARY KEY, wake TEXT NOT NULL, by TEXT NOT NULL, updated REAL NOT NULL)"

    def __init__(self, store, interval=0.025):
        super().__init__(interval)
        self.store = store
        self._version = None
        self._watcher = None  # the checker's own connection: data_version is per connection
        with store.transaction() as db:
            db.execute(self.SCHEMA)
        self._publishes = 0

    def publish(self, writers):
        wakes = {doc: new_wake() for doc in writers}
        now = time.time()
        with self.store.transaction(immediate=True) as db:
            db.executemany("INSERT INTO wakes VALUES (?, ?, ?, ?) ON CONFLICT(doc) DO UPDATE SET "
                           "wake = excluded.wake, by = excluded.by, updated = excluded.updated",
                           [(doc, wake, writers[doc], now) for doc, wake in wakes.items()])
            self._publishes += 1
            if self._publishes % 1000 == 0:
                db.execute("DELETE FROM wakes WHERE updated < ?", (now - KEEP,))
        return wakes

    def current(self, docs):
        found = {}
        with self.store.transaction() as db:
            for start in range(0, len(docs), 500):
                chunk = docs[start:start + 500]
                rows = db.execute("SELECT doc, wake, by FROM wakes WHERE doc IN (%s)" % ",".join("?" * len(chunk)),
                                  chunk)
                found.update((doc, (wake, by)) for doc, wake, by in rows)
        return found

    def moved(self):
        if self._watcher is None:
            self._watcher = sqlite3.connect(self.store.path, timeout=5, isolation_level=None)
        version = self._watcher.execute("PRAGMA data_version").fetchone()[0]
        moved, self._version = version != self._version, version
        return moved


def _scope_hash(scope):
    return hashlib.sha1(scope.encode("utf-8")).hexdigest()[:12]


def _key(prefix, doc):
    return prefix + hashlib.sha1(doc.encode("utf-8")).hexdigest()


class MemcachedWakes(_Checker):
    def __init__(self, client, scope, interval=0.05):
        super().__init__(interval)
        self.client = client
        self.prefix = "mw:wake:%s:" % _scope_hash(scope)

    def publish(self, writers):
        wakes = {doc: new_wake() for doc in writers}
        self.client.set_many({_key(self.prefix, doc): ("%s %s" % (wake, writers[doc])).encode()
                              for doc, wake in wakes.items()}, expire=KEEP)
        return wakes

    def current(self, docs):
        keys = {_key(self.prefix, doc): doc for doc in docs}
        found = self.client.get_many(list(keys))
        return {keys[k]: tuple(v.decode().split(" ", 1)) for k, v in found.items()}


class RedisWakes(_Board):
    """Keys for ``current``, and one channel per deployment for ``listen``."""

    BACK = "push: Redis subscription back"

    def __init__(self, client, scope, ping=15.0):
        super().__init__()
        self.client = client
        self.prefix = "mw:wake:%s:" % _scope_hash(scope)
        self.channel = self.prefix + "channel"
        self.ping = ping
        self._subscribed = threading.Event()

    def publish(self, writers):
        wakes = {doc: new_wake() for doc in writers}
        pipe = self.client.pipeline(transaction=False)
        for doc, wake in wakes.items():
            value = "%s %s" % (wake, writers[doc])
            pipe.set(_key(self.prefix, doc), value, ex=KEEP)
            pipe.publish(self.channel, "%s %s" % (value, doc))
        pipe.execute()
        return wakes

    def current(self, docs):
        keys = [_key(self.prefix, doc) for doc in docs]
        values = self.client.mget(keys)
        return {doc: tuple(v.decode().split(" ", 1)) for doc, v in zip(docs, values) if v is not None}

    def listen(self, hub):
        _daemon(lambda: self._run(hub), "mobwrite-wake-subscriber")
        self._subscribed.wait(2.0)  # so the first waits hear what is published after they read the keys

    def _run(self, hub):
        pause = 0.2
        while not self._stop.is_set():
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.channel)
                pubsub.get_message(timeout=1.0)  # the subscription's confirmation: it is live from here
                self._set_healthy(hub, True)
                self._subscribed.set()
                pause = 0.2
                pinged = time.monotonic()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        wake, by, doc = message["data"].decode("utf-8").split(" ", 2)
                        hub.seen(doc, wake, by)
                    if time.monotonic() - pinged > self.ping:  # a silent network would never raise
                        pubsub.ping()
                        pinged = time.monotonic()
            except Exception as exc:  # noqa: BLE001 - down: waits answer "poll" until it is back
                if self.healthy:
                    log.warning("push: Redis subscription lost: %s", exc)
                self._set_healthy(hub, False)
                self._stop.wait(pause)
                pause = min(pause * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except Exception:  # noqa: BLE001 - closing a dead connection
                    pass
