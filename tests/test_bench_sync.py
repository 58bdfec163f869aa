"""bench/sync.py end to end, with both node peers (tests/test_bench.py says why
the benches run in tests).
"""

import json
import re

from benchrun import header, rows, run_bench


def test_sync_quick_with_peers(tmp_path):
    """``bench/sync.py --quick --yjs --sharedb`` end to end, on shorter windows (issue #16):
    every replay exact on our gateway, on Yjs and on ShareDB; every section
    and column printed, each cell with its spread; the peers' wire bytes
    (payloads plus the frame headers counted per frame) equal to what their
    sockets counted; a ratio per store, peer and client count."""
    report = tmp_path / "sync.json"
    out = run_bench(["bench/sync.py", "--quick", "--keys", "30", "--keys-single", "10", "--scaling-count", "25",
                     "--yjs", "--sharedb", "--json", str(report)], timeout=300)
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


def test_sync_under_the_gevent_worker(tmp_path):
    """``--worker gevent``: the replay served by the worker class and
    settings app.yaml deploys, every replay still exact (issue #16: the
    ratios against the peers were measured on the sync worker only)."""
    report = tmp_path / "sync.json"
    out = run_bench(["bench/sync.py", "--quick", "--worker", "gevent", "--stores", "sqlite", "--keys", "12",
                     "--keys-single", "6", "--skip-scaling", "--skip-rpcs", "--json", str(report)], timeout=300)
    assert "could not start" not in out
    assert "section 1: the trace typed through gunicorn (2 gevent workers)" in out
    replay = rows(out, "sync   clients  store")
    assert len(replay) == 2 * 3 * 2  # batchings x client counts x (noop, sqlite)
    assert all(r[-1] == ("-" if r[2] == "noop" else "yes") for r in replay)
    # gunicorn's sync worker closes the connection after every answer;
    # gevent's keeps it, so each client opened one: gevent served the replay.
    for key, runs in json.loads(report.read_text())["replay"].items():
        assert [cell["connections"] for cell in runs] == [int(key.split("|")[1])], key
