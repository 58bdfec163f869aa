"""Large texts in pieces (mobwrite/stores/pieces.py, pieces_sql.py): the
layouts rebuild every text exactly, a small edit writes a piece and not the
document, and the SQLite table never keeps a piece nobody needs nor loses
one somebody does."""

import random
import sqlite3

import pytest

from mobwrite.engine import Outcome, View
from mobwrite.stores import pieces, pieces_sql
from mobwrite.stores.sqlite import SqliteStore

from backends import make_settings
from simulation import assert_converged, simulate
from test_store_equivalence import _recorded_run


def _edit(text, rng):
    at = rng.randrange(len(text) + 1)
    kind = rng.random()
    if kind < 0.5:
        return text[:at] + "".join(rng.choice("xyzé😀\n") for _ in range(rng.randint(1, 8))) + text[at:]
    if kind < 0.9:
        return text[:at] + text[at + rng.randint(1, 300):]
    return text[:at] + "w" * rng.randint(1, 3 * pieces.SIZE) + text[at:]


def test_layouts_rebuild_the_text_and_a_small_edit_adds_one_piece():
    rng = random.Random(5)
    text = "".join(rng.choice("abc é😀\n") for _ in range(300_000))
    layout, held = pieces.lay_out(text)
    assert pieces.join(layout, held) == text
    for _ in range(400):
        edited = _edit(text, rng)
        layout, new = pieces.lay_out(edited, (text, layout))
        held.update(new)
        assert pieces.join(layout, held) == edited
        assert pieces.decode(pieces.encode(layout)) == layout
        if abs(len(edited) - len(text)) <= 8:
            assert len(new) <= 2, "a small edit re-cut %d pieces" % len(new)
        text = edited
    # Deletions do not wear the pieces down to crumbs.
    assert len(layout) <= 2 * len(text) / pieces.SIZE + 2


def _pieces_match_layouts(path):
    """Every piece a layout names is stored, and no other piece is."""
    with sqlite3.connect(path) as db:
        named = set()
        for table, column in pieces_sql.COLUMNS:
            for doc, blob in db.execute("SELECT doc, %s FROM %s WHERE %s IS NOT NULL" % (column, table, column)):
                named.update((doc, pid) for pid, _ in pieces.decode(blob))
        held = set(db.execute("SELECT doc, id FROM pieces"))
    return named == held, len(named), len(held)


def _outcome(views=None, texts=None, deleted=()):
    views = views or {}
    return Outcome([], views, set(deleted), texts or {}, [], set(views))


def test_a_large_text_shadow_and_backup_round_trip_and_share_pieces(tmp_path):
    path = str(tmp_path / "m.sqlite3")
    store = SqliteStore(path)
    rng = random.Random(2)
    big = "".join(rng.choice("line of text é😀\n") for _ in range(320_000))  # no repeats: pieces all differ
    edited = big[:1000] + "NEW" + big[1000:]
    view = View(shadow=edited, backup_shadow=big, client_version=2, server_version=3, edit_stack=[[2, "d:2:=5"]])
    store.transact([("ann", "doc")], ["doc"], lambda v, t: _outcome({("ann", "doc"): view}, {"doc": edited}))
    assert store.read([("ann", "doc")], ["doc"]) == ({("ann", "doc"): view}, {"doc": edited})
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT text FROM texts").fetchone() == ("",)
        assert db.execute("SELECT shadow FROM shadows").fetchone() == ("",)
        stored = sum(len(d) for (d,) in db.execute("SELECT data FROM pieces"))
    # text and shadow are one layout; the backup adds only the pieces around its difference
    assert len(edited) <= stored < len(edited) + 3 * pieces.SIZE
    assert _pieces_match_layouts(path)[0]
    store.close()


def test_a_small_edit_to_a_large_text_writes_a_piece_not_the_text(tmp_path):
    path = str(tmp_path / "m.sqlite3")
    store = SqliteStore(path)
    rng = random.Random(1)
    text = "".join(rng.choice("abcdefgh \n") for _ in range(1_000_000))
    store.transact([("ann", "doc")], ["doc"],
                   lambda v, t: _outcome({("ann", "doc"): View(shadow=text)}, {"doc": text}))
    with sqlite3.connect(path) as db:
        before = set(db.execute("SELECT id FROM pieces"))
    edited = text[:500_000] + "abcd" + text[500_000:]
    store.transact([("ann", "doc")], ["doc"],
                   lambda v, t: _outcome({("ann", "doc"): View(shadow=edited)}, {"doc": edited}))
    with sqlite3.connect(path) as db:
        after = set(db.execute("SELECT id FROM pieces"))
    assert len(after - before) == 1 and len(before - after) == 1  # one piece in, the one it replaces out
    assert store.read([("ann", "doc")], ["doc"])[1] == {"doc": edited}
    store.close()


def test_pieces_follow_views_deleted_texts_nullified_and_cleanup(tmp_path):
    path = str(tmp_path / "m.sqlite3")
    store = SqliteStore(path)
    big = "x" * 100_000
    for user in ("ann", "bob"):
        store.write_views(_outcome({(user, "doc"): View(shadow=big + user)}))
    store.transact([], ["doc"], lambda v, t: _outcome(texts={"doc": big + "!"}))
    assert _pieces_match_layouts(path)[0]
    store.write_views(_outcome(deleted=[("ann", "doc")]))
    assert _pieces_match_layouts(path)[0]
    store.transact([("bob", "doc")], ["doc"], lambda v, t: _outcome(deleted=[("bob", "doc")], texts={"doc": None}))
    ok, named, held = _pieces_match_layouts(path)
    assert ok and named == held == 0
    store.write_views(_outcome({("cy", "doc2"): View(shadow=big)}))
    store.cleanup(view_cutoff=2e9, text_cutoff=2e9, buffer_cutoff=2e9)
    ok, named, held = _pieces_match_layouts(path)
    assert ok and held == 0
    store.close()


