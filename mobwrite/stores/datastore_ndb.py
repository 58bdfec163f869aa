"""What of Cloud Datastore goes through google-cloud-ndb: the models that
define how everything is stored (the sync path in ``datastore`` writes the
same encoding on the gRPC channel), cleanup's queries, buffers when there is
no cache, and presence boards without a cache. Call inside an ndb context.
"""

import datetime
import hashlib

from google.cloud import ndb

from .presence_boards import merge as merge_presence

_UTC = datetime.timezone.utc


class Text(ndb.Model):
    doc = ndb.StringProperty()  # the name, as the key may hold only its hash
    text = ndb.TextProperty()
    updated = ndb.DateTimeProperty(tzinfo=_UTC)


class ViewState(ndb.Model):
    doc = ndb.StringProperty()  # indexed: cleanup asks whether a text still has views
    shadow = ndb.TextProperty()  # apart from the state: no JSON or zlib of the bulk per sync
    state = ndb.BlobProperty(compressed=True)  # View.state(): versions, backup, edit stack
    updated = ndb.DateTimeProperty(tzinfo=_UTC)

    @classmethod
    def _get_kind(cls):
        return "View"


class Buffer(ndb.Model):
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


def key_name(prefix, name):
    if len(name.encode("utf-8")) + len(prefix) <= _MAX_KEY_BYTES:
        return prefix + name
    return "#" + prefix + hashlib.sha256(name.encode("utf-8")).hexdigest()


def add_fragment(fragment, ttl, retries):
    def attempt():
        key = ndb.Key(Buffer, key_name("b:", "%s\n%d" % (fragment.id, fragment.size)))
        buffer = key.get(retries=0)
        stamp = datetime.datetime.now(_UTC)
        if buffer is None or buffer.updated < stamp - datetime.timedelta(seconds=ttl):
            buffer = Buffer(key=key, pieces={}, updated=stamp)
        buffer.pieces.setdefault(str(fragment.index), fragment.data)
        if len(buffer.pieces) < fragment.size:
            buffer.put(retries=0)
            return None
        key.delete(retries=0)
        return [buffer.pieces[str(i)] for i in range(1, fragment.size + 1)]

    return ndb.transaction(attempt, retries=retries)


def cleanup(view_cutoff, text_cutoff, buffer_cutoff):
    """Delete what is idle; ``(counts, key names of the views and texts deleted)``."""
    def stamp(epoch):
        return datetime.datetime.fromtimestamp(epoch, _UTC)

    views = ViewState.query(ViewState.updated < stamp(view_cutoff)).fetch(keys_only=True)
    ndb.delete_multi(views)
    texts = []
    for text in Text.query(Text.updated < stamp(text_cutoff)):  # no projection: it would need a composite index
        if ViewState.query(ViewState.doc == text.doc).get(keys_only=True) is None:
            texts.append(text.key)
    ndb.delete_multi(texts)
    buffers = Buffer.query(Buffer.updated < stamp(buffer_cutoff)).fetch(keys_only=True)
    ndb.delete_multi(buffers)
    counts = {"views": len(views), "texts": len(texts), "buffers": len(buffers)}
    return counts, [key.id() for key in views + texts]


def presence_exchange(writes, docs, now):
    # Without a cache: one Lookup, and one Commit when something changed.
    # Writes are not transactional; a lost race heals at the next refresh.
    # Tried once (retries=0): presence is best effort, and ndb's own retries
    # (3, after 1, 2 and 4 s) held a sync's answer 5-30 s once its edit was
    # committed whenever Datastore went away mid-request.
    wanted = sorted(set(docs) | set(writes))
    keys = [ndb.Key(Presence, key_name("p:", doc)) for doc in wanted]
    found = dict(zip(wanted, ndb.get_multi(keys, retries=0)))
    current = {doc: (e.entries or {}) if e is not None else {} for doc, e in found.items()}
    puts = []
    for doc, entries in writes.items():
        current[doc] = merge_presence(current[doc], entries, now)
        puts.append(Presence(key=ndb.Key(Presence, key_name("p:", doc)), entries=current[doc]))
    if puts:
        ndb.put_multi(puts, retries=0)
    return {doc: current[doc] for doc in docs}
