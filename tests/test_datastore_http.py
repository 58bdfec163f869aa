"""The sync path's Datastore calls as protobuf over HTTP/1.1
(mobwrite/stores/datastore_http.py), against the Datastore emulator: the
same entities as over gRPC, kept-alive connections that the server dropped
are replaced, and every failure is google.api_core's exception for it (the
store answers those with a 503)."""

import dataclasses
import http.server
import threading
import types
import uuid

import pytest
from google.api_core import exceptions as api_exceptions
from google.api_core.client_info import ClientInfo
from google.oauth2.credentials import Credentials
from google.rpc import code_pb2, status_pb2

from backends import make_settings, open_store
from mobwrite.client import Client
from mobwrite.config import Settings
from mobwrite.stores import datastore_rpc as rpcs
from tools import devservers
from tools.tcpproxy import TcpProxy

PROJECT = "mobwrite-test"


def _rpc(address, credentials=None, database=None, timeout=rpcs.TIMEOUT):
    """The store's Rpc over HTTP to ``address``, as open_store makes it for
    the emulator (plain HTTP) with MOBWRITE_DATASTORE_TRANSPORT=http."""
    client = types.SimpleNamespace(host=address, secure=False, _credentials=None, project=PROJECT,
                                   database=database, namespace="h" + uuid.uuid4().hex[:8], client_info=ClientInfo())
    rpc = rpcs.Rpc(client, timeout=timeout, transport="http")
    rpc.http.credentials = credentials  # as for Cloud Datastore (over TLS there)
    return rpc


def _lookup(rpc, name="absent"):
    """The names found of one key."""
    return list(rpc.lookup([rpc.key("Text", name)])[0])


def _sync(app, client, rounds=2):
    http = app.test_client()
    for _ in range(rounds):
        client.receive(http.post("/scripts/q.py", data={"q": client.request()}).get_data(as_text=True))


@pytest.mark.parametrize("first,second", [("http", "grpc"), ("grpc", "http")])
def test_either_transport_reads_what_the_other_wrote(request, tmp_path, first, second):
    """Texts and views written over one transport are read, and synced on,
    over the other."""
    from main import create_app
    settings = make_settings("datastore", request, tmp_path)
    one = create_app(dataclasses.replace(settings, datastore_transport=first))
    other = create_app(dataclasses.replace(settings, datastore_transport=second))
    ann, bob = Client("ann"), Client("bob")
    ann_doc, bob_doc = ann.share("shared", "written over " + first), bob.share("shared", "")
    _sync(one, ann)
    _sync(other, bob)
    assert bob_doc.text == "written over " + first
    bob_doc.text += ", then over " + second
    _sync(other, bob)
    _sync(one, ann)
    assert ann_doc.text == "written over %s, then over %s" % (first, second)
    ann_doc.text = ann_doc.text.upper()
    _sync(other, ann)  # ann's view, written over `first`, goes on over `second`
    _sync(one, bob)
    assert bob_doc.text == ann_doc.text == "WRITTEN OVER %s, THEN OVER %s" % (first.upper(), second.upper())
    for app in (one, other):
        app.extensions["mobwrite"].close()


def test_a_connection_the_server_dropped_is_replaced(datastore_emulator):
    """A kept-alive connection that the far end closed while idle is not
    reused (a reused one would fail the call)."""
    proxy = TcpProxy(int(datastore_emulator.address.rsplit(":", 1)[1]))
    rpc = _rpc("127.0.0.1:%d" % proxy.port)
    try:
        assert _lookup(rpc) == []
        kept = rpc.http.idle[:]
        assert len(kept) == 1
        proxy.cut()   # drops the kept connection
        proxy.heal()
        assert _lookup(rpc) == []
        assert len(rpc.http.idle) == 1 and rpc.http.idle != kept
    finally:
        rpc.close()
        proxy.close()


def test_no_server_is_service_unavailable():
    rpc = _rpc("127.0.0.1:%d" % devservers.free_port())
    with pytest.raises(api_exceptions.ServiceUnavailable):
        _lookup(rpc)
    assert rpc.http.idle == []


def test_no_answer_in_time_is_deadline_exceeded(datastore_emulator):
    proxy = TcpProxy(int(datastore_emulator.address.rsplit(":", 1)[1]), delay=1.0)
    rpc = _rpc("127.0.0.1:%d" % proxy.port, timeout=0.2)
    try:
        with pytest.raises(api_exceptions.DeadlineExceeded):
            _lookup(rpc)
        assert rpc.http.idle == []  # a connection with an answer still due is never reused
    finally:
        proxy.close()


def test_datastore_errors_keep_their_code(datastore_emulator):
    rpc = _rpc(datastore_emulator.address)
    with pytest.raises(api_exceptions.InvalidArgument):
        _lookup(rpc, name="")  # a key with neither name nor id
    assert _lookup(rpc) == []  # and the connection goes on
    assert len(rpc.http.idle) == 1


class _StandIn(http.server.BaseHTTPRequestHandler):
    """Cloud Datastore cannot be reached from here: this stand-in records
    what a call sends and answers with ``answer`` (status, body)."""

    protocol_version = "HTTP/1.1"
    seen, answer = [], (200, rpcs.LookupResponse().SerializeToString())

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).seen.append((self.path, self.headers, body))  # headers: any case
        status, content = type(self).answer
        self.send_response(status)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args):
        pass


@pytest.fixture
def stand_in():
    _StandIn.seen, _StandIn.answer = [], (200, rpcs.LookupResponse().SerializeToString())
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_every_call_carries_the_token_and_routing(stand_in):
    _lookup(_rpc("127.0.0.1:%d" % stand_in.server_port, Credentials(token="t0ken"), database="db1"))
    path, headers, body = _StandIn.seen[0]
    assert path == "/v1/projects/%s:lookup" % PROJECT
    assert headers["Authorization"] == "Bearer t0ken"
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["x-goog-request-params"] == "project_id=%s&database_id=db1" % PROJECT
    assert rpcs.LookupRequest.FromString(body).keys[0].path[0].name == "absent"


def test_an_answer_that_is_not_datastores_is_an_error_of_its_own(stand_in):
    rpc = _rpc("127.0.0.1:%d" % stand_in.server_port)
    _StandIn.answer = (502, b"<html>bad gateway</html>")
    with pytest.raises(api_exceptions.BadGateway):
        _lookup(rpc)
    _StandIn.answer = (200, b"\xff\xff\xff")  # a 200 that is no LookupResponse
    with pytest.raises(api_exceptions.ServiceUnavailable, match="does not parse"):
        _lookup(rpc)
    # Contention: the store's Conflict, which it runs again.
    _StandIn.answer = (409, status_pb2.Status(code=code_pb2.ABORTED, message="too much contention").SerializeToString())
    with pytest.raises(rpcs.Conflict):
        _lookup(rpc)


def test_an_unknown_transport_is_refused_at_start(request, tmp_path):
    with pytest.raises(ValueError, match="http or grpc"):
        open_store(make_settings("datastore", request, tmp_path, datastore_transport="carrier-pigeon"))
    assert Settings.from_env({"MOBWRITE_DATASTORE_TRANSPORT": "http"}).datastore_transport == "http"
    assert Settings.from_env({}).datastore_transport == "grpc"
