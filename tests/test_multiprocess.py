"""Two gateway processes (gunicorn, two workers each) on one Datastore
emulator; eight users type into one document at once. Everyone converges and
every edit the server acknowledged is in the final text."""

import random
import threading
import uuid

import pytest
import requests
from google.cloud import ndb

from mobwrite import devservers
from mobwrite.stores.datastore import DatastoreStore
from simulation import Typist, assert_converged

USERS, ROUNDS = 8, 200


@pytest.fixture
def gateways(datastore_emulator):
    env = {"MOBWRITE_STORE": "datastore", "DATASTORE_EMULATOR_HOST": datastore_emulator.address,
           "DATASTORE_PROJECT_ID": "mobwrite-test", "GOOGLE_CLOUD_PROJECT": "mobwrite-test"}
    servers = [devservers.start_gunicorn(env, workers=2) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


def test_eight_users_on_two_gateways_converge(gateways):
    urls = [s.address + "/scripts/q.py" for s in gateways]
    doc = "multi-" + uuid.uuid4().hex[:8]
    typists = [Typist("u%d" % i, doc, random.Random(i)) for i in range(USERS)]
    busy = []

    def exchange(session, typist, url):
        response = session.post(url, data={"q": typist.request()}, timeout=30)
        if response.status_code == 503:
            busy.append(response.text)  # contention after retries: the client just retries later
            return
        assert response.status_code == 200, response.text
        typist.receive(response.text)

    def user(typist):
        session = requests.Session()
        for _ in range(ROUNDS):
            if typist.rng.random() < 0.5:
                typist.type()
            exchange(session, typist, typist.rng.choice(urls))

    threads = [threading.Thread(target=user, args=(t,)) for t in typists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session = requests.Session()
    for _ in range(3):
        for typist in typists:
            exchange(session, typist, urls[0])

    store = DatastoreStore(ndb.Client(project="mobwrite-test"))
    master = store.read([], [doc])[1][doc]
    warnings = [line for s in gateways for line in s.log().splitlines() if "WARNING" in line]
    acknowledged = assert_converged(typists, master, warnings)
    typed = sum(t.typed for t in typists)
    assert len(acknowledged) == typed, (len(acknowledged), typed, len(busy))
