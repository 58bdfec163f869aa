"""Snapshots in Cloud Datastore: a ``HistoryHead`` per document and its
``Snapshot`` children (an entity group, so a document's history is one
ancestor query away, with no composite index).

Heads are looked up with ``get_multi_async`` just before the store's own
batch read in the same transaction, so ndb sends them in the same Lookup;
puts inside a transaction go out with its Commit. An edit's round trips
stay three, and an idle poll never touches history.
"""

import datetime

from google.cloud import ndb

from ..history import Head, Snapshot, pack, unpack

_UTC = datetime.timezone.utc


class HistoryHead(ndb.Model):
    _use_global_cache = False  # read only in transactions, which bypass the cache
    head = ndb.TextProperty()


class SnapshotEntity(ndb.Model):
    _use_global_cache = False
    time = ndb.DateTimeProperty(tzinfo=_UTC)  # indexed: cron finds the old ones
    size = ndb.IntegerProperty(indexed=False)
    users = ndb.JsonProperty()
    note = ndb.TextProperty()
    text = ndb.BlobProperty()  # history.pack(): zlib

    @classmethod
    def _get_kind(cls):
        return "Snapshot"


def head_key(key_name, doc):
    return ndb.Key(HistoryHead, key_name("h:", doc))


def heads_async(key_name, docs, retries):
    """Futures for the documents' heads; resolve with ``heads_result``."""
    return ndb.get_multi_async([head_key(key_name, d) for d in docs], retries=retries)


def heads_result(docs, futures):
    heads = {}
    for doc, future in zip(docs, futures):
        entity = future.result()
        if entity is not None:
            heads[doc] = Head.loads(entity.head)
    return heads


def put_async(key_name, snapshots, heads, retries):
    """Futures putting the planned snapshots and heads (in a transaction,
    they are sent with its commit)."""
    entities = [HistoryHead(key=head_key(key_name, doc), head=head.dumps()) for doc, head in heads.items()]
    for doc, taken in snapshots.items():
        parent = head_key(key_name, doc)
        entities += [SnapshotEntity(key=ndb.Key(SnapshotEntity, s.seq, parent=parent), size=len(s.text),
                                    time=datetime.datetime.fromtimestamp(s.time, _UTC), users=s.users,
                                    note=s.note, text=pack(s.text)) for s in taken]
    return ndb.put_multi_async(entities, retries=retries) if entities else []


def _epoch(stamp):
    return stamp.timestamp()


def list_snapshots(key_name, doc):
    query = SnapshotEntity.query(ancestor=head_key(key_name, doc)).order(SnapshotEntity.key)
    return [{"id": e.key.id(), "time": _epoch(e.time), "size": e.size, "users": e.users or [],
             "note": e.note or ""} for e in query]


def get_snapshot(key_name, doc, seq):
    entity = ndb.Key(SnapshotEntity, seq, parent=head_key(key_name, doc)).get()
    if entity is None:
        return None
    return Snapshot(seq, _epoch(entity.time), unpack(entity.text), entity.users or [], entity.note or "")


def prune(policy, now):
    cutoff = datetime.datetime.fromtimestamp(now - policy.keep_all, _UTC)
    by_doc = {}
    for entity in SnapshotEntity.query(SnapshotEntity.time < cutoff).iter(projection=["time"]):
        by_doc.setdefault(entity.key.parent(), []).append((entity.key.id(), _epoch(entity.time)))
    doomed = [ndb.Key(SnapshotEntity, seq, parent=parent)
              for parent, snaps in by_doc.items() for seq in policy.prune(snaps, now)]
    ndb.delete_multi(doomed)
    return len(doomed)
