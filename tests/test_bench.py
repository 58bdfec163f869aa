"""Every benchmark entry point run for real, at the smallest settings that
still take each code path: its own servers (the Datastore emulator, Redis,
memcached, gunicorn, node's Yjs server, Chromium) started and stopped, every
section printed, and the figures that are facts rather than timings checked
(Datastore round trips per sync, convergence, exact replays).

Each bench runs as a subprocess, as a user runs it, so a bench that only
works from the test process's state (sys.path, environment) fails here.
"""

import json
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


def test_gateway(tmp_path):
    """Both sections on every backend; section 2's counts are the ones
    DESIGN.md aims at: an edit costs 2 Datastore RPCs, an idle poll 2 without
    a cache and 1 with Redis or memcached (the view cache serves the view)."""
    report = tmp_path / "gateway.json"
    out = run_bench(["-m", "bench.gateway", "--duration", "0.3", "--repeats", "1", "--polls", "3",
                     "--workloads", "mixed", "--json", str(report)], timeout=240)
    assert "could not start" not in out
    assert out.startswith("MobWrite gateway benchmark ") and "\nmachine: nproc=" in out
    table = rows(out, "backend              w")
    backends = ["noop", "memory", "sqlite", "datastore", "datastore+redis", "datastore+memcached"]
    assert [r[0] for r in table] == backends
    assert [r[-1] for r in table] == ["-"] + ["yes"] * 5  # converged
    assert all(r[-2] == "0" for r in table)  # errors
    assert "section 2: Datastore round trips per sync, counted by tools.rpccount" in out
    figures = json.loads(report.read_text())
    http = figures["http"]["mixed"]
    assert all(http[b]["median"]["syncs"] > 0 for b in backends)
    rpcs = {(b, phase): r["rpcs_per_sync"] for b, phases in figures["round_trips"].items()
            for phase, r in phases.items()}
    for backend in ("datastore", "datastore+redis", "datastore+memcached"):
        assert rpcs[(backend, "edit (insert)")] == 2  # the Lookup begins the transaction
        assert figures["round_trips"][backend]["edit (insert)"]["by_method"] == {"commit": 1, "lookup": 1}
    assert rpcs[("datastore", "idle poll")] == 2
    assert rpcs[("datastore+redis", "idle poll")] == 1
    assert rpcs[("datastore+memcached", "idle poll")] == 1
    for backend in ("datastore+redis", "datastore+memcached"):  # the edit wrote its text through
        assert rpcs[(backend, "idle poll after an edit")] == 1
    assert figures["round_trips"]["datastore+redis"]["idle poll"]["cache_ops_per_sync"]  # Redis was used
    # Section 2b (issue 13): history and presence cost no round trip on a poll or an edit.
    assert "section 2b: the same with history and presence off" in out
    off = figures["round_trips_history_presence_off"]
    for backend in ("datastore+redis", "datastore+memcached"):
        for phase in ("idle poll", "edit (insert)", "idle poll after an edit"):
            assert off[backend][phase]["rpcs_per_sync"] == rpcs[(backend, phase)], (backend, phase)
    assert "\ndone in " in out


