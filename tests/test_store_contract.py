"""The Store interface itself, run unchanged on every backend."""

import threading

from mobwrite.engine import Outcome, View
from mobwrite.protocol import Fragment


def outcome(views=None, deleted=(), texts=None, unchanged_shadows=()):
    """What the engine hands a store; every view's shadow counts as new
    unless named in ``unchanged_shadows`` (the store may skip writing those)."""
    views = views or {}
    return Outcome([], views, set(deleted), texts or {}, [], set(views) - set(unchanged_shadows))


def test_a_new_store_is_empty(store):
    assert store.read([("ann", "doc")], ["doc"]) == ({}, {})


def test_transact_writes_texts_and_views_together(store):
    view = View(shadow="hi", client_version=3, server_version=2, backup_shadow="h", backup_version=1,
                edit_stack=[[1, "d:1:=1\t+i"]], delta_ok=False)
    seen = []

    def run(views, texts):
        seen.append((views, texts))
        return outcome({("ann", "doc"): view}, texts={"doc": "hi"})

    assert store.transact([("ann", "doc")], ["doc"], run).texts == {"doc": "hi"}
    assert seen == [({}, {})]
    assert store.read([("ann", "doc")], ["doc"]) == ({("ann", "doc"): view}, {"doc": "hi"})


def test_views_round_trip_exactly(store):
    odd = "tab\t, newline\n, emoji 😀, quote \" and NUL-free unicode é"
    view = View(shadow=odd, backup_shadow=odd + "!", edit_stack=[[0, "R:0:" + odd]])
    store.write_views(outcome({("u 1", "d:ü"): view}))
    assert store.read([("u 1", "d:ü")], [])[0] == {("u 1", "d:ü"): view}


def test_an_unchanged_shadow_is_kept_while_the_state_changes(store):
    store.write_views(outcome({("ann", "doc"): View(shadow="big text", client_version=1)}))
    store.write_views(outcome({("ann", "doc"): View(shadow="big text", client_version=2)},
                              unchanged_shadows=[("ann", "doc")]))
    assert store.read([("ann", "doc")], [])[0] == {("ann", "doc"): View(shadow="big text", client_version=2)}


def test_write_views_never_touches_texts(store):
    store.transact([], ["doc"], lambda v, t: outcome(texts={"doc": "kept"}))
    store.write_views(outcome({("ann", "doc"): View()}, texts={"doc": "ignored"}))
    assert store.read([], ["doc"])[1] == {"doc": "kept"}


def test_none_deletes_a_text_and_deleted_views_go(store):
    store.transact([("ann", "doc")], ["doc"], lambda v, t: outcome({("ann", "doc"): View()}, texts={"doc": "x"}))
    store.transact([("ann", "doc")], ["doc"], lambda v, t: outcome(deleted=[("ann", "doc")], texts={"doc": None}))
    assert store.read([("ann", "doc")], ["doc"]) == ({}, {})


def test_an_empty_text_is_not_a_null_text(store):
    store.transact([], ["doc"], lambda v, t: outcome(texts={"doc": ""}))
    assert store.read([], ["doc"])[1] == {"doc": ""}


def test_concurrent_transactions_on_one_text_lose_no_update(store):
    """Each transaction appends to what it read: any lost update shows."""
    def append(letter):
        def run(views, texts):
            return outcome(texts={"doc": texts.get("doc", "") + letter})
        return run

    errors = []

    def worker(letter):
        try:
            for _ in range(5):
                store.transact([], ["doc"], append(letter))
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(c,)) for c in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    text = store.read([], ["doc"])[1]["doc"]
    assert sorted(text) == sorted("abcd" * 5)


def test_fragments_complete_once_in_index_order(store):
    pieces = {i: "piece%d;" % i for i in (1, 2, 3)}
    assert store.add_fragment(Fragment("buf", 3, 3, pieces[3]), 60) is None
    assert store.add_fragment(Fragment("buf", 3, 1, pieces[1]), 60) is None
    assert store.add_fragment(Fragment("buf", 3, 1, "repeat ignored"), 60) is None
    assert store.add_fragment(Fragment("buf", 3, 2, pieces[2]), 60) == [pieces[1], pieces[2], pieces[3]]
    # The buffer is gone once complete: the same id starts afresh.
    assert store.add_fragment(Fragment("buf", 3, 2, "again"), 60) is None


def test_buffers_are_keyed_by_id_and_size(store):
    assert store.add_fragment(Fragment("buf", 2, 1, "a"), 60) is None
    assert store.add_fragment(Fragment("buf", 3, 2, "b"), 60) is None
    assert store.add_fragment(Fragment("buf", 2, 2, "c"), 60) == ["a", "c"]


def test_cleanup_with_nothing_idle_deletes_nothing(store):
    store.transact([("ann", "doc")], ["doc"], lambda v, t: outcome({("ann", "doc"): View()}, texts={"doc": "x"}))
    store.add_fragment(Fragment("buf", 2, 1, "a"), 60)
    assert store.cleanup(0, 0, 0) == {"views": 0, "texts": 0, "buffers": 0}
    assert store.read([("ann", "doc")], ["doc"])[1] == {"doc": "x"}


def test_concurrent_polls_on_one_view_lose_no_update(store):
    """Each poll counts one more on the view it read, and falls back to a
    transaction as the service does when the poll declines: a view written
    between another poll's read and its write would lose a count."""
    store.write_views(outcome({("ann", "doc"): View(shadow="s")}))

    def count(views, texts):
        view = views[("ann", "doc")]
        return outcome({("ann", "doc"): View(shadow="s", client_version=view.client_version + 1)},
                       unchanged_shadows=[("ann", "doc")])

    errors = []

    def worker():
        try:
            for _ in range(10):
                if store.poll([("ann", "doc")], ["doc"], count) is None:
                    store.transact([("ann", "doc")], ["doc"], count)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.read([("ann", "doc")], [])[0][("ann", "doc")].client_version == 40
