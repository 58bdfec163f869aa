"""The ``mobwrite`` command-line tools, end to end: real processes
(``python -m mobwrite.cli``) against a live gateway (gunicorn on the sqlite
store), and the one-line errors for bad URLs and servers that are not
MobWrite."""

import http.server
import os
import shutil
import subprocess
import sys
import threading
import uuid

import pytest

from mobwrite.cli import transport
from mobwrite.client import Client
from tools import devservers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-gateway")
    server = devservers.start_gunicorn({"MOBWRITE_STORE": "sqlite",
                                        "MOBWRITE_SQLITE_PATH": str(folder / "cli.sqlite3"),
                                        "MOBWRITE_LOG_LEVEL": "WARNING"}, workers=2)
    yield server.address
    server.stop()


def serve(answer, protocol_version="HTTP/1.0"):
    """A real web server on a free loopback port, in a thread, whose every
    POST gets ``answer(count) -> (status, content_type, body)`` (COUNT: the
    requests so far, this one included); yields its base URL."""
    served = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            served.append(self.path)
            status, content_type, body = answer(len(served))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    Handler.protocol_version = protocol_version
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def html_server():
    """A web server that is not MobWrite: every POST gets an HTML page."""
    yield from serve(lambda count: (200, "text/html", b"<!doctype html><title>Hello</title><p>not a gateway</p>"))


@pytest.fixture
def busy_server():
    """A keep-alive gateway that takes the first request (the load tester's
    probe) and answers every later one with HTTP 503 and a one-line reason."""
    yield from serve(lambda count: (200, "text/plain; charset=utf-8", b"") if count == 1 else
                     (503, "text/plain; charset=utf-8", b"the store is busy; retry\n<p>more</p>"), "HTTP/1.1")


def cli(*args, stdin=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "mobwrite.cli", *args], capture_output=True, text=True,
                          input=stdin, cwd=cwd or ROOT, timeout=60,
                          env={**os.environ, "PYTHONPATH": ROOT})


def doc_name():
    return "cli-" + uuid.uuid4().hex[:10]


def test_upload_download_nullify(gateway, tmp_path):
    doc = doc_name()
    source = tmp_path / "in.txt"
    source.write_text("Hello, wörld 👋\nsecond line\n", encoding="utf-8")
    result = cli("upload", gateway, doc, str(source))
    assert result.returncode == 0, result.stderr
    r = cli("download", gateway + "/scripts/q.py", doc)
    assert r.stdout == "Hello, wörld 👋\nsecond line\n", r
    # upload overwrites (R:), it does not merge
    result = cli("upload", gateway, doc, "-", stdin="replaced")
    assert result.returncode == 0, result.stderr
    assert cli("download", gateway + "/sync", doc).stdout == "replaced"
    assert cli("nullify", gateway, doc).returncode == 0
    result = cli("download", gateway, doc)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_sync_merges_both_ways_across_runs(gateway, tmp_path):
    doc = doc_name()
    assert cli("upload", gateway, doc, "-", stdin="alpha\nbeta\ngamma\n").returncode == 0
    local = tmp_path / "notes.txt"
    # First run: no file yet, it takes the document.
    result = cli("sync", gateway, doc, str(local))
    assert result.returncode == 0, result.stderr
    assert local.read_text() == "alpha\nbeta\ngamma\n"
    state = tmp_path / "notes.txt.mobwrite.json"
    assert state.exists()
    # Local edit between runs, and a remote edit by someone else (another sync'd file).
    other = tmp_path / "other.txt"
    assert cli("sync", gateway, doc, str(other)).returncode == 0
    local.write_text("alpha\nbeta LOCAL\ngamma\n")
    other.write_text("REMOTE alpha\nbeta\ngamma\n")
    assert cli("sync", gateway, doc, str(other)).returncode == 0
    result = cli("sync", gateway, doc, str(local))
    assert result.returncode == 0, result.stderr
    assert local.read_text() == "REMOTE alpha\nbeta LOCAL\ngamma\n"
    assert cli("download", gateway, doc).stdout == "REMOTE alpha\nbeta LOCAL\ngamma\n"
    # The other copy catches up on its next run; nothing changes on a quiet run.
    assert cli("sync", gateway, doc, str(other)).returncode == 0
    assert other.read_text() == "REMOTE alpha\nbeta LOCAL\ngamma\n"
    assert cli("sync", gateway, doc, str(local)).returncode == 0
    assert local.read_text() == "REMOTE alpha\nbeta LOCAL\ngamma\n"
    # Another user id per sidecar
    import json
    assert json.loads(state.read_text())["user"] != json.loads((tmp_path / "other.txt.mobwrite.json").read_text())["user"]