def test_sync_quick_with_peers(tmp_path):
    """``bench/sync.py --quick --yjs --sharedb`` end to end (issue #16):
    every replay exact on our gateway, on Yjs and on ShareDB; every section
    and column printed, each cell with its spread; the peers' wire bytes
    (payloads plus the frame headers counted per frame) equal to what their
    sockets counted; a ratio per store, peer and client count."""
    report = tmp_path / "sync.json"
    out = run_bench(["bench/sync.py", "--quick", "--yjs", "--sharedb", "--json", str(report)], timeout=300)
    assert "could not start" not in out
    assert header(out, "sync   clients  store") == [
        "sync", "clients", "store", "µs/key", "spread", "windows", "×noop", "µs/sync", "syncs/core-s", "bytes/key",
        "emulator µs/key", "DS RPC/sync", "edit / poll", "p50 ms", "p99 ms", "exact"]
    replay = rows(out, "sync   clients  store")
    assert len(replay) == 2 * 3 * 3  # batchings x client counts x (noop, sqlite, datastore)
    assert all(r[-1] == ("-" if r[2] == "noop" else "yes") for r in replay)  # exact
    assert all(re.fullmatch(r"\d+–\d+", r[4]) for r in replay)  # the spread
    assert all(re.fullmatch(r"\d+\.\d", r[6]) for r in replay if r[2] != "noop")  # ×noop, each store
    assert all(re.fullmatch(r"\d+", r[10]) if r[2] == "datastore" else r[10] == "-" for r in replay)  # emulator
    figures = json.loads(report.read_text())
    assert all(cell["exact"] for key, runs in figures["replay"].items() if not key.startswith("noop")
               for cell in runs)
    for key, rpc in figures["rpcs"].items():
        assert rpc["exact"], key
        assert rpc["edit"]["rpcs_per_sync"] == 2, key
        assert rpc["poll"]["rpcs_per_sync"] == 2, key
    assert [r[0] for r in rows(out, "document")] == ["1 KB", "10 KB", "100 KB", "1 MB"]
    assert re.search(r"^1 MB ÷ 10 KB, one client, CPU per small edit: \d+\.\d$", out, re.M)
    for section, peer in (("3a", "Yjs"), ("3b", "ShareDB")):
        assert "\nsection %s: the same replay through %s" % (section, peer) in out
        table = rows(out, "sync   clients  %s µs/key" % peer)
        assert [(r[0], r[1]) for r in table] == [(b, n) for b in ("1/s", "1/key") for n in ("1", "3", "10")]
        assert all(re.fullmatch(r"\d+–\d+", r[3]) and int(r[4]) >= 5 and r[6] == "yes" for r in table), table
        for key, runs in figures["peers"][peer].items():
            for run in runs:
                assert run["exact"], key
                assert run["bytes_out"] == run["socket_bytes_out"] > 0, key
                assert run["bytes_in"] == run["socket_bytes_in"], key
    assert header(out, "sync   ratio") == ["sync", "ratio", "1 client", "3 clients", "10 clients"]
    ratios = rows(out, "sync   ratio")
    assert [r[1] for r in ratios] == ["%s ÷ %s" % (store, peer) for _ in range(2) for peer in ("Yjs", "ShareDB")
                                      for store in ("noop", "sqlite", "datastore")]
    assert all(re.fullmatch(r"\d+\.\d", cell) for r in ratios for cell in r[2:])


def test_zipserve(built):
    """All three sections, each app answering (the bench checks every file
    of the mix comes back whole before it measures)."""
    zips, _ = built
    out = run_bench(["-m", "bench.zipserve", "--quick", "--duration", "1", "--repeats", "1", "--zips", str(zips)],
                    timeout=180)
    assert "Section 1: HTTP through gunicorn" in out and "Section 1b:" in out and "Section 2:" in out
    for app in ("zipserve", "zipserve-route", "whitenoise"):
        http = re.search(r"^gzip +%s +([\d,]+) +([\d,]+)" % re.escape(app), out, re.M)
        assert http and int(http.group(1).replace(",", "")) > 0, out
    assert re.search(r"members: [1-9]\d* deflated members", out)


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


def test_words():
    """One seed per merge mode: both rows printed; each seed converges with
    no character lost or doubled (the bench asserts it)."""
    out = run_bench(["-m", "bench.words", "--seeds", "1"], timeout=120)
    for mode in ("word merge (ours)", "fuzzy patch (original)"):
        row = re.search(r"^%s +(\d+) +(\d+) " % re.escape(mode), out, re.M)
        assert row and int(row.group(1)) > 0 and int(row.group(2)) <= int(row.group(1)), out


def test_fuzz():
    """``bench.fuzz`` at 300 cases: a row per target and the total, every
    count of problems 0 (exit status 0), the seed printed for a rerun."""
    out = run_bench(["-m", "bench.fuzz", "--cases", "300"], timeout=120)
    assert re.match(r"MobWrite fuzzing: 300 cases across 7 targets, seed \d+ ", out) and "\nmachine: nproc=" in out
    assert header(out, "target ") == ["target", "cases", "exceptions", "5xx", "unsafe JSONP", "other failures",
                                      "seconds", "CPU s"]
    table = rows(out, "target ")
    assert [r[0] for r in table] == ["protocol parser", "delta decoder", "text codec", "engine",
                                     "http memory, fast = Flask", "http sqlite", "http tokens, limits", "total"]
    assert all(int(r[1]) > 0 and r[2:6] == ["0"] * 4 for r in table), out
    assert table[-1][1] == "300"
    assert "\ndone in " in out


