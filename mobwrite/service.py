"""One request, end to end but for HTTP: buffers, parsing, the engine, the store.

Idle polls take the cheap path: a cacheable read and a batch write of views.
Anything that may change a text runs inside one store transaction.
"""

import logging
import time
import urllib.parse

from . import access, history, presence, protocol, push
from .engine import Engine
from .logs import Throttled

log = logging.getLogger("mobwrite.sync")
MAX_BUFFER_DEPTH = 3


class SyncService:
    """The sync service over one store; built by ``mobwrite.wiring``."""

    def __init__(self, settings, store, buffers, cache=None, guard=None):
        self.settings = settings
        self.store = store
        self.buffers = buffers  # anything with add_fragment(fragment, ttl): the cache's, or the store
        self.cache = cache      # the shared cache the parts above came from, kept to close it
        self.engine = Engine(settings.max_chars, settings.diff_timeout)
        self.guard = guard      # issue 12: an access.Guard (policy, keys, limiter), or None: open, unlimited
        self.history = None   # a history.HistoryPolicy, set by wiring (issue 13)
        self.presence = None  # a presence.Presence, set by wiring (issue 13)
        self.push = None      # a push.Hub, set by wiring (issue 11)
        self._presence_warning = Throttled(log)

    def handle(self, text, client_ip=None):
        """Answer lines for one request's text (PROTOCOL.md); [] when there is
        nothing to say. Raises limits.RateLimited when over a limit."""
        if not protocol.is_complete(text):
            if self.guard is not None:
                self.guard.limiter.check_client(client_ip)
            return []
        return self._handle(text, depth=0, client_ip=client_ip)

    def _handle(self, text, depth, client_ip=None):
        request = protocol.parse(text)
        if self.guard is not None and client_ip is not None and (request.fragments or not request.actions):
            self.guard.limiter.check_client(client_ip)  # else counted with the actions, in one cache call
            client_ip = None
        for fragment in request.fragments:
            joined = self._add_fragment(fragment, depth)
            if joined is not None:
                return self._handle(joined, depth + 1)
        infos, asking = presence.parse(text, request.actions) if self.presence is not None else ({}, ())
        if not request.actions:
            self._presence_lines(self._visible(infos, ()), ())  # a leaving page's beacon has no edit
            return []
        screened = self.guard.screen(request.actions, client_ip) if self.guard else access.Screened(request.actions, [], [])
        infos = self._visible(infos, screened.actions)
        for note in screened.notes:
            log.warning(note)
        if not screened.actions:
            return screened.lines
        started = time.perf_counter()
        outcome = self.sync(screened.actions, infos)
        for note in outcome.notes:
            log.warning(note)
        log.debug("sync: %d actions, %d docs, %s, %.1f ms", len(request.actions),
                  len({a.doc for a in request.actions}),
                  "text written" if outcome.changes_text else "views only",
                  (time.perf_counter() - started) * 1000)
        return screened.lines + outcome.lines + self._presence_lines(infos, asking)

    def _visible(self, infos, actions):
        """Presence only where this request may be: a document it holds an
        action for after access was checked, or one no token guards. Else a
        client without a token could list, or join, a private document's
        people (its p: lines are read apart from its edits)."""
        if self.guard is None:
            return infos
        allowed = {a.doc for a in actions}
        return {key: info for key, info in infos.items()
                if key[1] in allowed or not self.guard.policy.guards(key[1])}

    def _presence_lines(self, infos, asking):
        """``w:`` lines (issue 13); presence is best effort, never a failed sync."""
        if not infos:
            return []
        try:
            found = self.presence.sync(infos, time.time())
        except Exception:  # noqa: BLE001 - a cache or store hiccup costs presence, not the edit
            self._presence_warning.warning("presence unavailable", exc_info=True)
            return []
        return [presence.answer_line(doc, people) for doc, people in found.items() if doc in asking]

    def _recorder(self, actions, infos):
        """What the store needs to keep history for these actions, or None."""
        if self.history is None:
            return None
        labels = {}
        for doc, users in history.editors(actions).items():
            labels[doc] = {(infos.get((u, doc)) or presence.Info()).name or "guest-" + presence.public_id(u)[:6]
                           for u in users}
        return history.Recorder(self.history, labels)

    def sync(self, actions, infos=None):
        view_keys = list(dict.fromkeys((a.user, a.doc) for a in actions))
        docs = list(dict.fromkeys(a.doc for a in actions))

        def run(views, texts):
            return self.engine.run(actions, views, texts)

        if not protocol.may_change_text(actions):
            outcome = self.store.poll(view_keys, docs, run)
            if outcome is not None:
                return outcome
        outcome = self.store.transact(view_keys, docs, run, history=self._recorder(actions, infos or {}))
        if outcome.texts and self.push is not None:  # committed: now others may be woken
            writers = {}
            for action in actions:
                writers.setdefault(action.doc, action.user)
            self.push.publish({doc: writers[doc] for doc in outcome.texts})
        return outcome

    def cleanup(self, now=None):
        """Delete what has been idle past its timeout; counts by kind."""
        now = time.time() if now is None else now
        s = self.settings
        counts = self.store.cleanup(now - s.timeout_view, now - s.timeout_text, now - s.timeout_buffer)
        counts["snapshots"] = self.store.history_prune(self.history, now) if self.history else 0
        return counts

    def wait(self, text, hangup=None):
        """A push wait (issue 11): its answer dict, after up to push_timeout
        seconds (or until ``hangup`` says the page left: push.Hub.wait).
        Raises push.WaitError for a malformed request."""
        if self.push is None:
            return {"push": False, "retry": push.RETRY_NEVER}
        user, wants = push.parse_wait(text, self.settings.push_max_docs)
        allowed, denied = {}, []
        for doc, wake, token in wants:
            if self.guard is None or self.guard.right(token, doc) != "none":
                allowed[doc] = wake
            else:
                denied.append(doc)
        if not allowed:
            return {"push": True, "docs": {}, "woke": [], "denied": denied, "timeout": 0}
        answer = self.push.wait(allowed, user, hangup=hangup)
        if denied:
            answer["denied"] = denied
        return answer

    def close(self):
        if self.push is not None:
            self.push.close()
        self.store.close()
        if self.cache is not None:
            self.cache.close()

    def _add_fragment(self, fragment, depth):
        """Keep a fragment; the joined request text once the buffer completes."""
        s = self.settings
        if depth >= MAX_BUFFER_DEPTH or fragment.size > s.buffer_max_fragments:
            return None
        if len(fragment.data) > -(-s.buffer_max_bytes // fragment.size):
            return None  # its buffer could not stay under buffer_max_bytes
        pieces = [fragment.data] if fragment.size == 1 else self.buffers.add_fragment(fragment, s.timeout_buffer)
        if pieces is None:
            return None
        try:
            joined = urllib.parse.unquote("".join(pieces), errors="strict")
        except UnicodeDecodeError:
            log.warning("buffer %s: joined fragments are not valid UTF-8; ignored", fragment.id)
            return None
        return joined if joined.endswith("\n\n") else joined + "\n"
