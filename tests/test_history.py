"""History: the pure snapshot and retention policy, and the store methods
that keep snapshots inside the text's own transaction, on every backend."""

import pytest

from mobwrite.history import DAY, Head, HistoryPolicy, Recorder, changed_size
from test_store_contract import outcome

POLICY = HistoryPolicy(interval=30, max_change=100)


def test_changed_size_counts_the_changed_middle():
    assert changed_size("hello world", "hello world") == 0
    assert changed_size("hello world", "hello there world") == 6
    assert changed_size("abc", "") == 3
    assert changed_size(None, "abc") == 3
    assert changed_size("aaaa", "aaa") == 1


def test_the_first_text_is_a_snapshot():
    taken, head = POLICY.plan(None, None, "hi", 100.0, ["ann"])
    assert [(s.seq, s.text, s.users) for s in taken] == [(1, "hi", ["ann"])]
    assert head == Head(seq=1, time=100.0, changed_at=100.0)


def test_edits_within_the_interval_are_throttled_then_saved_with_the_next():
    _, head = POLICY.plan(None, None, "a", 0.0, ["ann"])
    taken, head = POLICY.plan(head, "a", "ab", 10.0, ["bob"])
    assert taken == [] and head.dirty and head.users == ["bob"] and head.changed_at == 10.0
    taken, head = POLICY.plan(head, "ab", "abc", 20.0, ["ann"])
    assert taken == [] and head.users == ["ann", "bob"]
    # 30 s after the last snapshot: the unsaved state first, then the new text.
    taken, head = POLICY.plan(head, "abc", "abcd", 31.0, ["cy"])
    assert [(s.seq, s.time, s.text, s.users) for s in taken] == [(2, 20.0, "abc", ["ann", "bob"]),
                                                                 (3, 31.0, "abcd", ["cy"])]
    assert head == Head(seq=3, time=31.0, changed_at=31.0)


def test_a_big_change_is_saved_at_once_with_the_state_before_it():
    _, head = POLICY.plan(None, None, "x", 0.0, ["ann"])
    _, head = POLICY.plan(head, "x", "x" * 50, 1.0, ["ann"])
    taken, head = POLICY.plan(head, "x" * 50, "", 2.0, ["vandal"])
    assert [(s.seq, s.text) for s in taken] == [(2, "x" * 50), (3, "")]


def test_a_note_forces_a_snapshot_and_nullifying_keeps_history():
    _, head = POLICY.plan(None, None, "x", 0.0, [])
    taken, head2 = POLICY.plan(head, "x", "y", 1.0, ["ann"], note="restored #1")
    assert [(s.text, s.note) for s in taken] == [("y", "restored #1")]
    assert POLICY.plan(head2, "y", None, 2.0, ["ann"]) == ([], head2)


def test_retention_keeps_a_week_then_one_a_day_then_nothing():
    now = 200 * DAY
    snaps = [(1, now - 100 * DAY),                    # past 90 days: goes
             (2, now - 10 * DAY), (3, now - 10 * DAY + 60),  # same old day: the later stays
             (4, now - 20 * DAY),                     # alone on its day: stays
             (5, now - 3 * DAY), (6, now - 3 * DAY + 1)]  # within the week: all stay
    assert HistoryPolicy().prune(snaps, now) == [1, 2]


def _edit(store, recorder, old_to_new, **kw):
    def run(views, texts):
        return outcome(texts={"doc": old_to_new(texts.get("doc"))})
    return store.transact([], ["doc"], run, history=recorder)


# History entities bypass the shared cache: the cache variants add nothing here.
@pytest.mark.parametrize("backend", ["memory", "sqlite", "datastore"])
def test_store_keeps_snapshots_in_the_text_transaction(store):
    recorder = Recorder(HistoryPolicy(interval=3600, max_change=5), {"doc": {"ann"}})
    _edit(store, recorder, lambda t: "hello")
    _edit(store, recorder, lambda t: t + "!")              # throttled
    _edit(store, recorder, lambda t: "")                   # big: saves "hello!" and ""
    store.transact([], ["doc"], lambda v, t: outcome())    # no history: no snapshot
    listed = store.history_list("doc")
    assert [(s["id"], s["size"], s["users"]) for s in listed] == [(1, 5, ["ann"]), (2, 6, ["ann"]), (3, 0, ["ann"])]
    assert store.history_get("doc", 2).text == "hello!"
    assert store.history_get("doc", 9) is None and store.history_list("other") == []
    assert store.history_prune(HistoryPolicy(), listed[-1]["time"] + 8 * DAY) == 2
    assert [s["id"] for s in store.history_list("doc")] == [3]
