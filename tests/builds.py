"""The real build: build_zips.sh run into a folder of the test's choosing."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_build(out_dir, env=None):
    """Run build_zips.sh for real into ``out_dir``; returns its output."""
    full_env = dict(os.environ, ZIPSERVE_DIR=str(out_dir), PYTHON=sys.executable)
    full_env.update(env or {})
    done = subprocess.run(["bash", os.path.join(REPO, "build_zips.sh")], env=full_env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout
