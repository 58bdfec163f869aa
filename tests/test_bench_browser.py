"""bench/browser.py end to end in Chromium (tests/test_bench.py says why the
benches run in tests).
"""

import re

from benchrun import header, rows, run_bench


def test_browser(built):
    """Push and polling in Chromium, typing with 3 editors on both
    stores and one idle keystroke per pair after 2 s: every keystroke
    arrives at every watcher, each table is printed whole, the goal is
    checked for each store, and push's latency is split into its parts."""
    zips, _ = built
    out = run_bench(["-m", "bench.browser", "--keystrokes", "8", "--editors", "3", "--idle-repeats", "1",
                     "--idle-wait", "2", "--zips", str(zips)], timeout=150)
    assert "could not start" not in out
    assert re.search(r"^baseline: one sync round trip, median [\d.]+ ms on sqlite \(\d+ requests\), "
                     r"[\d.]+ ms on datastore\+redis \(\d+ requests\)$", out, re.M), out
    lines = out.splitlines()
    latency = next(line for line in lines if re.match(r"store +editors +scenario +client ", line))
    assert header(out, latency) == ["store", "editors", "scenario", "client", "n", "p50 ms", "p90 ms",
                                    "p50/RTT", "p50 ÷ polling", "p90 ÷ polling"]
    table = rows(out, latency)
    counts = {(r[0], r[1], r[2], r[3]): int(r[4]) for r in table}
    want = {}
    for store in ("sqlite", "datastore+redis"):
        for client in ("polling", "push"):
            want[(store, "3", "typing", client)] = 6  # 8 keystrokes, 5 to warm up, 2 watchers
            want[(store, "2", "idle 2 s", client)] = 1
    assert counts == want, out
    assert all(re.fullmatch(r"\d+\.\d\d", r[8]) and re.fullmatch(r"\d+\.\d\d", r[9])
               for r in table if r[3] == "push"), out  # the ratios to polling
    assert "goal: push, typing, 3 editors: p50 < 150 ms and p90 < 300 ms" in out
    for store in ("sqlite", "datastore+redis"):
        assert re.search(r"^  %s: p50 \d+ ms, p90 \d+ ms: (met|MISSED)$" % re.escape(store), out, re.M), out
    split = next(line for line in lines if re.match(r"store +editors +scenario +n ", line))
    assert header(out, split) == ["store", "editors", "scenario", "n", "edit delay", "A's sync", "wake-up",
                                  "woken sync"]
    parts = rows(out, split)
    assert [(r[0], r[1], r[2]) for r in parts] == [(s, e, c) for s in ("sqlite", "datastore+redis")
                                                   for e, c in (("3", "typing"),)] + [
        ("sqlite", "2", "idle 2 s"), ("datastore+redis", "2", "idle 2 s")], out
    assert all(len(r) == 8 and int(r[3]) > 0 for r in parts), out
