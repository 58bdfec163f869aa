"""The JavaScript client's pure parts (codec, diffs, protocol state, b:
fragments), tested with Node's own test runner on plain strings."""

import pathlib
import shutil
import subprocess

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
