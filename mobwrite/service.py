"""One request, end to end but for HTTP: buffers, parsing, the engine, the store.

Idle polls take the cheap path: a cacheable read and a batch write of views.
Anything that may change a text runs inside one store transaction.
"""

import dataclasses
import logging
import time
import urllib.parse

from . import protocol
from .engine import Engine

log = logging.getLogger("mobwrite.sync")
MAX_BUFFER_DEPTH = 3


@dataclasses.dataclass
class Limits:
    max_fragments: int = 1000
    max_bytes: int = 2 * 1024 * 1024
    buffer_ttl: float = 15 * 60


class SyncService:
    def __init__(self, store, engine=None, limits=None, buffers=None):
        self.store = store
        self.engine = engine or Engine()
        self.limits = limits or Limits()
        self.buffers = buffers or store  # anything with add_fragment(fragment, ttl)

    def handle(self, text):
        """Answer lines for one request's text (PROTOCOL.md); [] when there is
        nothing to say."""
        if not protocol.is_complete(text):
            return []
        return self._handle(text, depth=0)

    def _handle(self, text, depth):
        request = protocol.parse(text)
        for fragment in request.fragments:
            joined = self._add_fragment(fragment, depth)
            if joined is not None:
                return self._handle(joined, depth + 1)
        if not request.actions:
            return []
        started = time.perf_counter()
        outcome = self.sync(request.actions)
        for note in outcome.notes:
            log.warning(note)
        log.debug("sync: %d actions, %d docs, %s, %.1f ms", len(request.actions),
                  len({a.doc for a in request.actions}),
                  "text written" if outcome.changes_text else "views only",
                  (time.perf_counter() - started) * 1000)
        return outcome.lines

    def sync(self, actions):
        view_keys = list(dict.fromkeys((a.user, a.doc) for a in actions))
        docs = list(dict.fromkeys(a.doc for a in actions))

        def run(views, texts):
            return self.engine.run(actions, views, texts)

        if not protocol.may_change_text(actions):
            outcome = run(*self.store.read(view_keys, docs))
            if not outcome.changes_text:
                self.store.write_views(outcome)
                return outcome
        return self.store.transact(view_keys, docs, run)

    def _add_fragment(self, fragment, depth):
        """Keep a fragment; the joined request text once the buffer completes."""
        limits = self.limits
        if depth >= MAX_BUFFER_DEPTH or fragment.size > limits.max_fragments:
            return None
        if len(fragment.data) > -(-limits.max_bytes // fragment.size):
            return None  # its buffer could not stay under max_bytes
        pieces = [fragment.data] if fragment.size == 1 else self.buffers.add_fragment(fragment, limits.buffer_ttl)
        if pieces is None:
            return None
        try:
            joined = urllib.parse.unquote("".join(pieces), errors="strict")
        except UnicodeDecodeError:
            log.warning("buffer %s: joined fragments are not valid UTF-8; ignored", fragment.id)
            return None
        return joined if joined.endswith("\n\n") else joined + "\n"
