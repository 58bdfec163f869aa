"""SQLite's side of ``pieces``: the table, and one transaction's dealings
with it (reading layouts, writing them, dropping pieces nothing needs).

Invariant: every piece a stored layout names is in the table. A write only
reuses pieces of layouts stored at that moment (read inside its own
transaction) or of layouts it wrote itself; a sweep deletes only pieces
that no stored layout of the document names.
"""

import collections
import threading

from . import pieces
from .pieces import decode, encode, join, lay_out

_TABLES = [
    "CREATE TABLE IF NOT EXISTS pieces (doc TEXT NOT NULL, id BLOB NOT NULL, data TEXT NOT NULL, "
    "PRIMARY KEY (doc, id))",
    "CREATE INDEX IF NOT EXISTS shadows_by_doc ON shadows (doc)",  # for the sweep
]
# Layout columns added to the tables of a file made before pieces existed.
COLUMNS = [("texts", "pieces"), ("shadows", "pieces"), ("views", "backup")]
_LAYOUTS_OF_DOC = ("SELECT pieces FROM texts WHERE doc=?1 AND pieces IS NOT NULL "
                   "UNION ALL SELECT pieces FROM shadows WHERE doc=?1 AND pieces IS NOT NULL "
                   "UNION ALL SELECT backup FROM views WHERE doc=?1 AND backup IS NOT NULL")
_BATCH = 500  # ids per IN (...) query, under SQLite's parameter limit
CACHE_CHARS = 8 * 1024 * 1024  # characters of pieces a store keeps in memory


class MissingPiece(Exception):
    """A stored layout names a piece the table lacks: the file is damaged."""


def migrate(db):
    """Within a write transaction: add what a file made before pieces lacks."""
    for table, column in COLUMNS:
        if column not in {row[1] for row in db.execute("PRAGMA table_info(%s)" % table)}:
            db.execute("ALTER TABLE %s ADD COLUMN %s BLOB" % (table, column))
    for statement in _TABLES:
        db.execute(statement)


def is_large(text):
    """Kept in pieces, not whole?"""
    return len(text) > pieces.INLINE_MAX


def stored(text, blob):
    """The value for a ``text``-like column: the text itself, or '' when
    ``blob`` (its layout) holds it in pieces."""
    return text if blob is None else ""


class PieceCache:
    """Pieces by id, shared by a store's transactions, so a large text is read
    from the file only where it changed. A piece's id is the hash of its
    data, so a cached piece can never be stale; the least recently used go
    first once they hold more than ``max_chars`` characters."""

    def __init__(self, max_chars=CACHE_CHARS):
        self.max_chars, self.chars = max_chars, 0
        self._pieces = collections.OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, ids):
        found = {}
        with self._lock:
            for pid in ids:
                data = self._pieces.get(pid)
                if data is not None:
                    self._pieces.move_to_end(pid)
                    found[pid] = data
        return found

    def put_many(self, found):
        with self._lock:
            for pid, data in found.items():
                if pid not in self._pieces:
                    self.chars += len(data)
                self._pieces[pid] = data
                self._pieces.move_to_end(pid)
            while self.chars > self.max_chars:
                self.chars -= len(self._pieces.popitem(last=False)[1])


class Session:
    """Pieces within one transaction on ``db``, read through the store's
    ``cache`` (a PieceCache)."""

    def __init__(self, db, cache):
        self.db, self.cache = db, cache
        self.known = {}  # (doc, layout blob) -> the text it stands for, read or written here
        self.written = {}   # doc -> layout blobs written here, newest first
        self.dropped = {}   # doc -> ids of layouts replaced or deleted here
        self.kept = {}      # doc -> ids of layouts this transaction stores

    def texts(self, doc, blobs):
        """{blob: text} for layouts of ``doc``, each piece read once."""
        wanted = {b: decode(b) for b in set(blobs) if b is not None and (doc, b) not in self.known}
        ids = list({pid for layout in wanted.values() for pid, _ in layout})
        data = self.cache.get_many(ids)
        missing = [pid for pid in ids if pid not in data]
        read = {}
        for k in range(0, len(missing), _BATCH):
            batch = missing[k:k + _BATCH]
            read.update(self.db.execute("SELECT id, data FROM pieces WHERE doc=? AND id IN (%s)"
                                        % ",".join("?" * len(batch)), [doc, *batch]))
        self.cache.put_many(read)
        data.update(read)
        for blob, layout in wanted.items():
            try:
                self.known[(doc, blob)] = join(layout, data)
            except KeyError:
                raise MissingPiece("a layout of %r names a piece that is not stored" % doc) from None
        return {b: self.known[(doc, b)] for b in blobs if b is not None}

    def write(self, doc, text, replaces=None, bases=()):
        """Store ``text`` of ``doc`` in place of the layout ``replaces``:
        returns its layout blob, or None when it is short enough to store
        whole. ``bases``: other layouts of ``doc`` stored now that may share
        most of it."""
        self.drop(doc, replaces)
        if not is_large(text):
            return None
        candidates = [b for b in (replaces, *self.written.get(doc, ()), *bases)
                      if b is not None and (doc, b) in self.known]
        for blob in candidates:
            if self.known[(doc, blob)] == text:
                return self._keep(doc, blob)
        base = (self.known[(doc, candidates[0])], decode(candidates[0])) if candidates else None
        layout, new = lay_out(text, base)
        self.db.executemany("INSERT OR IGNORE INTO pieces VALUES (?, ?, ?)",
                            [(doc, pid, data) for pid, data in new.items()])
        self.cache.put_many(new)  # the next sync reads them (rolled back, they are still what their ids say)
        blob = encode(layout)
        self.known[(doc, blob)] = text
        self.written.setdefault(doc, []).insert(0, blob)
        return self._keep(doc, blob)

    def _keep(self, doc, blob):
        self.kept.setdefault(doc, set()).update(pid for pid, _ in decode(blob))
        return blob

    def drop(self, doc, blob):
        """A layout of ``doc`` is replaced or deleted: its pieces may be garbage."""
        if blob is not None:
            self.dropped.setdefault(doc, set()).update(pid for pid, _ in decode(blob))

    def sweep(self):
        """Delete dropped pieces that no layout stored now names."""
        for doc, ids in self.dropped.items():
            ids = ids - self.kept.get(doc, set())
            if not ids:
                continue  # the common case: the pieces dropped are in what was written
            live = {pid for (blob,) in self.db.execute(_LAYOUTS_OF_DOC, (doc,)) for pid, _ in decode(blob)}
            gone = ids - live
            if gone:
                self.db.executemany("DELETE FROM pieces WHERE doc=? AND id=?", [(doc, pid) for pid in gone])
        self.dropped, self.kept = {}, {}


def sweep_all(db):
    """Delete every piece no stored layout names (after bulk deletions);
    returns how many went."""
    gone = 0
    for (doc,) in db.execute("SELECT DISTINCT doc FROM pieces").fetchall():
        live = {pid for (blob,) in db.execute(_LAYOUTS_OF_DOC, (doc,)) for pid, _ in decode(blob)}
        dead = [(doc, pid) for (pid,) in db.execute("SELECT id FROM pieces WHERE doc=?", (doc,)) if pid not in live]
        db.executemany("DELETE FROM pieces WHERE doc=? AND id=?", dead)
        gone += len(dead)
    return gone
