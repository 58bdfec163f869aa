"""Push (issue 11): a wake-up channel beside the sync protocol, never a state channel.

A page holds one wait request naming its documents and the wake token it
last saw of each. The wait is answered as soon as one of them gets an edit
from someone else, or after ``push_timeout`` seconds; the page then runs an
ordinary sync. Answers carry document names and tokens, never text, so a
lost or late wake-up costs latency and nothing else: the page's poll stays
the safety net.

Request (``q=`` answered as JSON, ``p=`` as a ``mobwrite.wakeup(...)``
script), lines as in a sync request::

    u:USER          the page's user id: its own edits do not wake it
    t:TOKEN         an access token for the f: lines after it (issue 12)
    f:WAKE:DOC      a document, and the wake token last seen of it (empty at first)

A page's first wait (every WAKE empty) is answered at once with the tokens,
so the page knows push works; from then on its waits are held.

Answer: ``{"push": true, "docs": {doc: wake}, "woke": [doc], "denied": [doc],
"timeout": s}``, or ``{"push": false, "retry": s}`` when this gateway cannot
hold a wait now (no fan-out configured, too many waiters, the board down).

The hub holds one process's waiters; a board (``stores/wakes.py``) carries
wake tokens between processes. Nothing here does HTTP.
"""

import contextlib
import json
import logging
import re
import threading

from . import protocol
from .logs import Throttled
from .presence import public_id

log = logging.getLogger("mobwrite.push")
_WAKE = re.compile(r"[0-9A-Za-z_-]{0,40}")
RETRY_BUSY = 30      # seconds a page polls before it asks again, when the gateway is full or its board down
RETRY_NEVER = 3600   # ... when this deployment has no push at all
NOTHING_YET = "0"    # the wake token of a document no one has written (new_wake never makes it)


class WaitError(ValueError):
    """A wait request that does not parse: a 400 with this reason."""


def parse_wait(text, max_docs):
    """``(user, [(doc, wake, token)])`` from a wait request's lines, or WaitError."""
    user, token, wants = "", "", {}
    for letter, value in protocol.lines(text):
        if letter in "uU":
            if not protocol.valid_name(value):
                raise WaitError("the user id is not a valid name")
            user = value
        elif letter == "t":
            token = value
        elif letter in "fF":
            wake, sep, doc = value.partition(":")
            if not sep or not _WAKE.fullmatch(wake):
                raise WaitError("an f: line must be f:WAKE:DOC, WAKE up to 40 of [0-9A-Za-z_-]")
            if not protocol.valid_name(doc):
                raise WaitError("a document name is not valid")
            wants[doc] = (doc, wake, token)
            if len(wants) > max_docs:
                raise WaitError("more than %d documents in one wait" % max_docs)
        elif letter:
            raise WaitError("a wait request has only u:, t: and f: lines")
    if not user or not wants:
        raise WaitError("a wait names a user (u:) and at least one document (f:)")
    return user, list(wants.values())


def format_json(answer):
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def format_jsonp(answer):
    """One call of ``mobwrite.wakeup``; nothing in a name can end the script."""
    literal = format_json(answer).replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return "mobwrite.wakeup(%s);" % literal


class _Waiter:
    """One held wait: the tokens it knows, and what woke it."""

    def __init__(self, wants, me):
        self.wakes = dict(wants)  # doc -> wake token ("" : not known yet)
        self.me = me
        self.woke = set()
        self.event = threading.Event()  # a gevent Event under the gevent worker (patched)

    def see(self, doc, wake, by, first=False):
        known = self.wakes.get(doc)
        if known is None or wake == known:
            return
        self.wakes[doc] = wake
        # A first look adopts what is there; the page's own edit needs no
        # wake-up, since the sync that wrote it brought back everything before it.
        if (first and known == "") or by == self.me:
            return
        self.woke.add(doc)
        self.event.set()


