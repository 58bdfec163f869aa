"""bench/push.py end to end (tests/test_bench.py says why the benches run in
tests).
"""

import json
import re

from benchrun import header, rows, run_bench


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
