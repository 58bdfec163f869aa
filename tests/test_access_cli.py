"""Issue 12 from the command line against a live gunicorn: minting tokens,
using them, and a load test over the rate limit that gets 429s while a
well-behaved client keeps syncing."""

import os
import subprocess
import sys
import threading
import time

import pytest

from mobwrite.cli import transport
from mobwrite.cli.loadtest import percentile
from mobwrite.client import Client
from tools import devservers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "cli-test-key"


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    folder = tmp_path_factory.mktemp("access-gateway")
    server = devservers.start_gunicorn({
        "MOBWRITE_STORE": "sqlite", "MOBWRITE_SQLITE_PATH": str(folder / "a.sqlite3"),
        "MOBWRITE_LOG_LEVEL": "ERROR", "MOBWRITE_ACCESS": "tokens", "MOBWRITE_TOKEN_PREFIXES": "private",
        "MOBWRITE_TOKEN_KEY": KEY, "MOBWRITE_RATE_WINDOW": "2", "MOBWRITE_RATE_USER": "10",
        "MOBWRITE_RATE_IP": "0"}, workers=2)
    yield server.address
    server.stop()


def cli(*args, stdin=None):
    env = dict(os.environ, MOBWRITE_TOKEN_KEY=KEY)
    return subprocess.run([sys.executable, "-m", "mobwrite.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=60)


def test_minted_tokens_open_a_private_document_from_the_cli(gateway):
    edit = cli("token", "private/plan", "--right", "edit", "--ttl", "10m").stdout.strip()
    view = cli("token", "private/plan", "--right", "view", "--ttl", "1h").stdout.strip()
    assert cli("upload", gateway, "private/plan", "-", "--token", edit, stdin="the plan\n").returncode == 0
    refused = cli("download", gateway, "private/plan")
    assert refused.returncode == 1 and "no access to 'private/plan'" in refused.stderr
    assert cli("download", gateway, "private/plan", "--token", view).stdout == "the plan\n"
    read_only = cli("upload", gateway, "private/plan", "-", "--token", view, stdin="vandalised")
    assert read_only.returncode == 1 and "read-only" in read_only.stderr
    assert cli("nullify", gateway, "private/plan", "--token", view).returncode == 1
    assert cli("download", gateway, "private/plan", "--token", edit).stdout == "the plan\n"
    bad = cli("token", "private/plan", "--ttl", "soon")
    assert bad.returncode == 2 and "--ttl" in bad.stderr


def polite_client(url, stop, latencies, failures):
    """Two syncs a second, each timed; every failure kept."""
    c = Client("polite-%d" % os.getpid())
    doc = c.share("polite-doc", "")
    with transport.Connection(url) as conn:
        n = 0
        while not stop.is_set():
            doc.text += "."
            n += 1
            started = time.monotonic()
            try:
                c.receive(conn.post(c.request()))
                latencies.append(time.monotonic() - started)
            except transport.CliError as exc:
                failures.append(str(exc))
            stop.wait(0.5)


def test_a_load_test_over_the_limit_gets_429s_while_a_polite_client_syncs(gateway):
    stop, latencies, failures = threading.Event(), [], []
    thread = threading.Thread(target=polite_client, args=(gateway + "/scripts/q.py", stop, latencies, failures))
    thread.start()
    try:
        run = cli("loadtest", gateway, "--rate", "60", "--docs", "1", "--duration", "4", "--no-progress")
    finally:
        stop.set()
        thread.join()
    print(run.stdout)
    lat = sorted(latencies)
    print("polite client: %d syncs, %d failures, p50 %.1f ms, p99 %.1f ms"
          % (len(lat), len(failures), 1000 * percentile(lat, 0.5), 1000 * percentile(lat, 0.99)))
    assert run.returncode == 0, run.stderr
    errors = [line for line in run.stdout.splitlines() if line.startswith("errors")][0]
    assert "HTTP 429" in errors
    assert int(errors.split()[1]) > 100  # two users at 30/s each, 10 allowed per 2 s
    assert not failures and len(lat) >= 6
