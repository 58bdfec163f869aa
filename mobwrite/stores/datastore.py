"""Cloud Datastore through google-cloud-ndb, with ndb's global cache.

One request costs: an idle poll, one batch read (texts from the cache) and
one batch write of views; an edit, one transaction (begin, one batch read,
one commit of texts and views together). Only texts go through the global
cache: views are rewritten on every sync, so caching them would only add
cache traffic (ndb drops a cached entity whenever it is written).
"""

import contextlib
import datetime
import hashlib
import logging

from google.api_core import exceptions as api_exceptions
from google.cloud import ndb

from ..engine import View
from . import Store, StoreUnavailable, history_ndb
from .presence_boards import merge as merge_presence

log = logging.getLogger("mobwrite.store")

_UTC = datetime.timezone.utc


class Text(ndb.Model):
    doc = ndb.StringProperty()  # the name, as the key may hold only its hash
    text = ndb.TextProperty()
    updated = ndb.DateTimeProperty(tzinfo=_UTC)


class ViewState(ndb.Model):
    _use_global_cache = False  # rewritten on every sync: caching only adds traffic
    doc = ndb.StringProperty()  # indexed: cleanup asks whether a text still has views
    shadow = ndb.TextProperty()  # apart from the state: no JSON or zlib of the bulk per sync
    state = ndb.BlobProperty(compressed=True)  # View.state(): versions, backup, edit stack
    updated = ndb.DateTimeProperty(tzinfo=_UTC)

    @classmethod
    def _get_kind(cls):
        return "View"


class Buffer(ndb.Model):
    _use_global_cache = False
    pieces = ndb.JsonProperty(compressed=True)  # {"index": data}
    updated = ndb.DateTimeProperty(tzinfo=_UTC)


class Presence(ndb.Model):
    """Who is in one document, when no shared cache holds it (issue 13)."""
    _use_global_cache = False
    entries = ndb.JsonProperty(compressed=True)  # {public id: entry}


# Key names carry a prefix so no user-chosen name can hit Datastore's
# reserved pattern __*__; one that would pass Datastore's 1,500-byte limit
# (two 256-character names of 4-byte characters would) is hashed instead.
_MAX_KEY_BYTES = 1500


def _key_name(prefix, name):
    if len(name.encode("utf-8")) + len(prefix) <= _MAX_KEY_BYTES:
        return prefix + name
    return "#" + prefix + hashlib.sha256(name.encode("utf-8")).hexdigest()


def _text_key(doc):
    return ndb.Key(Text, _key_name("t:", doc))


def _view_key_name(user, doc):
    return _key_name("v:", "%s\n%s" % (user, doc))


def _view_key(user, doc):
    return ndb.Key(ViewState, _view_key_name(user, doc))


def _now():
    return datetime.datetime.now(_UTC)


