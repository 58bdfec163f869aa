"""The embedded default: one SQLite file (WAL), safe under several processes.

Writers take the database lock up front (BEGIN IMMEDIATE), which serialises
read-patch-write across gunicorn workers; readers never block in WAL mode.
Texts, shadows and backup shadows over ``pieces.INLINE_MAX`` characters are
kept as layouts of shared pieces (``pieces_sql``), so a small edit to a
large document writes a piece, not the document.
"""

import contextlib
import json
import os
import queue
import random
import sqlite3
import time

import dataclasses

from ..engine import View
from . import Store, history_sql, now, pieces_sql, presence_boards

_SCHEMA = """
-- pieces / backup: a layout (pieces.py) when the text is kept in pieces ('' in the text column)
CREATE TABLE IF NOT EXISTS texts (doc TEXT PRIMARY KEY, text TEXT NOT NULL, updated REAL NOT NULL, pieces BLOB);
CREATE TABLE IF NOT EXISTS views (user TEXT NOT NULL, doc TEXT NOT NULL, state TEXT NOT NULL,
                                  updated REAL NOT NULL, backup BLOB, PRIMARY KEY (user, doc));
-- A view's shadow apart from its state: most syncs rewrite the state only.
CREATE TABLE IF NOT EXISTS shadows (user TEXT NOT NULL, doc TEXT NOT NULL, shadow TEXT NOT NULL,
                                    pieces BLOB, PRIMARY KEY (user, doc));
CREATE INDEX IF NOT EXISTS views_by_doc ON views (doc);
CREATE TABLE IF NOT EXISTS presence (doc TEXT NOT NULL, id TEXT NOT NULL, entry TEXT NOT NULL,
                                     seen REAL NOT NULL, PRIMARY KEY (doc, id));
CREATE TABLE IF NOT EXISTS fragments (id TEXT NOT NULL, size INTEGER NOT NULL, idx INTEGER NOT NULL,
                                      data TEXT NOT NULL, created REAL NOT NULL,
                                      PRIMARY KEY (id, size, idx));
"""