def test_sync_first_run_creates_the_document(gateway, tmp_path):
    doc = doc_name()
    local = tmp_path / "new.txt"
    local.write_text("fresh text")
    assert cli("sync", gateway, doc, str(local)).returncode == 0
    assert cli("download", gateway, doc).stdout == "fresh text"


def test_loadtest_prints_a_summary(gateway):
    result = cli("loadtest", gateway, "--rate", "40", "--docs", "3", "--duration", "2")
    assert result.returncode == 0, result.stderr
    assert "%" in result.stderr  # the progress bar
    lines = dict(line.split(None, 1) if " " in line else (line, "") for line in result.stdout.splitlines())
    assert int(lines["requests"].split()[0]) >= 60
    assert lines["errors"].split()[0] == "0"
    assert "ms" in result.stdout.split("latency p99")[1].splitlines()[0]


@pytest.mark.parametrize("url, code, words", [
    ("not a url", 2, "bad URL"),
    ("ftp://127.0.0.1/x", 2, "bad URL"),
    ("http://127.0.0.1:99999/", 2, "bad URL"),
    ("http://127.0.0.1:1/", 3, "connection refused"),
])
def test_bad_urls_and_unreachable_servers(url, code, words):
    for args in (("download", url, "d"), ("nullify", url, "d"),
                 ("loadtest", url, "--rate", "5", "--duration", "1")):
        result = cli(*args)
        assert result.returncode == code, (args, result)
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stdout == ""


def test_http_error_status(gateway):
    result = cli("download", gateway + "/no/such/path", "d")
    assert result.returncode == 4
    assert "HTTP 404" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_answer_that_is_not_mobwrite(html_server, tmp_path):
    for args in (("download", html_server, "d"), ("upload", html_server, "d", "-"),
                 ("nullify", html_server, "d"), ("sync", html_server, "d", str(tmp_path / "f")),
                 ("loadtest", html_server, "--duration", "1")):
        result = cli(*args, stdin="x")
        assert result.returncode == 5, (args, result)
        assert "not answer like a MobWrite gateway" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_upload_refused_over_max_chars(tmp_path):
    server = devservers.start_gunicorn({"MOBWRITE_STORE": "sqlite", "MOBWRITE_MAX_CHARS": "10",
                                        "MOBWRITE_SQLITE_PATH": str(tmp_path / "small.sqlite3"),
                                        "MOBWRITE_LOG_LEVEL": "ERROR"}, workers=1)
    try:
        result = cli("upload", server.address, doc_name(), "-", stdin="x" * 11)
        assert result.returncode == 1 and "did not take the text" in result.stderr
    finally:
        server.stop()


