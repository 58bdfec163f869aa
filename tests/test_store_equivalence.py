"""Every backend answers exactly as the plain in-memory store does: the same
seeded runs of typists on a lossy network (thousands of syncs, with drops,
duplicates and reordering) give byte-identical answers on each. This is the
proof that how a store keeps views (shadows apart, written only when they
change; compressed state on Datastore) changes no result."""

import dataclasses

import pytest

from main import create_app
from simulation import simulate
from backends import make_settings, open_store

SEEDS = {"sqlite": [11, 12, 13], "datastore": [11], "datastore+redis": [12], "datastore+memcached": [13]}


def _recorded_run(settings, seed, steps):
    # No diff deadline: answers must not depend on how busy the machine is.
    settings = dataclasses.replace(settings, diff_timeout=0)
    store = open_store(settings)
    client = create_app(settings, store).test_client()
    answers = []

    def sync(text):
        answers.append(client.post("/sync", data={"q": text}).get_data(as_text=True))
        return answers[-1]

    simulate(sync, seed, users=5, steps=steps)
    store.close()
    return answers


@pytest.mark.parametrize("backend", list(SEEDS), indirect=True)
def test_answers_match_the_memory_store(backend, request, tmp_path):
    steps = 600 if backend == "sqlite" else 300
    for seed in SEEDS[backend]:
        expected = _recorded_run(make_settings("memory", request, tmp_path), seed, steps)
        got = _recorded_run(make_settings(backend, request, tmp_path / str(seed)), seed, steps)
        assert len(got) == len(expected) > steps // 2
        first = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), None)
        assert first is None, (first, got[first], expected[first])
