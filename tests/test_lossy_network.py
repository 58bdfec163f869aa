"""A seeded lossy network between clients and the gateway: requests and
replies are dropped, duplicated and reordered; everyone still converges and
nothing the server acknowledged is lost."""

import random

import pytest

from simulation import Typist, assert_converged


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


@pytest.mark.parametrize("backend", ["memory", "sqlite", "datastore"], indirect=True)
@pytest.mark.parametrize("seed", [1, 2])
def test_clients_converge_over_a_lossy_network(sync, store, seed):
    rng = random.Random(seed)
    typists = [Typist("c%d" % i, "lossy", rng) for i in range(4)]
    network = LossyNetwork(sync, rng)
    for _ in range(300):
        typist = rng.choice(typists)
        if rng.random() < 0.6:
            typist.type()
        answer = network.exchange(typist.request())
        if answer is not None:
            typist.receive(answer)
        network.deliver_some_late()
    network.flush()
    for _ in range(4):  # a quiet network: everyone catches up
        for typist in typists:
            typist.receive(sync(typist.request()))

    master = store.read([], ["lossy"])[1]["lossy"]
    acknowledged = assert_converged(typists, master)
    assert all(network.seen.values()), network.seen  # every kind of trouble happened
    typed = sum(t.typed for t in typists)
    assert len(acknowledged) > typed // 2, (len(acknowledged), typed)
