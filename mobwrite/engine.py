"""The sync engine: PROTOCOL.md's algorithm over plain values, with no I/O.

``Engine.run`` takes the parsed actions plus a snapshot of the views and
texts they touch, and returns the answer lines and what must be written.
Stores run it inside a transaction where the text can change, so it must
be deterministic and must not mutate its inputs.
"""

import dataclasses
import itertools
import json

from . import delta as deltas
from . import merge, protocol, textcodec


@dataclasses.dataclass
class View:
    """The server's memory of one (user, document) conversation."""

    shadow: str = ""
    client_version: int = 0
    server_version: int = 0
    backup_shadow: str = ""
    backup_version: int = 0
    edit_stack: list = dataclasses.field(default_factory=list)  # [[version, line]]
    delta_ok: bool = True

    def copy(self):
        return dataclasses.replace(self, edit_stack=[list(e) for e in self.edit_stack])

    def state(self):
        """Everything but the shadow, as JSON. Stores keep the shadow apart:
        it is the bulk of a view and most syncs leave it as it was."""
        # By hand, not dataclasses.asdict: that deep-copies the edit stack on every sync.
        data = {"client_version": self.client_version, "server_version": self.server_version,
                "backup_shadow": None if self.backup_shadow == self.shadow else self.backup_shadow,
                "backup_version": self.backup_version, "edit_stack": self.edit_stack,
                "delta_ok": self.delta_ok}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_state(cls, state, shadow):
        data = json.loads(state)
        if data["backup_shadow"] is None:
            data["backup_shadow"] = shadow
        return cls(shadow=shadow, **data)


@dataclasses.dataclass
class Outcome:
    lines: list        # answer lines, without line breaks
    views: dict        # (user, doc) -> View to save
    deleted_views: set  # (user, doc) whose view is gone
    texts: dict        # doc -> new text, or None for a nullified document
    notes: list        # things worth a log line: deltas that did not fit, refusals
    new_shadows: set = dataclasses.field(default_factory=set)  # views whose shadow changed

    @property
    def changes_text(self):
        return bool(self.texts)


class _Run:
    """Consecutive actions for one (user, document), answered as one block."""

    def __init__(self, key, view, group):
        self.key, self.view, self.group = key, view, group
        self.echo = group[-1].echo
        self.live = False
        self.forceful = False
        self.replay = _is_replay(view, group)
        self.replay_from = group[0].ack if self.replay else 0


def _is_replay(view, group):
    """A resend of a request we answered, carrying nothing new?

    PROTOCOL.md rolls back to the backup shadow whenever A is the backup's
    version. But a late duplicate of a request already answered also has
    that A, and rebuilding the answer against a newer text leaves the
    view out of step with the client, whose next edit then fails to fit
    and is lost. When the run brings no edit we have not taken, replaying
    the kept edit stack, view untouched, is right for both cases: a
    client that missed the answers applies them, one that had them skips
    them.
    """
    ack = group[0].ack
    if ack == view.server_version or ack != view.backup_version:
        return False
    if any(a.ack != ack or a.kind in "rR" or a.version >= view.client_version for a in group):
        return False
    return any(e[0] == ack for e in view.edit_stack)


class _Answer:
    """The answer's lines, block by block: ``u:`` and ``F:`` only where the
    user or the document differs from the previous block's."""

    def __init__(self):
        self.lines = []
        self._last = (None, None)

    def block(self, key, echo, client_version, stack):
        user, doc = key
        last_user, last_doc = self._last
        if echo and user != last_user:
            self.lines.append("u:" + user)
        if user != last_user or doc != last_doc:
            self.lines.append("F:%d:%s" % (client_version, doc))
        self.lines.extend(line for _, line in stack)
        self._last = key


class Engine:
    """The algorithm's settings; one per process, shared by its threads."""

    def __init__(self, max_chars, diff_timeout):
        self.max_chars = max_chars
        self.dmp = deltas.make_dmp(diff_timeout)

    def run(self, actions, views, texts):
        """Apply actions to a snapshot. ``views`` maps (user, doc) to a View or
        None; ``texts`` maps doc to its text or None (null document)."""
        return _Pass(self, views, texts).run(actions)