class DatastoreStore(Store):
    # ndb backs off 1, 2, 4 s between transaction attempts: three retries keep a
    # contended request under ~10 s before it becomes a 503 the client retries,
    # rather than holding it open for minutes.
    def __init__(self, client, retries, global_cache=None, view_cache=None):
        self.client = client
        self.retries = retries
        self.global_cache = global_cache
        self.view_cache = view_cache

    def _context(self):
        return self.client.context(global_cache=self.global_cache)

    def read(self, view_keys, docs):
        with self._context(), _unavailable_on_error():
            if self.view_cache is None:
                return self._read(view_keys, docs)
            names = {key: self._cache_name(key) for key in view_keys}
            try:
                found, holds = self.view_cache.get(list(names.values()))
            except Exception:  # noqa: BLE001 - the cache is an optimisation; Datastore is the truth
                log.warning("view cache unreadable; reading Datastore", exc_info=True)
                found, holds = {}, {}
            views = {key: _decode_view(found[name]) for key, name in names.items() if name in found}
            stored, texts = self._read([key for key in view_keys if key not in views], docs)
            views.update(stored)
            with contextlib.suppress(Exception):
                self.view_cache.fill({names[key]: _encode_view(view) for key, view in stored.items()}, holds)
            return views, texts

    def _cache_name(self, key=None, key_name=None):
        """The view's cache entry, named after its Datastore key name (all that
        cleanup knows of a view), within this project and namespace."""
        key_name = key_name if key_name is not None else _view_key_name(*key)
        raw = "%s\0%s\0%s" % (self.client.project, self.client.namespace or "", key_name)
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    @contextlib.contextmanager
    def _cached_views(self, keys, outcome_of):
        """Lock the views' cache entries around a write, then put what was
        committed there (or drop them if the write failed)."""
        if self.view_cache is None:
            yield
            return
        names = {key: self._cache_name(key) for key in keys}
        try:
            locks = self.view_cache.lock(list(names.values()))
        except Exception as exc:
            raise StoreUnavailable("view cache unwritable: %s" % exc) from exc
        values = {}
        try:
            yield
            outcome = outcome_of()
            values = {names[key]: _encode_view(view) for key, view in outcome.views.items() if key in names}
        finally:
            with contextlib.suppress(Exception):
                self.view_cache.release(locks, values)

    @staticmethod
    def _read(view_keys, docs, retries=None):
        entities = ndb.get_multi([_view_key(*k) for k in view_keys] + [_text_key(d) for d in docs],
                                 retries=retries)
        views = {k: View.from_state(e.state.decode("utf-8"), e.shadow)
                 for k, e in zip(view_keys, entities) if e is not None}
        texts = {d: e.text for d, e in zip(docs, entities[len(view_keys):]) if e is not None}
        return views, texts

    def write_views(self, outcome):
        with self._context(), _unavailable_on_error():
            with self._cached_views(set(outcome.views) | outcome.deleted_views, lambda: outcome):
                self._write(outcome, texts=False)

    def transact(self, view_keys, docs, run, history=None):
        # Calls inside the transaction get retries=0: ndb would otherwise turn
        # a non-transient error in them into one its transaction retries,
        # stalling the request for a minute before failing anyway.
        def attempt():
            heads = history_ndb.heads_async(_key_name, docs, 0) if history is not None else None
            views, texts = self._read(view_keys, docs, retries=0)  # the heads go in the same Lookup
            outcome = run(views, texts)
            self._write(outcome, texts=True, retries=0)
            if history is not None:
                planned = history.plan(history_ndb.heads_result(docs, heads), texts, outcome.texts,
                                       _now().timestamp())
                for future in history_ndb.put_async(_key_name, *planned, retries=0):
                    future.check_success()
            return outcome

        committed = []
        with self._context(), _unavailable_on_error():
            with self._cached_views(view_keys, lambda: committed[0]):
                committed.append(ndb.transaction(attempt, retries=self.retries))
        return committed[0]

    @staticmethod
    def _write(outcome, texts, retries=None):
        stamp = _now()
        puts = [ViewState(key=_view_key(*k), doc=k[1], shadow=v.shadow, state=v.state().encode("utf-8"),
                          updated=stamp)
                for k, v in outcome.views.items()]
        deletes = [_view_key(*k) for k in outcome.deleted_views]
        if texts:
            for doc, text in outcome.texts.items():
                if text is None:
                    deletes.append(_text_key(doc))
                else:
                    puts.append(Text(key=_text_key(doc), doc=doc, text=text, updated=stamp))
        futures = []
        if puts:
            futures += ndb.put_multi_async(puts, retries=retries)
        if deletes:
            futures += ndb.delete_multi_async(deletes, retries=retries)
        for future in futures:
            future.check_success()

    def history_list(self, doc):
        with self._context(), _unavailable_on_error():
            return history_ndb.list_snapshots(_key_name, doc)

    def history_get(self, doc, seq):
        with self._context(), _unavailable_on_error():
            return history_ndb.get_snapshot(_key_name, doc, seq)

    def history_prune(self, policy, now):
        with self._context(), _unavailable_on_error():
            return history_ndb.prune(policy, now)

    def presence_exchange(self, writes, docs, now):
        # Without a cache: one Lookup, and one Commit when something changed.
        # Writes are not transactional; a lost race heals at the next refresh.
        wanted = sorted(set(docs) | set(writes))
        with self._context(), _unavailable_on_error():
            keys = [ndb.Key(Presence, _key_name("p:", doc)) for doc in wanted]
            found = dict(zip(wanted, ndb.get_multi(keys)))
            current = {doc: (e.entries or {}) if e is not None else {} for doc, e in found.items()}
            puts = []
            for doc, entries in writes.items():
                current[doc] = merge_presence(current[doc], entries, now)
                puts.append(Presence(key=ndb.Key(Presence, _key_name("p:", doc)), entries=current[doc]))
            if puts:
                ndb.put_multi(puts)
        return {doc: current[doc] for doc in docs}

    def add_fragment(self, fragment, ttl):
        def attempt():
            key = ndb.Key(Buffer, _key_name("b:", "%s\n%d" % (fragment.id, fragment.size)))
            buffer = key.get(retries=0)
            stamp = _now()
            if buffer is None or buffer.updated < stamp - datetime.timedelta(seconds=ttl):
                buffer = Buffer(key=key, pieces={}, updated=stamp)
            buffer.pieces.setdefault(str(fragment.index), fragment.data)
            if len(buffer.pieces) < fragment.size:
                buffer.put(retries=0)
                return None
            key.delete(retries=0)
            return [buffer.pieces[str(i)] for i in range(1, fragment.size + 1)]

        with self._context(), _unavailable_on_error():
            return ndb.transaction(attempt, retries=self.retries)

    def cleanup(self, view_cutoff, text_cutoff, buffer_cutoff):
        def stamp(epoch):
            return datetime.datetime.fromtimestamp(epoch, _UTC)

        with self._context(), _unavailable_on_error():
            views = ViewState.query(ViewState.updated < stamp(view_cutoff)).fetch(keys_only=True)
            ndb.delete_multi(views)
            if self.view_cache is not None and views:
                names = [self._cache_name(key_name=key.id()) for key in views]
                self.view_cache.release(self.view_cache.lock(names), {})  # drop them
            texts = []
            for text in Text.query(Text.updated < stamp(text_cutoff)):  # no projection: it would need a composite index
                if ViewState.query(ViewState.doc == text.doc).get(keys_only=True) is None:
                    texts.append(text.key)
            ndb.delete_multi(texts)
            buffers = Buffer.query(Buffer.updated < stamp(buffer_cutoff)).fetch(keys_only=True)
            ndb.delete_multi(buffers)
        return {"views": len(views), "texts": len(texts), "buffers": len(buffers)}


class _unavailable_on_error:
    """Datastore trouble (contention after retries, timeouts) is a 503 to
    retry, not a 500: nothing was committed."""

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is not None and issubclass(kind, (api_exceptions.GoogleAPIError, ndb.exceptions.Error)):
            raise StoreUnavailable(str(value)) from value
        return False


def _encode_view(view):
    # The state is JSON, which escapes NUL, so the first NUL ends it.
    return view.state().encode("utf-8") + b"\0" + view.shadow.encode("utf-8")


def _decode_view(raw):
    state, _, shadow = raw.partition(b"\0")
    return View.from_state(state.decode("utf-8"), shadow.decode("utf-8"))
