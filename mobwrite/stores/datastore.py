"""Cloud Datastore: the sync path as raw protobuf calls (``datastore_rpc``,
on ndb's gRPC channel or over HTTP/1.1), the rest through google-cloud-ndb,
and texts and views written through to the cache.

One request costs: an idle poll, one Commit of its view when the view and
the text are in the cache (plus one Lookup of what is not); an edit, two
round trips (a Lookup that begins the transaction, and one Commit of texts
and views together). ndb's models in ``datastore_ndb`` define what is
stored; ndb itself runs the queries (cleanup, history) and keeps buffers and
presence when there is no cache. History heads are read in the transaction's
Lookup and snapshots written in its Commit: no extra round trip.

ndb's global cache is not used: it drops an entity whenever the entity is
written, and here every edit writes its text and every sync its view, so
the next read would always miss. The write-through cache (``viewcache``)
keeps what was committed instead.
"""

import contextlib
import datetime
import hashlib
import logging
import random
import time

from google.api_core import exceptions as api_exceptions
from google.cloud import ndb

from ..history import Head, pack
from . import Store, StoreUnavailable, datastore_ndb, history_ndb
from .datastore_ndb import key_name as _key_name
from .datastore_entries import (ENTRY_FORM, NO_TEXT, committed_entries, decode_view, encode_view, entry,
                                texts_of, version_of)
from .datastore_rpc import Blob, Conflict, Json, Rpc, Stale, Text as TextValue, entity, string

log = logging.getLogger("mobwrite.store")

_UTC = datetime.timezone.utc


def _text_name(doc):
    return _key_name("t:", doc)


def _view_name(user, doc):
    return _key_name("v:", "%s\n%s" % (user, doc))


def _now():
    return datetime.datetime.now(_UTC)