def test_a_file_from_before_pieces_is_read_and_upgraded(tmp_path):
    path = str(tmp_path / "old.sqlite3")
    with sqlite3.connect(path) as db:  # the schema as it stood before pieces
        db.executescript("""
            CREATE TABLE texts (doc TEXT PRIMARY KEY, text TEXT NOT NULL, updated REAL NOT NULL);
            CREATE TABLE views (user TEXT NOT NULL, doc TEXT NOT NULL, state TEXT NOT NULL,
                                updated REAL NOT NULL, PRIMARY KEY (user, doc));
            CREATE TABLE shadows (user TEXT NOT NULL, doc TEXT NOT NULL, shadow TEXT NOT NULL,
                                  PRIMARY KEY (user, doc));""")
        big = "old text\n" * 10_000
        db.execute("INSERT INTO texts VALUES ('doc', ?, 1)", (big,))
        db.execute("INSERT INTO views VALUES ('ann', 'doc', ?, 1)", (View(shadow=big).state(),))
        db.execute("INSERT INTO shadows VALUES ('ann', 'doc', ?)", (big,))
    store = SqliteStore(path)
    assert store.read([("ann", "doc")], ["doc"]) == ({("ann", "doc"): View(shadow=big)}, {"doc": big})
    store.transact([("ann", "doc")], ["doc"],
                   lambda v, t: _outcome({("ann", "doc"): View(shadow=big + "+")}, {"doc": big + "+"}))
    assert store.read([("ann", "doc")], ["doc"]) == ({("ann", "doc"): View(shadow=big + "+")}, {"doc": big + "+"})
    assert _pieces_match_layouts(path)[0]
    store.close()
    SqliteStore(path).close()  # a second open finds nothing left to upgrade


def test_a_missing_piece_is_a_clear_error(tmp_path):
    path = str(tmp_path / "m.sqlite3")
    store = SqliteStore(path)
    store.transact([], ["doc"], lambda v, t: _outcome(texts={"doc": "y" * 100_000}))
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM pieces WHERE rowid IN (SELECT rowid FROM pieces LIMIT 1)")
    # A store that opens the damaged file (the one above still holds the
    # pieces it wrote in memory, and they are what their ids say).
    store = SqliteStore(path)
    with pytest.raises(pieces_sql.MissingPiece):
        store.read([], ["doc"])
    store.close()


@pytest.fixture
def tiny_pieces(monkeypatch):
    """Pieces of a few characters, so that a short simulation cuts, shares
    and sweeps thousands of them."""
    monkeypatch.setattr(pieces, "INLINE_MAX", 24)
    monkeypatch.setattr(pieces, "SIZE", 16)


@pytest.mark.parametrize("seed", [21, 22])
def test_lossy_typists_answer_as_on_the_memory_store_with_tiny_pieces(tiny_pieces, seed, request, tmp_path):
    expected = _recorded_run(make_settings("memory", request, tmp_path), seed, 500)
    settings = make_settings("sqlite", request, tmp_path / "tiny")
    got = _recorded_run(settings, seed, 500)
    first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), None)
    assert len(got) == len(expected) and first is None, first
    ok, named, held = _pieces_match_layouts(settings.sqlite_path)
    assert ok and held > 10, (named, held)


def test_lossy_typists_converge_on_tiny_pieces(tiny_pieces, request, tmp_path):
    from main import create_app
    settings = make_settings("sqlite", request, tmp_path)
    store = SqliteStore(settings.sqlite_path)
    client = create_app(settings, store).test_client()
    typists, _ = simulate(lambda text: client.post("/sync", data={"q": text}).get_data(as_text=True),
                          seed=31, users=4, steps=400)
    master = store.read([], ["lossy"])[1]["lossy"]
    assert_converged(typists, master)
    store.close()


def test_racing_threads_keep_every_piece_a_layout_needs(tiny_pieces, request, tmp_path):
    """Polls read outside the write lock and write after it; edits race them.
    A poll must never reuse a piece that a racing edit swept meanwhile."""
    import sys
    import threading

    from main import create_app
    from simulation import Typist

    settings = make_settings("sqlite", request, tmp_path)
    store = SqliteStore(settings.sqlite_path)
    app = create_app(settings, store)
    typists = [Typist("t%d" % n, "race", random.Random(n)) for n in range(4)]
    errors = []

    def work(typist):
        client = app.test_client()
        try:
            for step in range(60):
                if step % 3 == 0:
                    typist.type()
                typist.receive(client.post("/sync", data={"q": typist.request()}).get_data(as_text=True))
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(repr(exc))

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        threads = [threading.Thread(target=work, args=(t,)) for t in typists]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(before)
    assert errors == []
    client = app.test_client()
    for _ in range(3):
        for typist in typists:
            typist.receive(client.post("/sync", data={"q": typist.request()}).get_data(as_text=True))
    assert len(assert_converged(typists, store.read([], ["race"])[1]["race"])) > 40
    assert _pieces_match_layouts(settings.sqlite_path)[0]
    store.close()
