"""Fuzzing at scale: tests/test_fuzz.py's properties over many more cases.

    python3 -m bench.fuzz                        # 100,000 cases across the targets
    python3 -m bench.fuzz --cases 5000 --seed 7  # a short run, repeatable

The targets, strategies and checks are tools/fuzzing.py's: the protocol
parser, the delta decoder, the text codec, the engine, and the app over
WSGI (memory with the fast path and Flask compared, SQLite, tokens with
tight rate limits). Hypothesis generates the cases (no shrinking: problems
are counted, not raised). Printed per target: cases run, exceptions that
escaped, 5xx answers, unsafe JSONP answers, other broken properties, wall
and CPU seconds; then a few examples of each problem. Exit status 1 if any
count is not zero.
"""

import argparse
import collections
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402  (after the path fix)

from bench.common import finish, machine_line, print_machine, table  # noqa: E402
from tools import fuzzing  # noqa: E402

# Shares of --cases: the pure targets are cheap, the HTTP ones each take a request or two.
SHARES = {"protocol parser": 0.15, "delta decoder": 0.15, "text codec": 0.10, "engine": 0.15,
          "http memory, fast = Flask": 0.15, "http sqlite": 0.15, "http tokens, limits": 0.15}
COLUMNS = {"exception": "exceptions", "5xx": "5xx", "unsafe JSONP": "unsafe JSONP", "property": "other failures"}
EXAMPLES = 3  # kept per target and kind


def fuzz(target, cases, run_seed):
    """Run ``cases`` generated cases through ``target``: (cases run,
    Counter of problem kinds, {kind: [(detail, case)]}, seconds, CPU seconds)."""
    counts, examples, ran = collections.Counter(), collections.defaultdict(list), [0]

    @seed(run_seed)
    @settings(max_examples=cases, deadline=None, database=None, derandomize=False, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(fuzzing.strategy(target.make))
    def one(case):
        ran[0] += 1
        for kind, detail in fuzzing.problems_of(target, case):
            counts[kind] += 1
            if len(examples[kind]) < EXAMPLES:
                examples[kind].append((detail, case))

    started, cpu = time.monotonic(), time.process_time()
    one()
    return ran[0], counts, examples, time.monotonic() - started, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000, help="cases in all, shared among the targets")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis's seed (default: a new one)")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    args = parser.parse_args(argv)
    if args.cases < len(SHARES):
        parser.error("--cases must be at least %d (one per target)" % len(SHARES))
    run_seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")

    machine = machine_line()
    print("MobWrite fuzzing: %d cases across %d targets, seed %d (python3 -m bench.fuzz --cases %d --seed %d "
          "runs them again)" % (args.cases, len(SHARES), run_seed, args.cases, run_seed))
    print_machine(machine)
    started = time.monotonic()
    report = {"machine": machine, "cases": args.cases, "seed": run_seed, "targets": {}}
    rows, found = [], []
    for target in fuzzing.targets():
        cases = max(1, round(args.cases * SHARES[target.name]))
        with target:
            ran, counts, examples, seconds, cpu = fuzz(target, cases, run_seed)
        rows.append([target.name, "{:,}".format(ran)] + [counts[kind] for kind in COLUMNS]
                    + ["%.1f" % seconds, "%.1f" % cpu])
        report["targets"][target.name] = {"cases": ran, "seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
                                          **{COLUMNS[kind]: counts[kind] for kind in COLUMNS}}
        found += [(target.name, kind, detail, case) for kind, seen in examples.items() for detail, case in seen]
        print("  %s: %d cases in %.1fs" % (target.name, ran, seconds), flush=True)
    figures = list(report["targets"].values())
    total = ["total", "{:,}".format(sum(f["cases"] for f in figures))] + \
        [sum(f[column] for f in figures) for column in COLUMNS.values()] + \
        ["%.1f" % sum(f["seconds"] for f in figures), "%.1f" % sum(f["cpu_seconds"] for f in figures)]
    print()
    print(table(["target", "cases"] + list(COLUMNS.values()) + ["seconds", "CPU s"], rows + [total]))
    print("(seconds: wall clock; CPU s: this process's CPU time, the same figure on a busy machine)")
    for name, kind, detail, case in found:
        print("\n%s, %s: %s\n  case: %s" % (name, kind, detail.strip()[:1500], repr(case)[:1500]))
    finish(report, started, args.json)
    return 1 if any(total[2:-2]) else 0


if __name__ == "__main__":
    sys.exit(main())
