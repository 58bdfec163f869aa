"""Fault runs (issue 17): instances die at any time, no edit is lost.

    python -m bench.faults                     # 2 runs of 20 s per fault, ~6 min on 2 cores
    python -m bench.faults --runs 1 --seconds 8   # ~3 min

Each run is ``tools.faults.run``: two gunicorn gateways (two workers each)
on one store, 8 users typing words from a real editing trace into one
document, each sync to a random gateway, while a fault repeats: a worker
SIGKILLed at random, a worker SIGKILLing itself between its commit and its
answer or inside an SQLite write transaction (``tools/fault_hooks.py``),
the Datastore emulator stopped and started again on its port, Redis or
memcached stopped and started again (empty), one gateway cut off Redis
by a TCP forwarder while the other keeps it. Then quiet
syncs until everyone agrees. Per fault: runs, faults that happened, runs
converged, acknowledged edits and how many were lost, 5xx answers other
than 503 (there must be none), 503s, and recovery time: from the fault's
end (the signal; the restarted emulator answering) until every gateway
has answered 5 requests sent after it in a row 200 (tools/faults.py says
it exactly). Last, 20 users on one document on Datastore with no fault, with
the default retries and with none: how often transactions collide past
their retries (503), and the latency.
"""

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
import uuid

from bench.common import finish, fmt, machine_line, print_machine, table
from mobwrite.config import Settings
from tools import faults

DEFAULT_RETRIES = Settings.datastore_retries


def scenarios(seconds):
    """(label, store, hooks, schedule maker(rng), fault name) of every fault row."""
    def kills(rng):
        return faults.repeated("worker kill", faults.kill_worker(rng), 0.5, seconds - 0.5, 1.0, rng)

    def restarts(rng):
        # One outage per 20 s: stopping takes ~2 s (the emulator writes its data) and starting ~7 s.
        return [(at, "emulator restart", faults.outage("emulator", 2.0))
                for at in range(2, max(3, int(seconds) - 8), 20)]

    def cache_outage(cache):
        return lambda rng: [(at, cache + " outage", faults.outage(cache, 3.0))
                            for at in range(2, max(3, int(seconds) - 4), 8)]

    def partitions(rng):
        return [(at, "cache partition", faults.partition(3.0)) for at in range(2, max(3, int(seconds) - 4), 8)]

    after_commit = {"MOBWRITE_FAULT_KILL_AFTER_COMMIT": "0.03"}
    return [
        ("worker SIGKILL, sqlite", "sqlite", {}, kills, "worker kill"),
        ("worker SIGKILL, datastore", "datastore", {}, kills, "worker kill"),
        ("SIGKILL after commit, sqlite", "sqlite", after_commit, None, "after-commit"),
        ("SIGKILL after commit, datastore", "datastore", after_commit, None, "after-commit"),
        ("SIGKILL inside an SQLite write transaction", "sqlite",
         {"MOBWRITE_FAULT_KILL_IN_TRANSACTION": "0.02"}, None, "in-transaction"),
        ("Datastore emulator stop + restart", "datastore", {}, restarts, "emulator restart"),
        ("Redis stop + restart, datastore", "datastore+redis", {}, cache_outage("redis"), "redis outage"),
        ("memcached stop + restart, datastore", "datastore+memcached", {}, cache_outage("memcached"),
         "memcached outage"),
        ("one gateway cut off Redis, datastore", "datastore+redis/cut", {}, partitions, "cache partition"),
    ]


def one_run(label, backend, hooks, schedule, fault, emulator, args, seed):
    store, _, cache = backend.partition("+")
    cache, _, cut = cache.partition("/")
    with faults.Services(store, emulator=emulator, hooks=hooks, cache=cache or None, cut_off=(0,) if cut else (),
                         env={"MOBWRITE_CACHE_RETRY": "0.2"} if cache else None) as services:
        result = faults.run(services, clients=args.clients, seconds=args.seconds, seed=seed,
                            schedule=schedule(random.Random(seed)) if schedule else ())
        sound = services.integrity_check() == "ok" if store == "sqlite" else None
    happened = result.faults_named(fault)
    print("  %s #%d: %s; %d faults%s%s" % (
        label, seed, result.summary(), len(happened),
        "" if sound is None else ", integrity_check %s" % ("ok" if sound else "FAILED"),
        "".join("\n    " + p for p in result.problems())), flush=True)
    return result, happened, sound


