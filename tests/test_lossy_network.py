"""A seeded lossy network between clients and the gateway: requests and
replies are dropped, duplicated and reordered; everyone still converges and
nothing the server acknowledged is lost."""

import pytest

from simulation import assert_converged, simulate


@pytest.mark.parametrize("backend", ["memory", "sqlite", "datastore", "datastore+redis", "datastore+memcached"],
                         indirect=True)
@pytest.mark.parametrize("seed", [1, 2])
def test_clients_converge_over_a_lossy_network(sync, store, seed):
    typists, network = simulate(sync, seed)
    master = store.read([], ["lossy"])[1]["lossy"]
    acknowledged = assert_converged(typists, master)
    assert all(network.seen.values()), network.seen  # every kind of trouble happened
    typed = sum(t.typed for t in typists)
    assert len(acknowledged) > typed // 2, (len(acknowledged), typed)
