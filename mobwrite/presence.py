"""Presence: who has a document open, with an optional name, colour and caret.

On the wire (both lines are ignored by the original server and client,
which skip unknown letters):

- request ``p:JSON`` after a ``f:`` line (JSON escaped as text is): this
  user's ``{"name", "color", "caret"}`` for that document, or ``{"gone": 1}``
  from the page's last beacon;
- answer ``w:JSON`` after the blocks, one per document: ``{"doc", "people":
  [{"id", "name", "color", "caret"}]}`` — everyone seen in the last
  ``presence_timeout`` seconds but the asker. ``id`` is a hash of the user
  id (a session id, which stays private).

A board (the shared cache, or the store) holds the entries; ``Presence``
throttles it per process so most polls neither write nor read it.
"""

import dataclasses
import hashlib
import json
import re
import threading

from . import protocol, textcodec

_COLOR = re.compile(r"#[0-9A-Fa-f]{3,8}|[a-z]{3,20}")
MAX_NAME = 40
MAX_CARET = 2**31 - 1


def public_id(user):
    return hashlib.sha256(user.encode("utf-8")).hexdigest()[:10]


@dataclasses.dataclass(frozen=True)
class Info:
    name: str = ""
    color: str = ""
    caret: int = -1  # -1: not reported
    gone: bool = False

    def entry(self, user, now):
        return {"id": public_id(user), "name": self.name, "color": self.color, "caret": self.caret, "seen": now}


def _info(raw):
    """A ``p:`` value to Info, or None when it is not one (then it is ignored)."""
    try:
        data = json.loads(textcodec.decode(raw))
    except (ValueError, textcodec.DecodeError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("gone"):
        return Info(gone=True)
    name, color, caret = data.get("name", ""), data.get("color", ""), data.get("caret", -1)
    if not isinstance(name, str) or not isinstance(color, str) or type(caret) is not int:
        return None
    name = name.strip()[:MAX_NAME]
    if (name and not protocol.valid_name(name)) or (color and not _COLOR.fullmatch(color)):
        return None
    return Info(name, color, caret if 0 <= caret <= MAX_CARET else -1)


def parse(text, actions):
    """``(infos, asking)``: {(user, doc): Info} for the request — each ``p:``
    line, and a plain Info for every view with an action (original clients
    send no ``p:`` but are present all the same) — and the documents whose
    ``p:`` lines ask for ``w:`` answers (no one else gets them, so answers
    to original clients stay byte for byte as they were)."""
    found = {(a.user, a.doc): Info() for a in actions if a.kind != "n"}
    asking = set()
    user = doc = None
    for letter, value in protocol.lines(text):
        if letter in "uU":
            user = value if protocol.valid_name(value) else None
        elif letter in "fF":
            parsed = protocol.split_version(value)
            if parsed is not None:
                doc = parsed[1] if protocol.valid_name(parsed[1]) else None
        elif letter == "p" and user and doc:
            info = _info(value)
            if info is not None:
                found[(user, doc)] = info
                asking.add(doc)
    return found, asking


def answer_line(doc, people):
    payload = json.dumps({"doc": doc, "people": people}, ensure_ascii=False, separators=(",", ":"))
    return "w:" + textcodec.encode(payload)


class Presence:
    """The board behind a per-process throttle: an entry is written when it
    changes, leaves, or is ``refresh`` seconds old; a document's entries are
    read at most every ``refresh`` seconds. ``exchange(writes, docs, now)``
    writes {doc: {id: entry or None}} and returns {doc: {id: entry}} for docs."""

    def __init__(self, exchange, timeout=30.0, refresh=5.0):
        self.exchange, self.timeout, self.refresh = exchange, timeout, refresh
        self._lock = threading.Lock()
        self._written = {}  # (user, doc) -> (Info, when)
        self._read = {}     # doc -> ({id: entry}, when)

    def sync(self, infos, now):
        """Record this request's presence; returns {doc: people} for its
        documents, each list without the asker."""
        with self._lock:
            writes = {}
            for (user, doc), info in infos.items():
                last = self._written.get((user, doc))
                if last is None or last[0] != info or now - last[1] >= self.refresh or info.gone:
                    writes.setdefault(doc, {})[public_id(user)] = None if info.gone else info.entry(user, now)
                    self._written[(user, doc)] = (info, now)
                if info.gone:
                    self._written.pop((user, doc), None)
            docs = sorted({doc for _, doc in infos})
            stale = [d for d in docs if d not in self._read or now - self._read[d][1] >= self.refresh]
        if writes or stale:
            fresh = self.exchange(writes, stale, now)
        else:
            fresh = {}
        with self._lock:
            for doc, entries in fresh.items():
                self._read[doc] = (dict(entries), now)
            for doc, entries in writes.items():
                cached = self._read.setdefault(doc, ({}, now))[0]
                for pid, entry in entries.items():
                    if entry is None:
                        cached.pop(pid, None)
                    else:
                        cached[pid] = entry
            self._forget(now)
            return {doc: self._people(doc, infos, now) for doc in docs}

    def _people(self, doc, infos, now):
        mine = {public_id(user) for user, d in infos if d == doc}
        entries = self._read.get(doc, ({}, now))[0].values()
        return sorted(({k: e[k] for k in ("id", "name", "color", "caret")} for e in entries
                       if e["id"] not in mine and now - e["seen"] < self.timeout), key=lambda e: e["id"])

    def _forget(self, now):
        """Bound the process's memory: drop what is long past the timeout."""
        if len(self._written) + len(self._read) < 10_000:
            return
        old = now - 2 * self.timeout
        self._written = {k: v for k, v in self._written.items() if v[1] >= old}
        self._read = {k: v for k, v in self._read.items() if v[1] >= old}

    def people(self, doc, now):
        """Everyone present in ``doc`` (the landing page's counts); reads the board."""
        entries = self.exchange({}, [doc], now).get(doc, {})
        return [e for e in entries.values() if now - e["seen"] < self.timeout]