def row(label, runs):
    recoveries = [f.recovery for _, happened, _ in runs for f in happened]
    known = [r for r in recoveries if r is not None]
    results = [r for r, _, _ in runs]
    sound = [s for _, _, s in runs if s is not None]
    return [label + ("" if all(sound) else " (integrity_check FAILED)"), len(runs), len(recoveries),
            "%d/%d" % (sum(r.converged for r in results), len(results)),
            sum(r.acknowledged for r in results), sum(len(r.lost) + len(r.doubled) for r in results),
            sum(r.server_errors for r in results), sum(r.statuses["503"] for r in results),
            "%s / %s" % (fmt(statistics.median(known) if known else None, "%.2f"),
                         fmt(max(known) if known else None, "%.2f"))
            + (" (%d never)" % (len(recoveries) - len(known)) if len(known) < len(recoveries) else "")]


def contention(emulator, args, retries):
    """20+ users on one document on Datastore, no fault: collisions, retries, 503s."""
    with faults.Services("datastore", emulator=emulator, env={"MOBWRITE_DATASTORE_RETRIES": str(retries)}) as services:
        result = faults.run(services, clients=args.contention_clients, seconds=args.seconds, type_odds=0.8,
                            seed=99)
    print("  contention, %d retries: %s%s" % (retries, result.summary(),
                                             "".join("\n    " + p for p in result.problems())), flush=True)
    return result


def _ms(seconds):
    return None if seconds is None else seconds * 1000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="runs of each fault (default 2)")
    parser.add_argument("--seconds", type=float, default=20.0, help="typing time of a run (default 20)")
    parser.add_argument("--clients", type=int, default=8, help="users per run (default 8)")
    parser.add_argument("--contention-clients", type=int, default=20, help="users on one document (default 20)")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    args = parser.parse_args(argv)
    if not 1 <= args.runs <= 50 or not 3 <= args.seconds <= 600 or not 1 <= args.clients <= 200 \
            or not 2 <= args.contention_clients <= 200:
        parser.error("runs, seconds or clients out of range")

    machine = machine_line()
    run_id = uuid.uuid4().hex[:6]
    print("MobWrite fault runs %s: 2 gateways x 2 gunicorn workers on one store, %d users typing trace words "
          "into one document, %d run(s) of %gs per fault, then quiet syncs" % (run_id, args.clients, args.runs,
                                                                                args.seconds))
    print_machine(machine)
    started = time.monotonic()
    report = {"run": run_id, "machine": machine, "settings": vars(args), "faults": {}}
    rows = []
    workdir = tempfile.mkdtemp(prefix="mobwrite-bench-faults-")
    # One emulator for every Datastore run, kept on disk so the restart fault can stop it.
    emulator = faults.persisted_emulator(os.path.join(workdir, "emulator"))
    emulator.start()
    try:
        for label, store, hooks, schedule, fault in scenarios(args.seconds):
            runs = [one_run(label, store, hooks, schedule, fault, emulator if store != "sqlite" else None,
                            args, seed) for seed in range(1, args.runs + 1)]
            rows.append(row(label, runs))
            report["faults"][label] = [{"summary": r.summary(), "problems": r.problems(),
                                        "recoveries": [f.recovery for f in happened], "integrity_ok": sound}
                                       for r, happened, sound in runs]
        busy = {retries: contention(emulator, args, retries) for retries in (DEFAULT_RETRIES, 0)}
    finally:
        emulator.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(table(["fault", "runs", "faults", "converged", "acked edits", "lost", "5xx", "503s",
                 "recovery s (median / max)"], rows))
    print("(lost: acknowledged words missing from the final text or in it twice; 5xx: answers 5xx other than 503;"
          " recovery: from the fault's end until each gateway answered %d requests in a row 200, the slowest"
          " gateway)" % faults.HEALTHY)
    print()
    lines, report["contention"] = [], {}
    for retries, result in busy.items():
        rate = result.statuses["503"] / result.syncs if result.syncs else 0
        label = "%d%s" % (retries, " (default)" if retries == DEFAULT_RETRIES else "")
        lines.append([label, result.clients, result.syncs, "%.1f%%" % (100 * rate), fmt(_ms(result.latency(0.5))),
                      fmt(_ms(result.latency(0.99))), fmt(_ms(max(result.latencies, default=None))),
                      "yes" if result.converged else "NO",
                      len(result.lost) + len(result.doubled), result.server_errors])
        report["contention"][retries] = {"summary": result.summary(), "rate_503": rate, "p50_s": result.latency(0.5),
                                         "p99_s": result.latency(0.99), "problems": result.problems()}
    print(table(["contention: Datastore retries", "clients", "syncs", "503 rate", "p50 ms", "p99 ms", "max ms",
                 "converged", "lost", "5xx"], lines))
    print("(%d users on one document for %gs, no fault; latency of the 200 answers, queueing for one of four "
          "workers included)" % (args.contention_clients, args.seconds))
    finish(report, started, args.json)


if __name__ == "__main__":
    main()