def test_console_script(gateway):
    # .ci/run installs the project (pip install -e .), which puts `mobwrite` on PATH.
    assert shutil.which("mobwrite"), "the console script is not installed: pip install -e ."
    result = subprocess.run(["mobwrite", "download", gateway, doc_name()], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout == ""
    assert subprocess.run(["mobwrite", "--help"], capture_output=True).returncode == 0


def test_nullify_request_comes_from_the_client():
    client = Client("ann")
    client.share("keep", "")
    client.share("gone", "text")
    client.nullify("gone")
    assert client.request() == "u:ann\nf:0:keep\nd:0:\nn:gone\n\n"
    assert list(client.docs) == ["keep"]
    assert "n:" not in client.request()  # asked once, not on every sync
    alone = Client("bob")
    alone.nullify("doc")
    assert alone.request() == "u:bob\nn:doc\n\n"


def test_gateway_url_completes_the_path_and_keeps_the_query():
    assert transport.gateway_url(" http://h:8080 ") == "http://h:8080/scripts/q.py"
    assert transport.gateway_url("https://h/") == "https://h/scripts/q.py"
    assert transport.gateway_url("http://h/sync?x=1#frag") == "http://h/sync?x=1"


def test_check_answer_takes_mobwrite_text_only():
    url = "http://h/scripts/q.py"
    assert transport.check_answer(url, "text/plain; charset=utf-8", b"") == ""  # nullify's answer
    assert transport.check_answer(url, "text/plain", b"f:0:d\nd:0:=1\n\n") == "f:0:d\nd:0:=1\n\n"
    for content_type, body in (("text/plain", b"f:0:d\n"), ("text/plain", b"hello\n\n"),
                               ("text/plain", b"\xff\n\n"), ("text/html", b""), ("", b"")):
        with pytest.raises(transport.CliError) as caught:
            transport.check_answer(url, content_type, body)
        assert caught.value.code == transport.EXIT_NOT_MOBWRITE and caught.value.kind == "not MobWrite"


def test_connection_reopens_when_the_server_closes(gateway):
    # gunicorn's sync workers close after each answer; the next post opens a new connection.
    with transport.Connection(transport.gateway_url(gateway)) as conn:
        client = Client("re-" + uuid.uuid4().hex[:8])
        doc = doc_name()
        client.share(doc, "x")
        for _ in range(2):
            client.receive(conn.post(client.request()))
            assert conn.conn is None
    shared = client.docs[doc]
    assert (shared.text, shared.acked, shared.edit_stack) == ("x", 2, [])  # both syncs were taken


def test_connection_keeps_alive_and_maps_errors(gateway, busy_server):
    with transport.Connection(busy_server + "/scripts/q.py") as conn:
        assert conn.post("u:a\n\n") == ""  # its one good answer
        first = conn.conn
        with pytest.raises(transport.CliError) as caught:
            conn.post("u:a\n\n")
        assert first is not None and conn.conn is first  # the same TCP connection, still open
    assert conn.conn is None
    assert (caught.value.code, caught.value.kind) == (transport.EXIT_HTTP, "HTTP 503")
    assert str(caught.value) == (busy_server + "/scripts/q.py answered HTTP 503 Service Unavailable: "
                                 "the store is busy; retry")
    with pytest.raises(transport.CliError) as caught:
        transport.exchange(gateway + "/no/such/path", "u:a\n\n")
    assert (caught.value.code, caught.value.kind) == (transport.EXIT_HTTP, "HTTP 404")
    with pytest.raises(transport.CliError) as caught:
        transport.exchange("http://127.0.0.1:1/scripts/q.py", "u:a\n\n")
    assert (caught.value.code, caught.value.kind) == (transport.EXIT_UNREACHABLE,
                                                      "cannot reach (connection refused)")


def test_loadtest_counts_http_errors_and_fails_when_all_fail(busy_server):
    # After the probe every sync gets a 503: the table says so, and the exit status is 1.
    result = cli("loadtest", busy_server + "/x", "--rate", "10", "--docs", "1", "--duration", "1", "--no-progress")
    assert result.returncode == 1, result
    assert result.stderr == ""  # --no-progress: no bar
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines() if " " in line)
    assert lines["requests"] == "10"
    assert lines["errors"] == "10  (HTTP 503: 10)"
    assert "latency p50  -" in result.stdout.splitlines()  # no sync succeeded