def test_no_bench_imports_another():
    """The benches share bench.common, bench.traces and bench.noop only; the
    node peers' driver bench.peers is sync.py's alone (issue #14: sync.py and the driver
    imported each other, and three benches imported gateway.py)."""
    import ast

    shared = {"bench", "bench.common", "bench.traces", "bench.noop"}
    found = {}
    for folder, _, files in os.walk(os.path.join(REPO, "bench")):
        if "node_modules" in folder:
            continue
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                tree = ast.parse(open(path, encoding="utf-8").read())
                names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
                names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
                names |= {"bench." + a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                          and n.module == "bench" for a in n.names}
                found[os.path.relpath(path, REPO)] = {m for m in names if m.split(".")[0] == "bench"} - shared
    assert found.pop(os.path.join("bench", "sync.py")) == {"bench.peers"}
    assert all(not others for others in found.values()), found


def test_push_capacity(tmp_path):
    """``bench.push`` at 100 idle tabs (issue 11): both rows and the ratio
    row printed, no errors, every held wait held its full timeout, the
    wake-up check woken, and fewer requests per tab with push than with
    polling (at a 12 s hold: 60/12 + 60/120 = 5.5 a minute against 6)."""
    report = tmp_path / "push.json"
    out = run_bench(["-m", "bench.push", "--quick", "--clients", "100", "--window", "6", "--timeout", "12",
                     "--json", str(report)], timeout=150)
    assert out.startswith("MobWrite push capacity ") and "\nmachine: nproc=" in out
    columns = header(out, "run ")
    assert columns == ["run", "gunicorn", "clients", "req/client/min", "waits", "syncs", "conns/client/min",
                       "held s p50", "CPU ms/client/min", "srv CPU %", "RSS MB", "RSS KB/client", "errors"]
    table = rows(out, "run ")
    assert [r[0] for r in table] == ["push (held waits)", "polling (today)", "push ÷ polling"]
    push, poll = (dict(zip(columns, r)) for r in table[:2])
    assert push["errors"] == poll["errors"] == "0"
    assert float(push["req/client/min"]) < float(poll["req/client/min"])
    assert int(push["waits"]) > 0 and int(poll["waits"]) == 0 and int(poll["syncs"]) > 0
    assert len(table[2]) == 4  # the ratios: requests, CPU, RSS
    goal = (r"^goal: <= 2\.5 requests per idle client per minute with push: "
            r"\d+\.\d\d \(\d+\.\d{3} counted\), (met|NOT met)")
    assert re.search(goal, out, re.M)
    figures = json.loads(report.read_text())
    run = figures["runs"]["push"][0]
    assert run["early"] == 0 and min(run["holds"]) >= 11  # held, not answered early
    assert run["wake_check"]["woken"] == run["wake_check"]["tabs"] == 1
    assert "\ndone in " in out


def test_soak(tmp_path):
    """``bench.soak`` for a few seconds on SQLite (issue 17): the worker
    table, the summary line with every error kind, a verdict per worker,
    samples in the JSON, and exit status 0 (no 5xx, no growth)."""
    report = tmp_path / "soak.json"
    out = run_bench(["-m", "bench.soak", "--duration", "6", "--sample", "2", "--backends", "sqlite",
                     "--json", str(report)], timeout=60)
    assert out.startswith("MobWrite soak ") and "\nmachine: nproc=" in out
    assert header(out, "worker ") == ["worker", "RSS MB start → end", "Δ MB", "slope MB/min", "2nd half",
                                      "fds start → end", "conns start → end", "conns end: clients / store+cache"]
    table = rows(out, "worker ")
    assert [r[0].split()[0] for r in table] == ["w1", "w2"], out
    assert all(re.fullmatch(r"\d+ → \d+", r[6]) for r in table), out
    assert sum(int(r[7].split(" / ")[0]) for r in table) == 10, out  # every client's connection, accepted
    assert re.search(r"^sqlite: [1-9]\d* syncs \(\d+ edits\) in \d+s, [\d.]+ syncs/s; errors: 5xx 0, 503 \d+, "
                     r"transport 0, other 0; latency p50 [\d.]+ ms, p99 [\d.]+ ms; documents converged: yes$",
                     out, re.M), out
    assert len(re.findall(r"^  w\d \(pid \d+\): no growth beyond noise \(", out, re.M)) == 2, out
    assert "\nverdict: no 5xx, no growth beyond the tolerance" in out
    figures = json.loads(report.read_text())
    assert len(figures["backends"]["sqlite"]["samples"]) == 4  # at 0, 2, 4 and 6 s
    assert figures["failed"] == []