class Hub:
    """One process's waiters over a board. ``max_waiters`` bounds the held
    requests (beyond it a wait answers at once: poll)."""

    def __init__(self, board, timeout=25.0, max_waiters=1000):
        self.board, self.timeout, self.max_waiters = board, timeout, max_waiters
        self._lock = threading.Lock()
        self._waiting = {}  # doc -> set of _Waiter
        self._count = 0
        self._listening = False
        self._warn = Throttled(log).warning

    @property
    def waiting(self):
        return self._count

    # -- the board's side -----------------------------------------------------

    def seen(self, doc, wake, by):
        """A board saw ``doc`` at ``wake``, written by ``by`` (a public id)."""
        with self._lock:
            for waiter in tuple(self._waiting.get(doc, ())):
                waiter.see(doc, wake, by)

    def watched(self):
        with self._lock:
            return list(self._waiting)

    def release_all(self):
        """Answer every held wait now, woken by nothing: the board reconnected
        or went down, and its pages re-arm (or poll) with what they know."""
        with self._lock:
            waiters = {w for group in self._waiting.values() for w in group}
        for waiter in waiters:
            waiter.event.set()

    # -- the service's side ---------------------------------------------------

    def publish(self, writers):
        """After a commit: wake the waiters of {doc: user} here and everywhere.
        Never raises: a lost wake-up only delays a page until its poll."""
        by = {doc: public_id(user) for doc, user in writers.items()}
        try:
            wakes = self.board.publish(by)
        except Exception as exc:  # noqa: BLE001 - the edit is committed; push is best effort
            self._warn("push: publish failed: %s" % exc)
            return
        for doc, wake in wakes.items():
            self.seen(doc, wake, by[doc])

    def wait(self, wants, user, timeout=None, hangup=None):
        """Hold until one of ``wants`` {doc: wake} changes under someone else's
        hand, or ``timeout``; the answer (see the module docstring).
        ``hangup(cut)``, if given, is a context manager that calls ``cut()``
        when the page goes away, so its wait stops holding a place."""
        if self.max_waiters <= 0:
            return {"push": False, "retry": RETRY_NEVER}
        self._listen()
        if not self.board.healthy or self._count >= self.max_waiters:
            return {"push": False, "retry": RETRY_BUSY}
        timeout = self.timeout if timeout is None else timeout
        waiter = _Waiter(wants, public_id(user))
        self._enter(waiter)
        try:
            try:
                current = self.board.current(list(wants))
            except Exception as exc:  # noqa: BLE001 - no board: the page polls
                self._warn("push: board unreadable: %s" % exc)
                return {"push": False, "retry": RETRY_BUSY}
            arming = not any(wants.values())
            with self._lock:
                for doc, (wake, by) in current.items():
                    waiter.see(doc, wake, by, first=True)
                for doc, wake in waiter.wakes.items():
                    if not wake:
                        waiter.wakes[doc] = NOTHING_YET
            if not arming:  # a page's first wait learns the tokens at once, and knows push is on
                with hangup(waiter.event.set) if hangup else contextlib.nullcontext():
                    waiter.event.wait(timeout)
        finally:
            self._leave(waiter)
        return {"push": True, "docs": waiter.wakes, "woke": sorted(waiter.woke), "timeout": timeout}

    def _enter(self, waiter):
        with self._lock:
            self._count += 1
            for doc in waiter.wakes:
                self._waiting.setdefault(doc, set()).add(waiter)

    def _leave(self, waiter):
        with self._lock:
            self._count -= 1
            for doc in waiter.wakes:
                group = self._waiting.get(doc)
                if group is not None:
                    group.discard(waiter)
                    if not group:
                        del self._waiting[doc]

    def _listen(self):
        # Started at the first wait, in the process that serves it (gunicorn
        # forks workers after import; a thread started before would not exist there).
        with self._lock:
            if self._listening:
                return
            self._listening = True
        self.board.listen(self)

    def close(self):
        self.release_all()
        self.board.close()
