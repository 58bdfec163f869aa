"""Record a gateway's answers to a fixed lossy replay, to compare two commits.

    python3 -m tools.replay > answers.txt        # in each checkout, then diff them

Seeded typists (tests/simulation.py) on a lossy network (drops, duplicates,
reordering) sync through the Flask test client on the memory store, with no
diff deadline so that answers do not depend on the machine's speed; then
p= and b: requests. Every request and answer is printed, one repr a line:
a refactor that changes no behaviour prints the same bytes.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from main import create_app  # noqa: E402  (after the path fix)
from mobwrite.config import Settings  # noqa: E402
from simulation import simulate  # noqa: E402

FRAGMENTS = ["u:x\nf:0:d\nd:0:+%E2%9C%93\n\n", "b:id1 2 1 u%3Ax%0Af%3A1%3Ad%0A", "b:id1 2 2 d%3A1%3A%3D1%0A%0A"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args(argv)
    out = sys.stdout
    for seed in range(1, args.seeds + 1):
        client = create_app(Settings(store="memory", diff_timeout=0, log_level="ERROR")).test_client()

        def sync(text):
            answer = client.post("/sync", data={"q": text}).get_data(as_text=True)
            out.write(repr(text) + "\n" + repr(answer) + "\n")
            return answer

        simulate(sync, seed, users=6, steps=args.steps)
        for text in FRAGMENTS:
            out.write(repr(client.get("/sync", query_string={"p": text}).get_data(as_text=True)) + "\n")


if __name__ == "__main__":
    main()