class DatastoreStore(Store):
    # Contended transactions run again after a short random pause (doubling);
    # after ``retries`` more attempts the request is a 503 the client retries.
    def __init__(self, client, retries, cache=None, transport="grpc"):
        self.client = client  # ndb's: its models and channel do the rest (queries, cleanup)
        self.rpc = Rpc(client, transport=transport)
        self.retries = retries
        self.cache = cache

    # -- the sync path --------------------------------------------------------

    def read(self, view_keys, docs):
        return self._read(self._wanted(view_keys, docs))[:2]

    def poll(self, view_keys, docs, run):
        """An idle poll: the views as read (cache or Lookup) are written back
        only where Datastore still holds the version they were read at, so
        a stale cache entry can never roll a view back; if one was stale,
        None, and the sync runs again in a transaction."""
        wanted = self._wanted(view_keys, docs)
        views, texts, versions = self._read(wanted)
        outcome = run(views, texts)
        if outcome.changes_text:
            return None
        try:
            self._write_views(outcome, versions)
        except Stale as stale:  # nothing committed through: _written_through has dropped the entries
            log.info("cached views older than Datastore (%s); syncing in a transaction", stale)
            return None
        return outcome

    def write_views(self, outcome):
        self._write_views(outcome, None)

    def _write_views(self, outcome, versions):
        """Commit the outcome's views; with ``versions`` (key name -> version
        read, 0 absent), each only over the version it was read at."""
        views = {_view_name(*key): (key, view) for key, view in outcome.views.items()}
        gone = [_view_name(*key) for key in outcome.deleted_views]
        expect = None if versions is None else {name: versions.get(name, 0) for name in list(views) + gone}
        with _unavailable_on_error(), self._written_through(list(views) + gone) as committed:
            stamp = _now()
            written = self.rpc.commit([self._view_entity(name, key[1], view, stamp)
                                       for name, (key, view) in views.items()],
                                      [self._key(name) for name in gone], expect=expect)
            committed.update({name: encode_view(view, written[name]) for name, (_, view) in views.items()})

    def _read(self, wanted):
        """``(views, texts, versions of the views)``, from the cache where it
        holds them. A document whose view is not cached has its text read
        from Datastore too, and the cached text brought up to it: a view
        must never be newer than the text cached beside it, or a poll would
        answer it with a diff back to the older text."""
        with _unavailable_on_error():
            found, holds = self._cache_get(wanted)
            missing = [name for name in wanted if name not in found]
            missing += [name for name in texts_of(wanted, missing, _text_name) if name not in missing]
            if missing:
                versions = {}
                entities, _ = self.rpc.lookup([self._key(name) for name in missing], versions=versions)
                looked_up = {name: entry(name, entities.get(name), versions.get(name, 0)) for name in missing}
                behind = {n: (found[n], value) for n, value in looked_up.items() if n in found and found[n] != value}
                found.update(looked_up)
                self._cache_fill(looked_up, holds, behind)
        views, texts = self._decode(wanted, found)
        return views, texts, {name: version_of(found[name]) for name, (kind, _) in wanted.items()
                              if kind == "View" and found[name] is not None}

    def transact(self, view_keys, docs, run, history=None):
        wanted = self._wanted(view_keys, docs)
        heads = {_key_name("h:", doc): doc for doc in docs} if history is not None else {}
        keys = [self._key(name) for name in wanted] + [self.rpc.key("HistoryHead", name) for name in heads]
        with _unavailable_on_error(), self._written_through(list(wanted)) as committed:
            for attempt in range(self.retries + 1):
                transaction = b""
                try:
                    versions = {}
                    entities, transaction = self.rpc.lookup(keys, begin=True, versions=versions)  # heads too
                    entries = {name: entry(name, entities.get(name), versions.get(name, 0)) for name in wanted}
                    views, texts = self._decode(wanted, entries)
                    outcome = run(views, texts)
                    upserts, deletes = self._mutations(wanted, outcome)
                    if history is not None:  # snapshots go out with the same Commit
                        upserts += self._history(history, heads, entities, texts, outcome.texts)
                    written = self.rpc.commit(upserts, deletes, transaction)
                except Conflict:
                    time.sleep(random.uniform(0, min(1.0, 0.05 * 2 ** attempt)))  # aborted: no rollback needed
                    continue
                except BaseException:
                    if transaction:
                        with contextlib.suppress(Exception):
                            self.rpc.rollback(transaction)
                    raise
                committed.update(committed_entries(wanted, entries, outcome, written))
                return outcome
        raise StoreUnavailable("the document is busy: %d attempts collided" % (self.retries + 1))

    def _history(self, recorder, heads, entities, old_texts, new_texts):
        """The history heads and snapshots to write with this transaction,
        as history_ndb's models store them (issue 13)."""
        current = {doc: Head.loads(string(entities[name], "head")) for name, doc in heads.items() if name in entities}
        snapshots, new_heads = recorder.plan(current, old_texts, new_texts, _now().timestamp())
        rows = [entity(self.rpc.key("HistoryHead", _key_name("h:", doc)), head=TextValue(head.dumps()))
                for doc, head in new_heads.items()]
        for doc, taken in snapshots.items():
            for snap in taken:
                key = self.rpc.key("HistoryHead", _key_name("h:", doc), ("Snapshot", snap.seq))
                rows.append(entity(key, time=datetime.datetime.fromtimestamp(snap.time, _UTC),
                                   size=len(snap.text), users=Json(snap.users), note=TextValue(snap.note),
                                   text=Blob(pack(snap.text))))
        return rows

    def _wanted(self, view_keys, docs):
        """Entity key name -> (kind, view key or doc), views first."""
        wanted = {_view_name(*key): ("View", key) for key in view_keys}
        wanted.update({_text_name(doc): ("Text", doc) for doc in docs})
        return wanted

    def _key(self, name):
        return self.rpc.key("View" if name.startswith(("v:", "#v:")) else "Text", name)

    @staticmethod
    def _decode(wanted, entries):
        views, texts = {}, {}
        for name, (kind, key) in wanted.items():
            raw = entries[name]
            if kind == "View" and raw is not None:
                views[key] = decode_view(raw)
            elif kind == "Text" and raw != NO_TEXT:
                texts[key] = raw[1:].decode("utf-8")
        return views, texts

    def _mutations(self, wanted, outcome):
        stamp, upserts, deletes = _now(), [], []
        for name, (kind, key) in wanted.items():
            if kind == "View" and key in outcome.views:
                upserts.append(self._view_entity(name, key[1], outcome.views[key], stamp))
            elif kind == "View" and key in outcome.deleted_views:
                deletes.append(self._key(name))
            elif kind == "Text" and key in outcome.texts:
                text = outcome.texts[key]
                if text is None:
                    deletes.append(self._key(name))
                else:
                    upserts.append(entity(self._key(name), doc=key, text=TextValue(text), updated=stamp))
        return upserts, deletes

    def _view_entity(self, name, doc, view, stamp):
        return entity(self._key(name), doc=doc, shadow=TextValue(view.shadow),
                      state=view.state().encode("utf-8"), updated=stamp)

    def close(self):
        self.rpc.close()

    # -- the cache --------------------------------------------------------------

    def _cache_name(self, key_name):
        """An entity's cache entry, named after its key name (all that cleanup
        knows of it), within this project and namespace, and this entry form."""
        raw = "%s\0%s\0%s\0%s" % (ENTRY_FORM, self.client.project, self.client.namespace or "", key_name)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def _cache_get(self, wanted):
        if self.cache is None:
            return {}, {}
        names = {self._cache_name(name): name for name in wanted}
        found, holds = self.cache.get(list(names))  # nothing while the cache is away (cacheguard)
        return {names[c]: value for c, value in found.items()}, {names[c]: token for c, token in holds.items()}

    def _cache_fill(self, entries, holds, behind):
        if self.cache is not None:
            if behind:  # first, so no reader finds the new view beside the old text
                self.cache.refresh({self._cache_name(n): pair for n, pair in behind.items()})
            self.cache.fill({self._cache_name(n): v for n, v in entries.items() if v is not None},
                            {self._cache_name(n): t for n, t in holds.items()})

    @contextlib.contextmanager
    def _written_through(self, names):
        """Lock the entities' cache entries around a write; afterwards put
        what was committed there (the dict this yields), or drop them."""
        if self.cache is None:
            yield {}
            return
        cache_names = {name: self._cache_name(name) for name in names}
        locks = self.cache.lock(list(cache_names.values()))  # None while the cache is away (cacheguard)
        committed = {}
        try:
            yield committed
        finally:
            self.cache.release(locks, {cache_names[n]: v for n, v in committed.items()})

    # -- through ndb: history's queries, presence and buffers without a cache, cleanup ----

    def _ndb(self):
        return self.client.context(global_cache=None)

    def history_list(self, doc):
        with self._ndb(), _unavailable_on_error():
            return history_ndb.list_snapshots(_key_name, doc)

    def history_get(self, doc, seq):
        with self._ndb(), _unavailable_on_error():
            return history_ndb.get_snapshot(_key_name, doc, seq)

    def history_prune(self, policy, now):
        with self._ndb(), _unavailable_on_error():
            return history_ndb.prune(policy, now)

    def presence_exchange(self, writes, docs, now):
        with self._ndb(), _unavailable_on_error():
            return datastore_ndb.presence_exchange(writes, docs, now)

    def add_fragment(self, fragment, ttl):
        with self._ndb(), _unavailable_on_error():
            return datastore_ndb.add_fragment(fragment, ttl, self.retries)

    def cleanup(self, view_cutoff, text_cutoff, buffer_cutoff):
        with self._ndb(), _unavailable_on_error():
            counts, gone = datastore_ndb.cleanup(view_cutoff, text_cutoff, buffer_cutoff)
        if gone:
            with self._written_through(gone):
                pass  # nothing committed: the entries are dropped
        return counts


class _unavailable_on_error(contextlib.AbstractContextManager):
    """Datastore trouble (contention after retries, timeouts, outages) is a
    503 to retry, not a 500: nothing was committed, or the commit's own
    retry is recognised (PROTOCOL.md's versions make resending safe)."""

    def __exit__(self, kind, value, tb):
        if kind is not None and issubclass(kind, (api_exceptions.GoogleAPIError, ndb.exceptions.Error)):
            raise StoreUnavailable(str(value)) from value
        return False
