"""Cloud Datastore: the sync path straight on ndb's gRPC stub, the rest
through google-cloud-ndb, and texts and views written through to the cache.

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

from ..engine import View
from ..history import Head, pack
from . import Store, StoreUnavailable, datastore_ndb, history_ndb
from .datastore_ndb import key_name as _key_name
from .datastore_rpc import Blob, Conflict, Json, Rpc, Text as TextValue, blob, entity, string

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
    def __init__(self, client, retries, cache=None):
        self.client = client  # ndb's: its stub carries the sync path, its models the rest
        self.rpc = Rpc(client)
        self.retries = retries
        self.cache = cache

    # -- the sync path --------------------------------------------------------

    def read(self, view_keys, docs):
        wanted = self._wanted(view_keys, docs)
        with _unavailable_on_error():
            found, holds = self._cache_get(wanted)
            missing = [name for name in wanted if name not in found]
            if missing:
                entities, _ = self.rpc.lookup([self._key(name) for name in missing])
                looked_up = {name: _entry(name, entities.get(name)) for name in missing}
                found.update(looked_up)
                self._cache_fill(looked_up, holds)
        return self._decode(wanted, found)

    def write_views(self, outcome):
        views = {_view_name(*key): (key, view) for key, view in outcome.views.items()}
        gone = [_view_name(*key) for key in outcome.deleted_views]
        with _unavailable_on_error(), self._written_through(list(views) + gone) as committed:
            stamp = _now()
            self.rpc.commit([self._view_entity(name, key[1], view, stamp) for name, (key, view) in views.items()],
                            [self._key(name) for name in gone])
            committed.update({name: _encode_view(view) for name, (_, view) in views.items()})

    def transact(self, view_keys, docs, run, history=None):
        wanted = self._wanted(view_keys, docs)
        heads = {_key_name("h:", doc): doc for doc in docs} if history is not None else {}
        keys = [self._key(name) for name in wanted] + [self.rpc.key("HistoryHead", name) for name in heads]
        with _unavailable_on_error(), self._written_through(list(wanted)) as committed:
            for attempt in range(self.retries + 1):
                transaction = b""
                try:
                    entities, transaction = self.rpc.lookup(keys, begin=True)  # heads in the same Lookup
                    entries = {name: _entry(name, entities.get(name)) for name in wanted}
                    views, texts = self._decode(wanted, entries)
                    outcome = run(views, texts)
                    upserts, deletes = self._mutations(wanted, outcome)
                    if history is not None:  # snapshots go out with the same Commit
                        upserts += self._history(history, heads, entities, texts, outcome.texts)
                    self.rpc.commit(upserts, deletes, transaction)
                except Conflict:
                    time.sleep(random.uniform(0, min(1.0, 0.05 * 2 ** attempt)))  # aborted: no rollback needed
                    continue
                except BaseException:
                    if transaction:
                        with contextlib.suppress(Exception):
                            self.rpc.rollback(transaction)
                    raise
                committed.update(_committed_entries(wanted, entries, outcome))
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
                views[key] = _decode_view(raw)
            elif kind == "Text" and raw != _NO_TEXT:
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

    # -- the cache --------------------------------------------------------------

    def _cache_name(self, key_name):
        """An entity's cache entry, named after its key name (all that cleanup
        knows of it), within this project and namespace."""
        raw = "%s\0%s\0%s" % (self.client.project, self.client.namespace or "", key_name)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def _cache_get(self, wanted):
        if self.cache is None:
            return {}, {}
        names = {self._cache_name(name): name for name in wanted}
        try:
            found, holds = self.cache.get(list(names))
        except Exception:  # noqa: BLE001 - the cache is an optimisation; Datastore is the truth
            log.warning("cache unreadable; reading Datastore", exc_info=True)
            return {}, {}
        return {names[c]: value for c, value in found.items()}, {names[c]: token for c, token in holds.items()}

    def _cache_fill(self, entries, holds):
        if self.cache is not None:
            with contextlib.suppress(Exception):
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
        try:
            locks = self.cache.lock(list(cache_names.values()))
        except Exception as exc:
            raise StoreUnavailable("cache unwritable: %s" % exc) from exc
        committed = {}
        try:
            yield committed
        finally:
            with contextlib.suppress(Exception):
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


# Cache entries and decoded lookups share one form: a view's state and shadow
# (``_encode_view``), a text as b"+" and its UTF-8, a missing text as b"-".
_NO_TEXT = b"-"


def _entry(name, entity_pb):
    if name.startswith(("v:", "#v:")):
        if entity_pb is None:
            return None
        return blob(entity_pb, "state") + b"\0" + string(entity_pb, "shadow").encode("utf-8")
    return _NO_TEXT if entity_pb is None else b"+" + string(entity_pb, "text").encode("utf-8")


def _committed_entries(wanted, entries, outcome):
    """What the cache may hold after ``outcome`` committed over ``entries``."""
    committed = dict(entries)
    for name, (kind, key) in wanted.items():
        if kind == "View":
            view = outcome.views.get(key)
            committed[name] = None if key in outcome.deleted_views else (
                _encode_view(view) if view is not None else entries[name])
        elif key in outcome.texts:
            text = outcome.texts[key]
            committed[name] = _NO_TEXT if text is None else b"+" + text.encode("utf-8")
    return committed


def _encode_view(view):
    # The state is JSON, which escapes NUL, so the first NUL ends it.
    return view.state().encode("utf-8") + b"\0" + view.shadow.encode("utf-8")


def _decode_view(raw):
    state, _, shadow = raw.partition(b"\0")
    return View.from_state(state.decode("utf-8"), shadow.decode("utf-8"))
