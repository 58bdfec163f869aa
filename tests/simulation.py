"""Simulated users for convergence tests: each types unique tokens at random
places and remembers which of them the server has acknowledged."""

import random

from tools.faults import Typist  # noqa: F401  (the tests take it from here; tools/faults.py uses it too)


def assert_converged(typists, master, server_log=()):
    texts = {t.client.user: t.doc.text for t in typists}
    assert len(set(texts.values())) == 1, texts
    assert master == next(iter(texts.values()))
    acknowledged = [token for t in typists for token in t.acknowledged()]
    lost = [token for token in acknowledged if token not in master]
    context = {token: [master[max(0, i - 12):i + 20] for i in find_all(master, token.strip())] for token in lost}
    assert not lost, "acknowledged edits missing from the final text: %s\nserver log:\n%s" % (
        context, "\n".join(server_log))
    return acknowledged


def find_all(text, word):
    """Every position of ``word`` in ``text``."""
    at = text.find(word)
    while at >= 0:
        yield at
        at = text.find(word, at + 1)


class LossyNetwork:
    def __init__(self, send, rng, drop_request=0.15, drop_reply=0.15, duplicate=0.1, delay=0.1):
        self.send, self.rng = send, rng
        self.odds = dict(drop_request=drop_request, drop_reply=drop_reply, duplicate=duplicate, delay=delay)
        self.late = []  # requests held back, delivered later out of order
        self.seen = dict.fromkeys(self.odds, 0)

    def _chance(self, what):
        hit = self.rng.random() < self.odds[what]
        self.seen[what] += hit
        return hit

    def exchange(self, text):
        """Carry one request; the reply, or None if it was lost on the way."""
        if self._chance("duplicate"):
            self.late.append(text)
        if self._chance("delay"):
            self.late.append(text)
            return None
        if self._chance("drop_request"):
            return None
        answer = self.send(text)
        return None if self._chance("drop_reply") else answer

    def deliver_some_late(self):
        while self.late and self.rng.random() < 0.3:
            self.send(self.late.pop(self.rng.randrange(len(self.late))))  # its reply has no taker

    def flush(self):
        while self.late:
            self.send(self.late.pop(0))


def simulate(sync, seed, users=4, steps=300, doc="lossy"):
    """Typists on a lossy network for ``steps`` syncs, then a quiet network
    until everyone has caught up. Returns the typists and the network."""
    rng = random.Random(seed)
    typists = [Typist("c%d" % i, doc, rng) for i in range(users)]
    network = LossyNetwork(sync, rng)
    for _ in range(steps):
        typist = rng.choice(typists)
        if rng.random() < 0.6:
            typist.type()
        answer = network.exchange(typist.request())
        if answer is not None:
            typist.receive(answer)
        network.deliver_some_late()
    network.flush()
    for _ in range(4):
        for typist in typists:
            typist.receive(sync(typist.request()))
    return typists, network
