"""Two gateway processes (gunicorn, two workers each) on one Datastore
emulator; eight users type into one document at once. Everyone converges and
every edit the server acknowledged is in the final text."""

import collections
import random
import threading
import urllib.parse
import uuid

import pytest
import requests

from mobwrite import textcodec, wiring
from mobwrite.config import Settings
from simulation import Typist, find_all
from tools import devservers

USERS, ROUNDS = 8, 80  # about 320 words typed at once; tests/test_faults.py adds kills and outages


@pytest.fixture(params=["datastore"])
def gateways(request, datastore_emulator):
    # Every simulated user comes from 127.0.0.1, as fast as answers come: a
    # stress test of convergence, not of the rate limits (tests/test_limits.py).
    env = {"MOBWRITE_STORE": "datastore", "DATASTORE_EMULATOR_HOST": datastore_emulator.address,
           "DATASTORE_PROJECT_ID": "mobwrite-test", "GOOGLE_CLOUD_PROJECT": "mobwrite-test",
           "MOBWRITE_RATE_IP": "0", "MOBWRITE_RATE_USER": "0", "MOBWRITE_RATE_DOC_EDITS": "0"}
    if request.param.endswith("+redis"):
        env["REDIS_CACHE_URL"] = request.getfixturevalue("redis_server").address
    if request.param.endswith("+memcached"):
        env["MEMCACHED_HOSTS"] = request.getfixturevalue("memcached_server").address
    servers = [devservers.start_gunicorn(env, workers=2) for _ in range(2)]
    yield servers
    for server in servers:
        server.stop()


@pytest.mark.parametrize("gateways", ["datastore", "datastore+redis", "datastore+memcached"], indirect=True)
def test_eight_users_on_two_gateways_converge(gateways):
    urls = [s.address + "/scripts/q.py" for s in gateways]
    doc = "multi-" + uuid.uuid4().hex[:8]
    typists = [Typist("u%d" % i, doc, random.Random(i)) for i in range(USERS)]
    busy = []

    def exchange(session, typist, url):
        try:
            response = session.post(url, data={"q": typist.request()}, timeout=30)
        except requests.RequestException as exc:
            busy.append(repr(exc))  # as good as a lost reply: the edits stay on the client's stack
            return
        if response.status_code == 503:
            busy.append(response.text)  # contention after retries: the client just retries later
            return
        assert response.status_code == 200, response.text
        typist.receive(response.text)

    errors = []

    def user(typist):
        session = requests.Session()
        try:
            for _ in range(ROUNDS):
                if typist.rng.random() < 0.5:
                    typist.type()
                exchange(session, typist, typist.rng.choice(urls))
        except AssertionError as exc:  # a thread's failure must fail the test, not vanish
            errors.append(str(exc))

    # An existing document of 300 words, as people usually collaborate on
    # one; from an empty text all eight would crowd the same few gaps.
    seed = random.Random(99)
    typists[0].doc.text = start = " ".join("".join(seed.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6))
                                   for _ in range(300))
    for typist in typists:
        exchange(requests.Session(), typist, urls[0])

    threads = [threading.Thread(target=user, args=(t,)) for t in typists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    session = requests.Session()
    for _ in range(10):  # quiet syncs until everyone holds everything (bounded)
        for typist in typists:
            exchange(session, typist, urls[0])
        if len({t.doc.text for t in typists}) == 1 and all(t.doc.acked == t.doc.client_version for t in typists):
            break

    store = wiring.open_store(Settings(store="datastore", project="mobwrite-test"))
    master = store.read([], [doc])[1][doc]
    assert len({t.doc.text for t in typists}) == 1 and typists[0].doc.text == master
    acknowledged = [token for t in typists for token in t.acknowledged()]
    assert len(acknowledged) == sum(t.typed for t in typists), len(busy)
    # No character anyone typed is lost or doubled: the final text is the
    # seed plus every acknowledged word, letter for letter.
    assert collections.Counter(master) == collections.Counter(start + "".join(acknowledged))
    # Every word stays whole (README, "Merging": the merge works on whole
    # words). The message shows where any broken word went.
    broken = [token for token in acknowledged if token not in master]
    where = {t: [master[max(0, i - 25):i + 30] for i in find_all(master, t[1:4])] for t in broken}
    assert broken == [], where


@pytest.mark.parametrize("gateways", ["datastore", "datastore+redis", "datastore+memcached"], indirect=True)
def test_fragments_reassemble_across_processes(gateways):
    """A 6 KB request in 30 fragments, shuffled, sent over p= to two gateways
    (four worker processes): only the completing fragment gets the answer."""
    doc = "frag-" + uuid.uuid4().hex[:8]
    text = "".join(random.Random(7).choice("abc é😀\n") for _ in range(2000))
    request = "u:ann\nf:0:%s\nR:0:%s\n\n" % (doc, textcodec.encode(text))
    once = urllib.parse.quote(request, safe="")  # the client encodes twice; the form decoding removes one
    size = 30
    step = -(-len(once) // size)
    buffer_id = uuid.uuid4().hex[:10]
    fragments = ["b:%s %d %d %s" % (buffer_id, size, i + 1, once[i * step:(i + 1) * step]) for i in range(size)]
    random.Random(3).shuffle(fragments)
    urls = [s.address + "/scripts/q.py" for s in gateways]
    answers = [requests.get(urls[i % 2], params={"p": line + "\n\n"}, timeout=30).text
               for i, line in enumerate(fragments)]
    assert answers[:-1] == ['mobwrite.callback("");'] * (size - 1)
    assert answers[-1] == 'mobwrite.callback("F:0:%s\\nD:0:=%d\\n");' % (doc, textcodec.utf16_len(text))
    store = wiring.open_store(Settings(store="datastore", project="mobwrite-test"))
    assert store.read([], [doc])[1][doc] == text.replace("\r", "")
