"""A cache outage is not an outage (issue 17): on Datastore, with Redis or
memcached gone, syncs go on from Datastore alone; once the cache is back,
nothing written before or during the outage is served stale.

Real servers throughout: the Datastore emulator, and a redis-server or
memcached of this module's own, stopped and started again on the same port;
a partition of one gateway is a real TCP forwarder that is cut and healed.
"""

import random
import time
import urllib.parse
import uuid

import pytest

from main import create_app
from mobwrite import textcodec, wiring
from mobwrite.config import Settings
from simulation import Typist
from tools import devservers
from tools.tcpproxy import TcpProxy

RETRY = 0.2  # seconds before a gateway tries an unreachable cache again


class Cache:
    """A cache server of this test's own, which it may stop and start again."""

    def __init__(self, kind):
        self.kind = kind
        self.start = devservers.start_redis if kind == "redis" else devservers.start_memcached
        self.server = self.start()
        self.port = int(self.server.address.rsplit(":", 1)[1].split("/")[0])

    def url(self, port=None):
        address = "127.0.0.1:%d" % (port or self.port)
        return "redis://%s/0" % address if self.kind == "redis" else address

    def stop(self):
        self.server.stop()

    def restart(self):
        self.server = self.start(self.port)


@pytest.fixture(params=["redis", "memcached"])
def cache(request):
    server = Cache(request.param)
    yield server
    server.stop()


@pytest.fixture
def namespace(datastore_emulator):
    return "o" + uuid.uuid4().hex[:12]


def gateway(cache, namespace, port=None):
    """A gateway (Flask test client) on the emulator, its cache at ``port``."""
    url = cache.url(port)
    settings = Settings(store="datastore", project="mobwrite-test", namespace=namespace, cache_retry=RETRY,
                        redis_url=url if cache.kind == "redis" else "",
                        memcached_hosts=url if cache.kind == "memcached" else "",
                        rate_ip=0, rate_user=0, rate_doc_edits=0, presence=False, push=False)
    app = create_app(settings)
    return app.extensions["mobwrite"].store, app.test_client()


def exchange(client, typist):
    answer = client.post("/scripts/q.py", data={"q": typist.request()})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    typist.receive(answer.get_data(as_text=True))
    return answer.get_data(as_text=True)


def datastore_alone(namespace):
    return wiring.open_store(Settings(store="datastore", project="mobwrite-test", namespace=namespace))


def assert_all_landed(typists, namespace, doc):
    master = datastore_alone(namespace).read([], [doc])[1][doc]
    assert {t.doc.text for t in typists} == {master}
    acknowledged = [w for t in typists for w in t.acknowledged()]
    assert len(acknowledged) == sum(t.typed for t in typists)
    assert all(master.count(w) == 1 for w in acknowledged), master


def test_syncs_go_on_while_the_cache_is_down_and_after_it_is_back(cache, namespace):
    store, client = gateway(cache, namespace)
    doc = "outage"
    typists = [Typist("u%d" % i, doc, random.Random(i)) for i in range(3)]

    def rounds(n):
        for _ in range(n):
            for t in typists:
                t.type()
                exchange(client, t)

    rounds(3)
    cache.stop()
    rounds(4)                            # every answer a 200: Datastore alone
    assert not store.cache.up and store.cache.skipped > 0
    cache.restart()
    time.sleep(RETRY * 1.5)
    rounds(3)
    assert store.cache.up
    for _ in range(2):                   # quiet syncs: everyone catches up
        for t in typists:
            exchange(client, t)
    assert_all_landed(typists, namespace, doc)


def view_versions(namespace, user, doc):
    view = datastore_alone(namespace).read([(user, doc)], [])[0][(user, doc)]
    return view.client_version, view.server_version


def test_a_partitioned_gateway_never_lets_the_cache_roll_a_view_back(cache, namespace):
    """Gateway A loses the cache (a cut connection) while B keeps it: A's
    writes reach Datastore alone, so B's cache holds views and texts from
    before them. B must not serve those as current, nor write them back."""
    proxy = TcpProxy(cache.port)
    try:
        _, healthy = gateway(cache, namespace)
        partitioned_store, partitioned = gateway(cache, namespace, proxy.port)
        doc = "partition"
        ann, bob = Typist("ann", doc, random.Random(1)), Typist("bob", doc, random.Random(2))
        for t in (ann, bob, ann, bob):
            t.type()
            exchange(healthy, t)           # B's cache now holds both views and the text
        proxy.cut()
        for _ in range(3):
            ann.type()
            exchange(partitioned, ann)      # A: Datastore alone; B's entries are now old
        assert not partitioned_store.cache.up
        before = view_versions(namespace, "ann", doc)
        answer = exchange(healthy, ann)     # an idle poll on B, whose cached view of ann is old
        after = view_versions(namespace, "ann", doc)
        assert after >= before, (before, after)   # never rolled back
        assert not any(line[:2] in ("r:", "R:") for line in answer.split("\n")), answer  # no raw resync
        proxy.heal()
        time.sleep(RETRY * 1.5)
        exchange(partitioned, bob)          # A reaches the cache again: first it drops what it wrote past it
        assert partitioned_store.cache.up
        exchange(healthy, bob)
        exchange(healthy, ann)
        assert_all_landed([ann, bob], namespace, doc)
    finally:
        proxy.close()


def test_fragments_go_through_while_the_cache_is_down(cache, namespace):
    _, client = gateway(cache, namespace)
    cache.stop()
    doc, text = "fragments", "Wörter " * 300
    once = urllib.parse.quote("u:ann\nf:0:%s\nR:0:%s\n\n" % (doc, textcodec.encode(text)), safe="")
    pieces = [once[i:i + 500] for i in range(0, len(once), 500)]
    answers = [client.get("/scripts/q.py", query_string={"p": "b:buf1 %d %d %s\n\n" % (len(pieces), i + 1, piece)})
               for i, piece in enumerate(pieces)]
    assert {a.status_code for a in answers} == {200}
    assert answers[-1].get_data(as_text=True) == 'mobwrite.callback("F:0:%s\\nD:0:=%d\\n");' % (
        doc, textcodec.utf16_len(text))
    assert datastore_alone(namespace).read([], [doc])[1][doc] == text


def test_a_view_read_from_datastore_is_never_answered_with_an_older_cached_text(cache, namespace):
    """B's cache lost ann's view (evicted) but still holds the text from
    before A's writes: the poll must not answer ann with a diff back to it."""
    proxy = TcpProxy(cache.port)
    try:
        healthy_store, healthy = gateway(cache, namespace)
        _, partitioned = gateway(cache, namespace, proxy.port)
        doc = "evicted"
        ann = Typist("ann", doc, random.Random(3))
        for _ in range(2):
            ann.type()
            exchange(healthy, ann)
        proxy.cut()
        for _ in range(3):
            ann.type()
            exchange(partitioned, ann)
        healthy_store.cache.forget([healthy_store._cache_name(name) for name in healthy_store._wanted([("ann", doc)], [])])
        typed = ann.acknowledged()
        answer = exchange(healthy, ann)
        assert all(word in ann.doc.text for word in typed), answer
        assert_all_landed([ann], namespace, doc)
    finally:
        proxy.close()
