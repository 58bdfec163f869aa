"""Simulated users for convergence tests: each types unique tokens at random
places and remembers which of them the server has acknowledged."""

import string

from mobwrite.client import Client


class Typist:
    """A client that inserts random words like `` qhzkvtwe`` and tracks them.

    Words are random rather than numbered: numbered tokens share most of
    their characters, so a diff may express one as a split insert that a
    fuzzy patch then lands beside a look-alike, which says nothing about
    whether an edit was lost."""

    def __init__(self, user, doc, rng):
        self.client = Client(user)
        self.doc = self.client.share(doc)
        self.rng = rng
        self.typed = 0
        self.pending = []   # tokens typed since the last request
        self.sent = []      # (token, client version that carried it)
        self.resyncs = 0    # answers that carried a raw dump

    def type(self):
        token = " " + "".join(self.rng.choice(string.ascii_lowercase) for _ in range(8))
        self.typed += 1
        text = self.doc.text
        # Insert between words so another user's word is never split.
        cuts = [i for i, ch in enumerate(text) if ch == " "] + [len(text)]
        at = self.rng.choice(cuts)
        self.doc.text = text[:at] + token + text[at:]
        self.pending.append(token)

    def request(self):
        before = self.doc.client_version
        text = self.client.request()
        if self.doc.client_version > before:
            self.sent += [(token, before) for token in self.pending]
            self.pending = []
        return text

    def receive(self, answer):
        self.client.receive(answer)
        # A raw dump resets our client version: edits sent at or above it were
        # discarded by the server (never acknowledged), and the versions reused.
        self.sent = [(token, v) for token, v in self.sent if v < self.doc.client_version]
        self.resyncs += any(line[:1] in "rR" for line in answer.split("\n"))

    def acknowledged(self):
        return [token for token, version in self.sent if version < self.doc.acked]


def assert_converged(typists, master, server_log=()):
    texts = {t.client.user: t.doc.text for t in typists}
    assert len(set(texts.values())) == 1, texts
    assert master == next(iter(texts.values()))
    acknowledged = [token for t in typists for token in t.acknowledged()]
    lost = [token for token in acknowledged if token not in master]
    context = {token: [master[max(0, i - 12):i + 20] for i in _find(master, token.strip())] for token in lost}
    assert not lost, "acknowledged edits missing from the final text: %s\nserver log:\n%s" % (
        context, "\n".join(server_log))
    return acknowledged


def _find(text, word):
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)