class _Pass:
    """One run of the engine over one request: its working state lives here,
    never on the shared Engine, so concurrent requests cannot mix."""

    def __init__(self, engine, views, texts):
        self.max_chars, self.dmp = engine.max_chars, engine.dmp
        self.snapshot = views      # as read: never mutated
        self.views = {}            # working copies, by (user, doc)
        self.texts = dict(texts)   # the texts as this request leaves them
        self.answer = _Answer()
        self.out = Outcome(self.answer.lines, {}, set(), {}, [])

    def run(self, actions):
        for (user, doc, nullify), group in itertools.groupby(actions, key=lambda a: (a.user, a.doc, a.kind == "n")):
            if nullify:
                for action in group:
                    self._nullify(action)
            else:
                self._run_edits((user, doc), list(group))
        self._note_new_shadows()
        return self.out

    def _run_edits(self, key, group):
        run = _Run(key, self._view(key), group)
        run.live = run.replay
        for action in group if not run.replay else ():
            if self._apply(run, action):
                run.live = True
                self.out.views[key] = run.view
                self.out.deleted_views.discard(key)
        if run.live:
            self._close(run)

    def _note_new_shadows(self):
        for key, view in self.out.views.items():
            stored = self.snapshot.get(key)
            if stored is None or stored.shadow != view.shadow:
                self.out.new_shadows.add(key)

    def _nullify(self, action):
        key = (action.user, action.doc)
        self._set_text(action.doc, None)
        self.views[key] = View()
        self.out.deleted_views.add(key)
        self.out.views.pop(key, None)

    def _view(self, key):
        if key not in self.views:
            stored = self.snapshot.get(key)
            self.views[key] = stored.copy() if stored is not None else View()
        return self.views[key]

    def _apply(self, run, action):
        """Steps 0-4 of PROTOCOL.md for one edit line; False if it was stale."""
        view, ack, version = run.view, action.ack, action.version
        if ack < view.backup_version and version < view.client_version:
            return False  # overtaken by a later request from the same client
        if ack != view.server_version and ack == view.backup_version:
            view.shadow = view.backup_shadow  # our last answer was lost
            view.server_version = ack
            view.edit_stack = []
        view.edit_stack = [e for e in view.edit_stack if e[0] > ack]
        if action.read_only and action.writes:
            view.delta_ok = False  # a view token (access.py): take nothing, resync the client
            return True
        run.forceful = action.forceful
        if action.kind in "rR":
            self._raw(run, action)
        else:
            self._delta(run, action)
        return True

    def _raw(self, run, action):
        view = run.view
        try:
            text = textcodec.decode(action.payload)
        except textcodec.DecodeError as exc:
            view.delta_ok = False
            self.out.notes.append("raw text from %s on %r does not decode: %s" % (action.user, action.doc, exc))
            return
        view.shadow = view.backup_shadow = text
        view.client_version = action.version
        view.server_version = view.backup_version = action.ack
        view.edit_stack = []
        view.delta_ok = True
        if action.kind == "R" or self.texts.get(action.doc) is None:
            self._set_text(action.doc, text, view)

    def _delta(self, run, action):
        view = run.view
        if action.ack != view.server_version or action.version > view.client_version:
            view.delta_ok = False  # made against a shadow we no longer have
            return
        if action.version < view.client_version:
            return  # a retransmission we already took
        view.client_version += 1
        try:
            diffs = deltas.from_delta(view.shadow, action.payload)
        except deltas.DeltaError as exc:
            view.delta_ok = False
            self.out.notes.append("delta from %s on %r does not fit: %s" % (action.user, action.doc, exc))
            return
        view.delta_ok = True
        changed = any(op != deltas.DIFF_EQUAL for op, _ in diffs)
        old_shadow = view.shadow
        if changed:
            view.shadow = view.backup_shadow = self.dmp.diff_text2(diffs)
        else:
            view.backup_shadow = view.shadow
        view.backup_version = view.server_version
        self._take_edit(run, action, old_shadow, changed)

    def _take_edit(self, run, action, old_shadow, changed):
        """Step 4's atomic part: the client's new shadow into the master text."""
        view, text = run.view, self.texts.get(action.doc)
        if text is None and action.read_only:
            return  # a viewer's no-op delta does not create the document
        if text is None:
            run.forceful = False
            self._set_text(action.doc, view.shadow, view)
        elif not changed:
            return
        elif action.kind == "D":
            self._set_text(action.doc, view.shadow, view)
        else:
            merged = merge.merge3(self.dmp, old_shadow, view.shadow, text)
            for gone, wrote in merged.dropped:  # PROTOCOL.md: never drop an edit without a trace
                self.out.notes.append("edit from %s on %r dropped, it conflicts with an earlier one: %r -> %r"
                                       % (action.user, action.doc, gone, wrote))
            self._set_text(action.doc, merged.text, view)

    def _set_text(self, doc, text, view=None):
        if text is not None:
            text = protocol.normalize_newlines(text)
            if len(text) > self.max_chars:
                view.delta_ok = False
                self.out.notes.append("edit to %r refused: %d characters is over the limit of %d"
                                      % (doc, len(text), self.max_chars))
                return
        if self.texts.get(doc) != text:
            self.texts[doc] = text
            self.out.texts[doc] = text

    def _close(self, run):
        """Step 5: push this run's answer onto the edit stack and print it."""
        view, doc = run.view, run.key[1]
        if run.replay:
            stack = [e for e in view.edit_stack if e[0] >= run.replay_from]
        else:
            self._push_answer(run, self.texts.get(doc))
            stack = view.edit_stack
        self.answer.block(run.key, run.echo, view.client_version, stack)

    def _push_answer(self, run, text):
        """The diff from the shadow to the master text (or a raw dump) onto
        the edit stack; the shadow becomes the master text."""
        view, master = run.view, text or ""
        sv = view.server_version
        if view.delta_ok:
            diffs = self.dmp.diff_main(view.shadow, master)
            self.dmp.diff_cleanupEfficiency(diffs)
            letter = "D" if run.forceful else "d"
            view.edit_stack.append([sv, "%s:%d:%s" % (letter, sv, deltas.to_delta(diffs))])
            view.server_version += 1
        elif text is None:
            view.edit_stack.append([sv, "r:%d:" % sv])
        else:
            view.edit_stack.append([sv, "R:%d:%s" % (sv, textcodec.encode(text))])
        view.shadow = master
