"""Document history as pure policy: when to take a snapshot, which to keep.

No I/O: stores call ``HistoryPolicy.plan`` inside the transaction that
changes a text (so a snapshot costs no extra round trip), and cron calls
``prune`` with the snapshots' times. Snapshots hold the whole text, zlib
compressed (``pack``/``unpack``): any one is fetched with a single read.
"""

import dataclasses
import datetime
import json
import zlib

from .protocol import may_change_text
from .spans import changed_span

DAY = 24 * 60 * 60


@dataclasses.dataclass
class Head:
    """What a document's history remembers between snapshots; stored beside
    the text and read in the same batch."""

    seq: int = 0           # the last snapshot's number (1, 2, ...); 0: none yet
    time: float = 0.0      # when the last snapshot was taken
    dirty: bool = False    # the text has changed since the last snapshot
    changed: int = 0       # characters changed since the last snapshot
    changed_at: float = 0.0  # when the text last changed
    users: list = dataclasses.field(default_factory=list)  # who changed it since

    def dumps(self):
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def loads(cls, raw):
        return cls(**json.loads(raw)) if raw else None


@dataclasses.dataclass
class Snapshot:
    seq: int
    time: float
    text: str
    users: list
    note: str = ""  # e.g. "restored #3"

    def meta(self):
        return {"id": self.seq, "time": self.time, "size": len(self.text), "users": self.users,
                "note": self.note}


def pack(text):
    return zlib.compress(text.encode("utf-8"), 6)


def unpack(blob):
    return zlib.decompress(blob).decode("utf-8")


def changed_size(old, new):
    """Characters in the changed middle of old -> new, after the common prefix
    and suffix: a cheap, diff-free measure of how much an edit did."""
    old, new = old or "", new or ""
    prefix, suffix = changed_span(old, new)
    return max(len(old), len(new)) - prefix - suffix


@dataclasses.dataclass(frozen=True)
class HistoryPolicy:
    interval: float = 30.0     # seconds of editing between snapshots
    max_change: int = 500      # or sooner, once this many characters changed
    max_fraction: float = 0.5  # or at once, when one edit changes this much of the text
    keep_all: float = 7 * DAY  # every snapshot this long
    keep_daily: float = 90 * DAY  # then the day's last one this long

    def plan(self, head, old, new, now, users, note=""):
        """The snapshots to write for a text going from ``old`` to ``new``
        (None: null) by ``users``, and the head to store. Before a snapshot
        of ``new``, an unsaved earlier state (``old``) is saved too, so the
        text as it stood before a big deletion is always there to restore."""
        if new is None:
            return [], head  # nullified: the history stays, as it was
        users = sorted(set(users))
        if head is None or head.seq == 0:
            head = Head()
            return self._take(head, [], new, now, users, note)
        edit = changed_size(old, new)
        changed = head.changed + edit
        all_users = sorted(set(head.users) | set(users))
        drastic = len(old or "") >= 10 and edit > self.max_fraction * len(old)  # most of the text at once
        if not (note or drastic or now - head.time >= self.interval or changed > self.max_change):
            return [], Head(head.seq, head.time, True, changed, now, all_users)
        taken = []
        if head.dirty and old is not None:
            head = dataclasses.replace(head, seq=head.seq + 1)
            taken.append(Snapshot(head.seq, head.changed_at or now, old, head.users))
        return self._take(head, taken, new, now, users, note)

    @staticmethod
    def _take(head, taken, new, now, users, note):
        seq = head.seq + 1
        taken.append(Snapshot(seq, now, new, users, note))
        return taken, Head(seq, now, False, 0, now, [])

    def prune(self, snapshots, now):
        """Which of ``snapshots`` [(seq, time)] of one document to delete:
        all within ``keep_all`` stay; older ones within ``keep_daily`` keep
        the last of each UTC day; older still go."""
        keep_day = {}
        doomed = []
        for seq, time in sorted(snapshots):
            age = now - time
            if age <= self.keep_all:
                continue
            if age > self.keep_daily:
                doomed.append(seq)
                continue
            day = datetime.datetime.fromtimestamp(time, datetime.timezone.utc).date()
            if day in keep_day:
                doomed.append(keep_day[day])
            keep_day[day] = seq
        return sorted(doomed)


def editors(actions):
    """Per document, the users whose lines in this request could change its text."""
    found = {}
    for action in actions:
        if action.kind != "n" and may_change_text([action]):
            found.setdefault(action.doc, set()).add(action.user)
    return found


@dataclasses.dataclass
class Recorder:
    """What a store needs to keep history inside one transaction: the policy,
    who edited which document, and a note (a restore says what it restored)."""

    policy: HistoryPolicy
    editors: dict = dataclasses.field(default_factory=dict)  # doc -> user labels
    note: str = ""

    def plan(self, heads, old_texts, new_texts, now):
        """``(snapshots, heads)`` to write, by document, for the texts an
        outcome changes; documents whose head stays as it was are left out."""
        snapshots, new_heads = {}, {}
        for doc, new in new_texts.items():
            taken, head = self.policy.plan(heads.get(doc), old_texts.get(doc), new, now,
                                           self.editors.get(doc, ()), self.note)
            if taken:
                snapshots[doc] = taken
            if head is not heads.get(doc):
                new_heads[doc] = head
        return snapshots, new_heads
