"""Where presence entries live (see mobwrite/presence.py): in the shared
cache when there is one, so reading who is here costs no store round trip;
``exchange(writes, docs, now)`` in one cache round trip where it can.

Entries expire on their own: a document's key outlives its last write by
``KEEP`` seconds, and readers drop entries older than the presence timeout.
"""

import hashlib
import json

_PREFIX = "mobwrite:presence:"
KEEP = 120


class _Scoped:
    """Keys per deployment: several (a project and namespace each, or a test
    each) may share one cache."""

    def __init__(self, client, scope):
        self.client, self.scope = client, scope

    def _key(self, doc):
        return _PREFIX + hashlib.sha256(("%s\0%s" % (self.scope, doc)).encode("utf-8")).hexdigest()


class RedisPresence(_Scoped):
    """A hash per document, field = public id; one pipeline per exchange."""

    def exchange(self, writes, docs, now):
        _key = self._key
        pipe = self.client.pipeline(transaction=False)
        for doc, entries in writes.items():
            gone = [pid for pid, e in entries.items() if e is None]
            kept = {pid: json.dumps(e) for pid, e in entries.items() if e is not None}
            if gone:
                pipe.hdel(_key(doc), *gone)
            if kept:
                pipe.hset(_key(doc), mapping=kept)
                pipe.expire(_key(doc), KEEP)
        for doc in docs:
            pipe.hgetall(_key(doc))
        results = pipe.execute() if (writes or docs) else []
        read = results[len(results) - len(docs):] if docs else []
        return {doc: {k.decode(): json.loads(v) for k, v in raw.items()} for doc, raw in zip(docs, read)}


class MemcachedPresence(_Scoped):
    """A JSON map per document, changed with gets/cas (a lost race is healed
    by the writer's next refresh)."""

    def exchange(self, writes, docs, now):
        _key = self._key
        for doc, entries in writes.items():
            for _ in range(3):
                raw, cas = self.client.gets(_key(doc))
                current = merge(json.loads(raw) if raw else {}, entries, now)
                value = json.dumps(current).encode()
                if raw is None:
                    if self.client.add(_key(doc), value, expire=KEEP, noreply=False):
                        break
                elif self.client.cas(_key(doc), value, cas, expire=KEEP, noreply=False):
                    break
        got = self.client.get_many([_key(doc) for doc in docs]) if docs else {}
        return {doc: json.loads(got[_key(doc)]) if got.get(_key(doc)) else {} for doc in docs}


def merge(current, entries, now):
    """``current`` with ``entries`` applied (None deletes) and long-stale ones dropped."""
    current = {pid: e for pid, e in current.items() if now - e["seen"] < KEEP}
    for pid, entry in entries.items():
        if entry is None:
            current.pop(pid, None)
        else:
            current[pid] = entry
    return current
