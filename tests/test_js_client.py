"""The JavaScript client's pure parts (codec, diffs, protocol state, b:
fragments), tested with Node's own test runner on plain strings."""

import pathlib
import shutil
import subprocess

import pytest

from tools import devservers

HERE = pathlib.Path(__file__).parent


def test_the_client_unit_tests_pass_under_node():
    node = shutil.which("node")
    assert node, "Node.js is required (it also builds the zips)"
    files = sorted(str(p) for p in (HERE / "client").glob("*.test.mjs"))
    assert len(files) >= 3
    done = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120,
                          cwd=HERE.parent)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    assert "# fail 0" in done.stdout


@pytest.fixture(scope="module")
def gateway():
    server = devservers.start_gunicorn({"MOBWRITE_STORE": "memory"}, workers=1, threads=4)
    yield server.address + "/scripts/q.py"
    server.stop()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_javascript_clients_converge_through_the_real_gateway(gateway, seed):
    """The client's protocol code (not a port of it) against our server:
    emoji and other non-ASCII text, lost answers, duplicated requests."""
    done = subprocess.run([shutil.which("node"), str(HERE / "client" / "converge.mjs"), gateway,
                           f"converge-{seed}", str(seed)],
                          capture_output=True, text=True, timeout=120, cwd=HERE.parent)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert done.stdout.startswith("converged:")
