"""The client side of the protocol, as pure state: build a request, take an
answer. Used by the tests' simulated users and the benchmarks; the transport
is the caller's business.
"""

import dataclasses

from . import delta as deltas
from . import merge, protocol, textcodec


@dataclasses.dataclass
class SharedText:
    """One document as a client holds it."""

    name: str
    text: str = ""
    merge: bool = True
    shadow: str = ""
    client_version: int = 0
    server_version: int = 0
    edit_stack: list = dataclasses.field(default_factory=list)  # [(client_version, line)]
    delta_ok: bool = True
    acked: int = 0  # the server has taken our edits with versions below this
    token: str = ""   # a capability token sent as t: before this document's lines
    access: str = "edit"  # what the last x: line said: "view" or "none" (else "edit")


class Client:
    def __init__(self, user, diff_timeout=1.0):  # diff-match-patch's default, as the JS client uses
        self.user = user
        self.docs = {}
        self.nullified = []  # names to delete on the server with the next request
        self.dmp = deltas.make_dmp(diff_timeout)

    def share(self, name, text="", merge=True, token=""):
        self.docs[name] = SharedText(name, text, merge, token=token)
        return self.docs[name]

    def nullify(self, name, token=""):
        """Delete NAME on the server: the next request carries ``n:NAME``
        (what the original client sent for a nullified share), and NAME is no
        longer shared."""
        self.docs.pop(name, None)
        self.nullified.append((name, token))

    def request(self):
        """The next request's text: every document's unacknowledged edits."""
        lines = ["u:" + self.user]
        token = ""
        for doc in self.docs.values():
            if doc.token != token:  # a t: line holds until the next one
                token = doc.token
                lines.append("t:" + token)
            lines.append("f:%d:%s" % (doc.server_version, doc.name))
            if not doc.delta_ok:
                # Our shadow is lost: send the whole text; the server answers with a diff.
                doc.edit_stack = []
                lines.append("%s:%d:%s" % ("r" if doc.merge else "R", doc.client_version, textcodec.encode(doc.text)))
                doc.shadow = doc.text
                continue
            diffs = self.dmp.diff_main(doc.shadow, doc.text)
            self.dmp.diff_cleanupEfficiency(diffs)
            changed = any(op != deltas.DIFF_EQUAL for op, _ in diffs)
            if changed or not doc.edit_stack:
                letter = "d" if doc.merge else "D"
                doc.edit_stack.append((doc.client_version, "%s:%d:%s" % (letter, doc.client_version, deltas.to_delta(diffs))))
                doc.client_version += 1
                doc.shadow = doc.text
            lines.extend(line for _, line in doc.edit_stack)
        for name, name_token in self.nullified:
            if name_token != token:
                token = name_token
                lines.append("t:" + token)
            lines.append("n:" + name)
        self.nullified = []
        return "\n".join(lines) + "\n\n"

    def receive(self, answer):
        """Apply an answer's lines to the shared texts."""
        doc, acked = None, 0
        for letter, value in protocol.lines(answer):
            if letter == "x":
                self._access(value)
            if letter not in "fFdDrR" or (parsed := protocol.split_version(value)) is None:
                continue  # not for us, or malformed: ignored, as the protocol says
            version, rest = parsed
            if letter in "fF":
                doc, acked = self.docs.get(rest), version
                if doc is not None:
                    doc.edit_stack = [e for e in doc.edit_stack if e[0] >= acked]
                    doc.acked = max(doc.acked, acked)
            elif doc is not None and letter in "dD":
                self._delta(doc, letter, version, rest)
            elif doc is not None:
                self._raw(doc, letter, version, rest, acked)

    def _access(self, value):
        """``x:RIGHT:NAME``: the server refused this document's writes (view) or all of it (none)."""
        right, _, name = value.partition(":")
        if name in self.docs:
            self.docs[name].access = right

    def _delta(self, doc, letter, version, payload):
        if version < doc.server_version:
            return  # a resend we already applied
        if version > doc.server_version:
            doc.delta_ok = False
            return
        try:
            diffs = deltas.from_delta(doc.shadow, payload)
        except deltas.DeltaError:
            doc.delta_ok = False
            return
        shadow = self.dmp.diff_text2(diffs)
        if letter == "D":
            doc.text = shadow
        elif any(op != deltas.DIFF_EQUAL for op, _ in diffs):
            # The server's edits into what was typed since the last sync: the
            # same exact merge as the server's, not the original's fuzzy patch.
            doc.text = merge.merge(self.dmp, doc.shadow, doc.text, shadow)
        doc.shadow = shadow
        doc.server_version += 1
        doc.delta_ok = True

    def _raw(self, doc, letter, version, payload, acked):
        if version < doc.server_version:
            return
        try:
            text = textcodec.decode(payload)
        except textcodec.DecodeError:
            doc.delta_ok = False  # resync with our raw text next time
            return
        doc.shadow = text
        doc.server_version = version
        doc.client_version = acked
        doc.edit_stack = []
        doc.delta_ok = True
        if letter == "R":
            doc.text = text
