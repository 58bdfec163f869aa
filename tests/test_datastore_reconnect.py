"""After a Datastore outage the store answers again within about a second
of Datastore being back, on either transport of the sync path: HTTP opens a
new connection per call while the old ones are dead; gRPC's default
reconnect backoff grows to two minutes while connections are refused, so
the channel is made with a short one (mobwrite/stores/datastore_rpc.py).
On an emulator of this test's own, stopped and started again on its port,
keeping its data on disk."""

import time
import uuid

import pytest

from mobwrite.config import Settings
from mobwrite.engine import Outcome
from mobwrite.stores import StoreUnavailable
from mobwrite.wiring import open_store
from tools import devservers

OUTAGE = 16   # seconds of failing calls: gRPC's default backoff is ~10 s by then, the short one 1 s
RECOVERY = 3  # seconds from the emulator's health check answering to the store answering


def _texts(store):
    return store.read([], ["doc"])[1]


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_the_store_answers_soon_after_datastore_is_back(monkeypatch, tmp_path, transport):
    port = devservers.free_port()
    data_dir = str(tmp_path / "datastore")
    emulator = devservers.start_datastore_emulator(port=port, data_dir=data_dir)  # no emulator: a failure, not a skip
    monkeypatch.setenv("DATASTORE_EMULATOR_HOST", emulator.address)
    monkeypatch.setenv("DATASTORE_PROJECT_ID", "mobwrite-test")
    try:
        store = open_store(Settings(store="datastore", project="mobwrite-test", datastore_transport=transport,
                                    namespace="r" + uuid.uuid4().hex[:12]))
        store.transact([], ["doc"], lambda views, texts: Outcome([], {}, set(), {"doc": "kept"}, [], set()))
        assert _texts(store) == {"doc": "kept"}

        assert emulator.stop_and_wait(), "the emulator had to be killed: its data may not be on disk"
        down = time.monotonic()
        while time.monotonic() - down < OUTAGE:  # each call fails fast, and only as unavailable
            with pytest.raises(StoreUnavailable):
                _texts(store)
            time.sleep(1)

        emulator = devservers.start_datastore_emulator(port=port, data_dir=data_dir)
        up = time.monotonic()
        while True:
            try:
                texts = _texts(store)
                break
            except StoreUnavailable:
                assert time.monotonic() - up < RECOVERY, "no answer %.1f s after Datastore was back" % RECOVERY
                time.sleep(0.05)
        recovered = time.monotonic() - up
        print("down %.1f s, answered %.2f s after the emulator was back" % (up - down, recovered))
        assert recovered < RECOVERY
        assert texts == {"doc": "kept"}
        assert store.history_list("doc") == []  # ndb's own calls share the channel, and it is back for them too
    finally:
        emulator.stop()
