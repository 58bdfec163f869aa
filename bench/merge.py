"""The server's word merge (mobwrite/merge.py) on a real trace: merging
only between the ends the three texts share, against tokenizing the whole
texts, measured in the same run on the same cases.

    python3 -m bench.merge            # about 30 s
    python3 -m bench.merge --quick    # a few seconds

Each case is a merge the server makes when two people type at once: the
base is the trace's text at some keystroke, theirs is the base with the
trace's next keystrokes (``--keys``), and ours is the base with a word
typed either near theirs (the same paragraph, within 200 characters) or
anywhere. Cases are taken where the text is about each ``--sizes`` long.
Printed per size and placement: microseconds per merge, median over
``--repeats`` passes, each way, and whole ÷ ends. Every case's result is
checked to be the same both ways.
"""

import argparse
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import common, traces  # noqa: E402  (after the path fix)
from mobwrite import merge  # noqa: E402


def whole(base, ours, theirs):
    """The merge with every token of the three texts, as before shared ends."""
    tokens = [merge._tokens(t) for t in (base, ours, theirs)]
    return merge._merge(*tokens, time.time() + merge.MERGE_DIFF_SECONDS)[0]


def ends(base, ours, theirs):
    return merge.merge3(None, base, ours, theirs)


def cases(trace, size, count, keys, near, rng):
    """``count`` (base, ours, theirs) where the trace's text is about ``size``."""
    patches, text, found = trace.patches, trace.start, []
    for i, patch in enumerate(patches):
        text = traces.apply(text, patch)
        if len(text) >= size and len(found) < count and i + keys < len(patches) and rng.random() < 0.2:
            theirs = text
            for later in patches[i + 1:i + 1 + keys]:
                theirs = traces.apply(theirs, later)
            spot = patches[i + 1].pos if near else rng.randrange(len(text))
            spot = max(0, min(len(text), spot + (rng.randint(-200, 200) if near else 0)))
            spot = text.rfind(" ", 0, spot) + 1  # a word typed before another
            found.append((text, text[:spot] + "ours " + text[spot:], theirs))
        if len(found) == count:
            break
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer cases and passes")
    parser.add_argument("--trace", default="automerge-paper", choices=traces.NAMES)
    parser.add_argument("--sizes", default="1000,10000,50000", help="text sizes in characters")
    parser.add_argument("--cases", type=int, help="cases per size and placement (default 40; quick 8)")
    parser.add_argument("--repeats", type=int, help="passes over the cases (default 5; quick 3)")
    parser.add_argument("--keys", type=int, default=5, help="their keystrokes since the base")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    args = parser.parse_args(argv)
    count = args.cases or (8 if args.quick else 40)
    repeats = args.repeats or (3 if args.quick else 5)
    started = time.monotonic()
    trace = traces.load(args.trace)
    machine = common.machine_line()
    print("MobWrite merge benchmark: %s, %d cases per cell, %d passes, their %d keystrokes"
          % (args.trace, count, repeats, args.keys))
    common.print_machine(machine)
    rows, report = [], {"machine": machine, "cells": []}
    for size in (int(s) for s in args.sizes.split(",")):
        for near in (True, False):
            found = cases(trace, size, count, args.keys, near, random.Random(args.seed))
            if not found:
                print("no text of %d characters in %s" % (size, args.trace))
                continue
            for case in found:
                if whole(*case) != ends(*case):
                    raise SystemExit("different results on a case of %d characters" % len(case[0]))
            timings = {"whole": [], "ends": []}
            for _ in range(repeats):
                for name, way in (("whole", whole), ("ends", ends)):
                    begun = time.perf_counter()
                    for case in found:
                        way(*case)
                    timings[name].append((time.perf_counter() - begun) / len(found) * 1e6)
            w, e = statistics.median(timings["whole"]), statistics.median(timings["ends"])
            placement = "near theirs" if near else "anywhere"
            chars = statistics.median(len(c[0]) for c in found)
            rows.append([size, "%.0f" % chars, placement, "%.0f" % w, "%.0f" % e, "%.1f" % (w / e)])
            report["cells"].append({"size": size, "chars": chars, "placement": placement, "whole_us": w,
                                    "ends_us": e, "cases": len(found), "whole_runs": timings["whole"],
                                    "ends_runs": timings["ends"]})
    print()
    print(common.table(["size", "chars", "ours typed", "whole µs", "ends µs", "whole ÷ ends"], rows))
    common.finish(report, started, args.json)


if __name__ == "__main__":
    main()
