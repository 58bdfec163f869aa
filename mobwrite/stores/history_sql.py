"""Snapshots in SQLite: the history tables and their queries, used by
``SqliteStore`` inside its own transactions."""

import json

from ..history import Head, Snapshot, pack, unpack

SCHEMA = """
CREATE TABLE IF NOT EXISTS history_heads (doc TEXT PRIMARY KEY, head TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (doc TEXT NOT NULL, seq INTEGER NOT NULL, time REAL NOT NULL,
                                      size INTEGER NOT NULL, users TEXT NOT NULL, note TEXT NOT NULL,
                                      text BLOB NOT NULL, PRIMARY KEY (doc, seq));
CREATE INDEX IF NOT EXISTS snapshots_by_time ON snapshots (time);
"""


def read_heads(db, docs):
    heads = {}
    for doc in docs:
        row = db.execute("SELECT head FROM history_heads WHERE doc=?", (doc,)).fetchone()
        if row:
            heads[doc] = Head.loads(row[0])
    return heads


def write(db, snapshots, heads):
    db.executemany("INSERT OR REPLACE INTO history_heads VALUES (?, ?)",
                   [(doc, head.dumps()) for doc, head in heads.items()])
    db.executemany("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(doc, s.seq, s.time, len(s.text), json.dumps(s.users), s.note, pack(s.text))
                    for doc, taken in snapshots.items() for s in taken])


def list_snapshots(db, doc):
    rows = db.execute("SELECT seq, time, size, users, note FROM snapshots WHERE doc=? ORDER BY seq", (doc,))
    return [{"id": seq, "time": time, "size": size, "users": json.loads(users), "note": note}
            for seq, time, size, users, note in rows]


def get_snapshot(db, doc, seq):
    row = db.execute("SELECT time, users, note, text FROM snapshots WHERE doc=? AND seq=?", (doc, seq)).fetchone()
    if row is None:
        return None
    return Snapshot(seq, row[0], unpack(row[3]), json.loads(row[1]), row[2])


def prune(db, policy, now):
    by_doc = {}
    for doc, seq, time in db.execute("SELECT doc, seq, time FROM snapshots WHERE time<?", (now - policy.keep_all,)):
        by_doc.setdefault(doc, []).append((seq, time))
    doomed = [(doc, seq) for doc, snaps in by_doc.items() for seq in policy.prune(snaps, now)]
    db.executemany("DELETE FROM snapshots WHERE doc=? AND seq=?", doomed)
    return len(doomed)
