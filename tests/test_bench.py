"""Every benchmark entry point run for real, at the smallest settings that
still take each code path: its own servers (the Datastore emulator, Redis,
memcached, gunicorn, Chromium) started and stopped, every section printed,
and the figures that are facts rather than timings checked (Datastore round
trips per sync, convergence, exact replays). Each bench runs as a
subprocess, as a user runs it (tests/benchrun.py). The three longest have
files of their own, so that the suite's workers can take them at once:
test_bench_sync.py, test_bench_browser.py, test_bench_push.py.
"""

import json
import os
import re

from benchrun import REPO, header, rows, run_bench


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


def test_gateway_side_by_side_transports_behind_latency():
    """``--latency-ms`` puts a forwarder holding every Datastore answer
    between the gateways and the emulator; ``datastore/http`` is the same
    store with its sync path over HTTP, in the same run; ``--worker gevent``
    serves them as app.yaml does."""
    out = run_bench(["-m", "bench.gateway", "--backends", "noop,datastore,datastore/http", "--latency-ms", "5",
                     "--worker", "gevent", "--duration", "0.3", "--repeats", "1", "--workloads", "idle",
                     "--skip-round-trips"], timeout=120)
    assert "could not start" not in out
    assert "gevent worker); every Datastore answer held 5 ms by a forwarder" in out
    table = rows(out, "backend         w")
    assert [r[0] for r in table] == ["noop", "datastore", "datastore/http"], out
    assert [r[-1] for r in table] == ["-", "yes", "yes"] and all(r[-2] == "0" for r in table), out
    assert all(float(r[12]) >= 10 for r in table[1:]), out  # p50 ms: a Lookup and a Commit, each held 5 ms


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


def test_words():
    """One seed per merge mode: both rows printed; each seed converges with
    no character lost or doubled (the bench asserts it)."""
    out = run_bench(["-m", "bench.words", "--seeds", "1"], timeout=120)
    for mode in ("word merge (ours)", "fuzzy patch (original)"):
        row = re.search(r"^%s +(\d+) +(\d+) " % re.escape(mode), out, re.M)
        assert row and int(row.group(1)) > 0 and int(row.group(2)) <= int(row.group(1)), out


def test_merge():
    """``bench.merge`` at its smallest: a row per size and placement, and
    every case merged alike both ways (the bench exits non-zero if not)."""
    out = run_bench(["-m", "bench.merge", "--cases", "2", "--repeats", "1", "--sizes", "1000,10000"], timeout=120)
    table = rows(out, "size ")
    assert [(r[0], r[2]) for r in table] == [("1000", "near theirs"), ("1000", "anywhere"),
                                             ("10000", "near theirs"), ("10000", "anywhere")], out
    assert all(float(r[-1]) > 0 for r in table)


def test_floors():
    """``bench.floors`` at its smallest: every call measured on the real
    emulator, Redis and memcached, and the Datastore calls again behind a
    forwarder holding answers 5 ms, a positive CPU figure for each and the
    held calls taking longer."""
    out = run_bench(["-m", "bench.floors", "--calls", "5", "--repeats", "1", "--warm-up", "5",
                     "--latency-ms", "5"], timeout=120)
    assert "could not start" not in out
    table = rows(out, "call ")
    datastore = [call + transport for transport in (", gRPC", ", HTTP") for call in (
        "Datastore Lookup (view + text)", "Datastore Commit (10 KB view)", "Lookup that begins + Rollback")]
    assert [r[0] for r in table] == datastore + ["nothing for 10 ms, gRPC channel open"] + [
        d + ", answers +5 ms" for d in datastore] + ["Redis GET (20 KB)", "memcached get (20 KB)"], out
    assert all(float(r[1]) > 0 and float(r[3]) > 0 for r in table if not r[0].startswith("nothing")), out
    assert float(table[6][3]) >= 10_000, out  # wall µs of the 10 ms idle
    assert all(float(held[3]) >= 5000 for held in table[7:13]), out  # wall µs: every answer held 5 ms


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
