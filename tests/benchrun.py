"""Running a benchmark as a user does, for the tests that run every bench end
to end (tests/test_bench*.py): a subprocess from the repository root, and
the tables it prints read back."""

import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_bench(args, timeout):
    """Run ``python3 ARGS`` from the repository root; its stdout (asserting
    exit status 0, with the output in the message if not)."""
    done = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert done.returncode == 0, "%s failed:\n%s\n%s" % (" ".join(args), done.stdout, done.stderr[-4000:])
    return done.stdout


def header(output, start):
    """The column names of the table whose header line starts with ``start``."""
    line = next(line for line in output.splitlines() if line.startswith(start))
    return re.split(r"\s{2,}", line.strip())


def rows(output, header):
    """The rows (lists of cells split on runs of 2+ spaces) of the table
    printed after the line starting with ``header``."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    out = []
    for line in lines[start + 2:]:  # past the header and the dashes
        if not line.strip() or line.startswith("("):
            break
        out.append(re.split(r"\s{2,}", line.strip()))
    return out