def _when_unlocked(step, seconds=15):
    """Run ``step`` once SQLite lets it: gunicorn's workers open a new file
    at once, and switching it to WAL (or creating its tables) while another
    connection does the same fails at once with "database is locked",
    without waiting out the busy timeout; a worker that failed to boot
    stopped the whole server."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.01, 0.05))


class SqliteStore(Store):
    def __init__(self, path):
        self.path = path
        if path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        # A pool, not a connection per thread: gunicorn's gevent worker runs
        # each request in a new greenlet, and a greenlet-local connection
        # would be opened for every request and never reused.
        self._pool = queue.LifoQueue()
        self._opened = []
        self._pieces = pieces_sql.PieceCache()
        with self._connection() as db:
            _when_unlocked(lambda: db.executescript(_SCHEMA + history_sql.SCHEMA))
            _when_unlocked(lambda: self._migrate(db))

    @staticmethod
    def _migrate(db):
        """Bring a file made by an earlier version up to this schema."""
        db.execute("BEGIN IMMEDIATE")
        try:
            pieces_sql.migrate(db)
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")

    @contextlib.contextmanager
    def transaction(self, immediate=False):
        """One transaction on a pooled connection: deferred for reads,
        immediate (the write lock up front) for read-patch-write. Also used
        by parts that keep a table of their own in the file (the wake board)."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE" if immediate else "BEGIN DEFERRED")
            try:
                yield db
                db.execute("COMMIT")
            finally:
                if db.in_transaction:  # an exception, or a failed COMMIT: never pool an open transaction
                    db.execute("ROLLBACK")

    @contextlib.contextmanager
    def _connection(self):
        try:
            db = self._pool.get_nowait()
        except queue.Empty:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            _when_unlocked(lambda: db.execute("PRAGMA journal_mode=WAL"))
            db.execute("PRAGMA synchronous=NORMAL")
            self._opened.append(db)
        try:
            yield db
        finally:
            self._pool.put(db)

    def read(self, view_keys, docs):
        with self.transaction() as db:
            return self._read(pieces_sql.Session(db, self._pieces), view_keys, docs)

    def poll(self, view_keys, docs, run):
        # One write transaction, not a read and then a write: an idle poll's
        # engine work is small, so holding the lock through it costs less
        # than a second transaction, and no other write to these views can
        # land between what the poll read and what it writes.
        with self.transaction(immediate=True) as db:
            session, layouts = pieces_sql.Session(db, self._pieces), {}
            views, texts = self._read(session, view_keys, docs, layouts)
            outcome = run(views, texts)
            if outcome.changes_text:
                return None
            self._write_views(session, outcome, layouts)
            return outcome

    @staticmethod
    def _read(session, view_keys, docs, layouts=None):
        """Views and texts; ``layouts`` (if given) gets each view found's
        stored (backup, shadow) layout blobs, for a write in the same
        transaction to start from."""
        db = session.db
        rows = {}
        for user, doc in view_keys:
            row = db.execute("SELECT state, shadow, shadows.pieces, backup FROM views JOIN shadows "
                             "USING (user, doc) WHERE user=? AND doc=?", (user, doc)).fetchone()
            if row:
                rows[(user, doc)] = row
                if layouts is not None:
                    layouts[(user, doc)] = (row[3], row[2])
        texts = {}
        for doc in docs:
            row = db.execute("SELECT text, pieces FROM texts WHERE doc=?", (doc,)).fetchone()
            if row:
                texts[doc] = row
        layouts = {}
        for (_, doc), (_, _, shadow, backup) in rows.items():
            layouts.setdefault(doc, []).extend((shadow, backup))
        for doc, (_, blob) in texts.items():
            layouts.setdefault(doc, []).append(blob)
        whole = {doc: session.texts(doc, blobs) for doc, blobs in layouts.items() if any(blobs)}
        views = {}
        for (user, doc), (state, shadow, shadow_blob, backup_blob) in rows.items():
            if shadow_blob is not None:
                shadow = whole[doc][shadow_blob]
            view = View.from_state(state, shadow)
            if backup_blob is not None:
                view.backup_shadow = whole[doc][backup_blob]
            views[(user, doc)] = view
        return views, {doc: text if blob is None else whole[doc][blob] for doc, (text, blob) in texts.items()}

    def write_views(self, outcome):
        with self.transaction(immediate=True) as db:
            self._write_views(pieces_sql.Session(db, self._pieces), outcome)

    @staticmethod
    def _write_views(session, outcome, layouts=None):
        """``layouts``: what ``_read`` found stored for these views in this
        same transaction, so they need not be read again."""
        db = session.db
        stamp = now()
        texts = {}  # doc -> its text's layout blob as stored now: a base for shadows

        def text_layout(doc):
            if doc not in texts:
                row = db.execute("SELECT pieces FROM texts WHERE doc=?", (doc,)).fetchone()
                texts[doc] = row[0] if row else None
            return texts[doc]

        def stored_layouts(user, doc):
            if layouts and (user, doc) in layouts:
                return layouts[(user, doc)]
            row = db.execute("SELECT backup, shadows.pieces FROM views LEFT JOIN shadows USING (user, doc) "
                             "WHERE user=? AND doc=?", (user, doc)).fetchone()
            return row or (None, None)

        for user, doc in outcome.deleted_views:
            for blob in stored_layouts(user, doc):
                session.drop(doc, blob)
        deleted = list(outcome.deleted_views)
        if deleted:
            db.executemany("DELETE FROM views WHERE user=? AND doc=?", deleted)
            db.executemany("DELETE FROM shadows WHERE user=? AND doc=?", deleted)
        views, shadows = [], []
        for (user, doc), view in outcome.views.items():
            old_backup, old_shadow = stored_layouts(user, doc)
            shadow_blob = old_shadow
            if (user, doc) in outcome.new_shadows:
                # Only a shadow kept in pieces can share the text's: a short one skips the SELECT.
                bases = (text_layout(doc),) if pieces_sql.is_large(view.shadow) else ()
                shadow_blob = session.write(doc, view.shadow, old_shadow, bases)
                shadows.append((user, doc, pieces_sql.stored(view.shadow, shadow_blob), shadow_blob))
            backup_blob = None
            if view.backup_shadow != view.shadow and pieces_sql.is_large(view.backup_shadow):
                backup_blob = session.write(doc, view.backup_shadow, old_backup,
                                            (shadow_blob, old_shadow, text_layout(doc)))
                view = dataclasses.replace(view, backup_shadow=view.shadow)  # the state says "as the shadow"
            else:
                session.drop(doc, old_backup)
            views.append((user, doc, view.state(), stamp, backup_blob))
        # Upserts: REPLACE would delete and reinsert each row, index entries and all.
        db.executemany("INSERT INTO views (user, doc, state, updated, backup) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (user, doc) DO UPDATE SET state=excluded.state, updated=excluded.updated, "
                       "backup=excluded.backup", views)
        if shadows:  # most syncs change no shadow
            db.executemany("INSERT INTO shadows (user, doc, shadow, pieces) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (user, doc) DO UPDATE SET shadow=excluded.shadow, pieces=excluded.pieces",
                           shadows)
        session.sweep()

    def transact(self, view_keys, docs, run, history=None):
        with self.transaction(immediate=True) as db:
            session, layouts = pieces_sql.Session(db, self._pieces), {}
            views, texts = self._read(session, view_keys, docs, layouts)
            outcome = run(views, texts)
            stamp = now()
            if history is not None:
                heads = history_sql.read_heads(db, list(outcome.texts))
                history_sql.write(db, *history.plan(heads, texts, outcome.texts, stamp))
            # Texts before views: a shadow equal to the new text takes its layout as it is.
            for doc, text in outcome.texts.items():
                row = db.execute("SELECT pieces FROM texts WHERE doc=?", (doc,)).fetchone()
                old = row[0] if row else None
                if text is None:
                    session.drop(doc, old)
                    db.execute("DELETE FROM texts WHERE doc=?", (doc,))
                else:
                    blob = session.write(doc, text, old)
                    db.execute("INSERT OR REPLACE INTO texts (doc, text, updated, pieces) VALUES (?, ?, ?, ?)",
                               (doc, pieces_sql.stored(text, blob), stamp, blob))
            self._write_views(session, outcome, layouts)
            return outcome

    def add_fragment(self, fragment, ttl):
        with self.transaction(immediate=True) as db:
            stamp = now()
            db.execute("DELETE FROM fragments WHERE id=? AND size=? AND created<?",
                       (fragment.id, fragment.size, stamp - ttl))
            db.execute("INSERT OR IGNORE INTO fragments VALUES (?, ?, ?, ?, ?)",
                       (fragment.id, fragment.size, fragment.index, fragment.data, stamp))
            rows = db.execute("SELECT data FROM fragments WHERE id=? AND size=? ORDER BY idx",
                              (fragment.id, fragment.size)).fetchall()
            if len(rows) < fragment.size:
                return None
            db.execute("DELETE FROM fragments WHERE id=? AND size=?", (fragment.id, fragment.size))
            return [row[0] for row in rows]

    def cleanup(self, view_cutoff, text_cutoff, buffer_cutoff):
        with self.transaction(immediate=True) as db:
            views = db.execute("DELETE FROM views WHERE updated<?", (view_cutoff,)).rowcount
            db.execute("DELETE FROM shadows WHERE NOT EXISTS "
                       "(SELECT 1 FROM views WHERE views.user=shadows.user AND views.doc=shadows.doc)")
            texts = db.execute("DELETE FROM texts WHERE updated<? AND doc NOT IN (SELECT doc FROM views)",
                               (text_cutoff,)).rowcount
            buffers = db.execute("DELETE FROM fragments WHERE created<?", (buffer_cutoff,)).rowcount
            pieces_sql.sweep_all(db)
        return {"views": views, "texts": texts, "buffers": buffers}

    def history_list(self, doc):
        with self.transaction() as db:
            return history_sql.list_snapshots(db, doc)

    def history_get(self, doc, seq):
        with self.transaction() as db:
            return history_sql.get_snapshot(db, doc, seq)

    def history_prune(self, policy, now):
        with self.transaction(immediate=True) as db:
            return history_sql.prune(db, policy, now)

    def presence_exchange(self, writes, docs, now):
        with (self.transaction(immediate=bool(writes))) as db:
            if writes:
                db.execute("DELETE FROM presence WHERE seen<?", (now - presence_boards.KEEP,))
            for doc, entries in writes.items():
                db.executemany("DELETE FROM presence WHERE doc=? AND id=?",
                               [(doc, pid) for pid, e in entries.items() if e is None])
                db.executemany("INSERT OR REPLACE INTO presence VALUES (?, ?, ?, ?)",
                               [(doc, pid, json.dumps(e), e["seen"]) for pid, e in entries.items() if e is not None])
            return {doc: {pid: json.loads(e) for pid, e in
                          db.execute("SELECT id, entry FROM presence WHERE doc=?", (doc,))} for doc in docs}

    def close(self):
        for db in self._opened:
            db.close()
        self._opened = []
