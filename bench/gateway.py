"""Sync gateway benchmark: throughput and CPU through gunicorn, and Datastore
round trips counted per sync.

    python -m bench.gateway            # about 6 minutes on a 2-core machine
    python -m bench.gateway --quick    # well under 2 minutes
    python -m bench.gateway --duration 10 --repeats 5 --json /tmp/gateway.json

Section 1 (HTTP): for each store backend, gunicorn serves ``main:app`` and
10 ``mobwrite.client.Client`` users, each on its own thread with its own
connection, sync one 10 KB document in a closed loop (as fast as answers
come). Two workloads: ``mixed`` (each sync carries a small insert or delete
at the client's own random place with probability 1/4, else it is an idle
poll) and ``idle`` (idle polls only). Server CPU is the utime+stime of the
gunicorn session (master and workers) read from /proc before and after the
window; "svc" is the same for the backing services (Datastore emulator,
Redis, memcached), which in production run elsewhere. The baseline ("noop")
is ``bench.noop:app`` on the same gunicorn setup: it parses the q= form and
answers an empty body, so the cost of the HTTP stack itself is visible.
Repeats (5 windows by default) are interleaved across backends; figures are
medians, printed with their spread (min–max).

Section 2 (round trips): in-process (``create_app(settings)`` on a Datastore
namespace of its own, with the Flask test client), one warmed-up client on a
10 KB document; the Datastore RPCs of each sync are counted by method by
``tools.rpccount`` wrapped around the store, plus cache commands from Redis
``INFO commandstats`` and memcached ``stats`` deltas.

Section 1 runs gunicorn's sync worker (one request at a time per worker)
unless ``--worker gevent`` asks for the worker class and settings app.yaml
deploys (``bench.common.APP_YAML_ARGS``; gRPC then runs in gevent mode).

``--latency-ms`` holds every Datastore answer of section 1 that long (a
forwarder between the gateways and the emulator), since Cloud Datastore is
further away than a loopback emulator and a call's CPU may grow with its
wait (bench.floors). A Datastore backend named with ``/http`` runs the sync
path over HTTP/1.1 instead of gRPC (``MOBWRITE_DATASTORE_TRANSPORT``), for
a side-by-side comparison in one run.

Every server binds 127.0.0.1 on a free port and is stopped at the end.
"""

import argparse
import collections
import contextlib
import dataclasses
import http.client
import os
import random
import statistics
import sys
import threading
import time
import uuid

if __package__ in (None, ""):  # run as a file: the project root first (its zipserve, not bench's)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (GATEWAY_PATH, OUT_OF_REACH_RATES, CacheStats, Services, Transport,  # noqa: E402
                          add_worker_option, counted_datastore_app, finish, fmt, gunicorn_setup, insert_random,
                          machine_line, make_text, median_of, percentile, print_machine, session_cpu,
                          session_pids, small_edit, spread, table, warm_up)


# ---------------------------------------------------------------- HTTP load

@dataclasses.dataclass
class Tally:
    syncs: int = 0
    edits: int = 0
    errors: int = 0


class LoadRun:
    """10 clients on one document, each on a thread, syncing in a loop."""

    def __init__(self, base_url, doc, n_clients, doc_size, edit_prob, seed, baseline):
        from mobwrite.client import Client
        self.base_url, self.doc, self.doc_size = base_url, doc, doc_size
        self.edit_prob, self.baseline = edit_prob, baseline
        self.clients = [Client("bench-%s-%d" % (doc[-8:], i)) for i in range(n_clients)]
        self.rngs = [random.Random(seed * 1000 + i) for i in range(n_clients)]
        self.tallies = [Tally() for _ in range(n_clients)]
        self.latencies = [[] for _ in range(n_clients)]
        self.window = False
        self.stop = threading.Event()
        text = make_text(doc_size, seed)
        for i, client in enumerate(self.clients):
            # In a real run the first client brings the text and the others
            # receive it; the baseline answers nothing, so everyone starts with it.
            client.share(doc, text if (i == 0 or baseline) else "")
        self.errors_seen = []

    def sync(self, i, transport, edit=False):
        client = self.clients[i]
        if edit:
            small_edit(client.docs[self.doc], self.rngs[i], self.doc_size)
        status, answer = transport.post(client.request())
        if status != 200:
            raise RuntimeError("HTTP %d: %s" % (status, answer[:200]))
        if self.baseline:
            for shared in client.docs.values():  # nobody acknowledges: pretend the server did
                shared.edit_stack.clear()
        else:
            client.receive(answer)

    def warm_up(self):
        warm_up(self.base_url, self.sync, len(self.clients))

    def _loop(self, i, deadline, max_syncs):
        transport, rng, tally, lat = Transport(self.base_url), self.rngs[i], self.tallies[i], self.latencies[i]
        try:
            while not self.stop.is_set() and tally.syncs < max_syncs and time.monotonic() < deadline:
                edit = rng.random() < self.edit_prob
                started = time.perf_counter()
                try:
                    self.sync(i, transport, edit)
                except (OSError, http.client.HTTPException, RuntimeError) as exc:
                    tally.errors += 1
                    if len(self.errors_seen) < 5:
                        self.errors_seen.append(str(exc)[:200])
                    time.sleep(0.01)
                    continue
                if self.window and len(lat) < 100_000:
                    lat.append(time.perf_counter() - started)
                tally.syncs += 1
                tally.edits += edit
        finally:
            transport.close()

    def totals(self):
        return Tally(sum(t.syncs for t in self.tallies), sum(t.edits for t in self.tallies),
                     sum(t.errors for t in self.tallies))

    def measure(self, duration, server_sid, service_sids, settle=0.3):
        """Run the clients; measure a window of ``duration`` seconds."""
        deadline = time.monotonic() + settle + duration + 30
        threads = [threading.Thread(target=self._loop, args=(i, deadline, 10_000_000), daemon=True)
                   for i in range(len(self.clients))]
        for thread in threads:
            thread.start()
        try:
            time.sleep(settle)
            pids0 = session_pids(server_sid)
            before = (time.monotonic(), self.totals(), session_cpu(server_sid),
                      sum(session_cpu(s) for s in service_sids), time.process_time())
            self.window = True
            time.sleep(duration)
            self.window = False
            after = (time.monotonic(), self.totals(), session_cpu(server_sid),
                     sum(session_cpu(s) for s in service_sids), time.process_time())
            pids1 = session_pids(server_sid)
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(35)
        seconds = after[0] - before[0]
        syncs = after[1].syncs - before[1].syncs
        edits = after[1].edits - before[1].edits
        errors = after[1].errors - before[1].errors
        per = max(syncs, 1)
        lat = sorted(x for xs in self.latencies for x in xs)
        return {
            "seconds": round(seconds, 3),
            "syncs": syncs,
            "edits": edits,
            "errors": errors,
            "syncs_per_s": syncs / seconds,
            "server_cpu_s": after[2] - before[2],
            "server_cpu_us_per_sync": (after[2] - before[2]) * 1e6 / per,
            "server_cores_busy": (after[2] - before[2]) / seconds,
            "service_cpu_us_per_sync": (after[3] - before[3]) * 1e6 / per if service_sids else None,
            "client_cpu_us_per_sync": (after[4] - before[4]) * 1e6 / per,
            "latency_ms_p50": 1000 * percentile(lat, 0.5) if lat else None,
            "latency_ms_p95": 1000 * percentile(lat, 0.95) if lat else None,
            "workers_replaced": pids0 != pids1,
        }

    def converged(self, rounds=6):
        """Quiet syncs until every client holds the same text (or give up)."""
        if self.baseline:
            return None
        transport = Transport(self.base_url)
        try:
            for _ in range(rounds):
                for i in range(len(self.clients)):
                    with contextlib.suppress(OSError, http.client.HTTPException, RuntimeError):
                        self.sync(i, transport)
                texts = {c.docs[self.doc].text for c in self.clients}
                if len(texts) == 1:
                    return True
            return False
        finally:
            transport.close()


# ---------------------------------------------------------------- section 2: round trips

def count_round_trips(name, services, n, doc_size, seed, history_presence=True):
    """Per-sync Datastore RPCs (by method), cache commands and CPU for one
    backend, in process on the emulator, the store wrapped by
    ``tools.rpccount``; with history and presence on (the default) or off."""
    from mobwrite.client import Client
    from mobwrite.config import Settings

    overrides, cache_kind, cache_addr = {}, None, None
    if name.endswith("+redis"):
        overrides, cache_kind, cache_addr = {"redis_url": services.redis.address}, "redis", services.redis.address
    elif name.endswith("+memcached"):
        overrides = {"memcached_hosts": services.memcached.address}
        cache_kind, cache_addr = "memcached", services.memcached.address
    settings = Settings(log_level="WARNING", history=history_presence, presence=history_presence,
                        **OUT_OF_REACH_RATES, **overrides)
    cache = CacheStats(cache_kind, cache_addr)
    with counted_datastore_app(settings) as (app, rpc_counts):
        try:
            web = app.test_client()
            doc = "bench-rt-" + uuid.uuid4().hex[:10]
            client = Client("rt-user")
            client.share(doc, make_text(doc_size, seed))
            rng = random.Random(seed)

            def sync():
                response = web.post(GATEWAY_PATH, data={"q": client.request()})
                if response.status_code != 200:
                    raise RuntimeError("HTTP %d: %s" % (response.status_code, response.get_data(as_text=True)[:200]))
                client.receive(response.get_data(as_text=True))

            def edit():
                shared = client.docs[doc]
                shared.text = insert_random(shared.text, rng)

            for _ in range(3):  # create the text, get acknowledged
                sync()
            for _ in range(2):  # idle polls: the cache (if any) now holds the text
                sync()

            # (name, what runs before each counted sync, uncounted; whether the counted sync edits)
            phases = [("idle poll", None, False),
                      ("edit (insert)", None, True),
                      ("idle poll after an edit", "edit-sync", False)]
            results = {}
            for phase, before, edits in phases:
                rpcs, ops, times, cpu = collections.Counter(), collections.Counter(), [], 0.0
                for _ in range(n):
                    if before == "edit-sync":
                        edit()
                        sync()
                    if edits:
                        edit()
                    rpc0, ops0 = collections.Counter(rpc_counts), cache.snapshot()
                    started, cpu_started = time.perf_counter(), time.process_time()
                    sync()
                    times.append(time.perf_counter() - started)
                    cpu += time.process_time() - cpu_started
                    rpcs.update(collections.Counter(rpc_counts) - rpc0)
                    ops.update(cache.snapshot() - ops0)
                results[phase] = {
                    "syncs": n,
                    "rpcs_per_sync": sum(rpcs.values()) / n,
                    "by_method": {k: v / n for k, v in sorted(rpcs.items())},
                    "cache_ops_per_sync": {k: v / n for k, v in sorted(ops.items())} if cache_kind else None,
                    "ms_median": 1000 * statistics.median(times),
                    "cpu_us_per_sync": 1e6 * cpu / n,
                }
            return results
        finally:
            cache.close()


# ---------------------------------------------------------------- printing

def print_http(workload, edit_prob, setups, runs):
    base = runs.get("noop")
    base_rate = median_of(base, "syncs_per_s") if base else None
    base_cpu = median_of(base, "server_cpu_us_per_sync") if base else None
    rows = []
    summary = {}
    for setup in setups:
        rs = runs[setup.name]
        rate, cpu = median_of(rs, "syncs_per_s"), median_of(rs, "server_cpu_us_per_sync")
        cpus = [r["server_cpu_us_per_sync"] for r in rs]
        conv = [r.get("converged") for r in rs]
        med = {k: median_of(rs, k) for k in ("seconds", "syncs", "edits", "errors", "syncs_per_s", "server_cpu_s",
                                             "server_cpu_us_per_sync", "server_cores_busy",
                                             "service_cpu_us_per_sync", "client_cpu_us_per_sync",
                                             "latency_ms_p50", "latency_ms_p95")}
        med.update(rate_vs_noop=rate / base_rate if base_rate else None,
                   cpu_vs_noop=cpu / base_cpu if base_cpu else None,
                   converged_all=None if setup.name == "noop" else all(conv),
                   errors_total=sum(r["errors"] for r in rs), workers=setup.workers,
                   workers_replaced=any(r["workers_replaced"] for r in rs))
        summary[setup.name] = {"median": med, "repeats": rs}
        rows.append([setup.name, setup.workers, len(rs), fmt(rate), fmt(med["rate_vs_noop"], "%.2f"), fmt(cpu),
                     spread(cpus), fmt(med["cpu_vs_noop"], "%.2f"),
                     spread([c / base_cpu for c in cpus], "%.2f") if base_cpu and setup.name != "noop" else "-",
                     fmt(1e6 / cpu if cpu else None), fmt(med["service_cpu_us_per_sync"]),
                     fmt(med["client_cpu_us_per_sync"]),
                     fmt(med["latency_ms_p50"], "%.1f"), fmt(med["latency_ms_p95"], "%.1f"),
                     fmt(100 * med["edits"] / med["syncs"] if med["syncs"] else None, "%.0f%%"),
                     med["errors_total"],
                     "-" if setup.name == "noop" else ("yes" if all(conv) else "NO")
                     + (" (worker replaced)" if med["workers_replaced"] else "")])
    title = ("workload %r: %s" % (workload, "idle polls only" if not edit_prob else
                                  "each sync edits (2-6 chars) with p=%.2f, else an idle poll" % edit_prob))
    print("\n" + title)
    print(table(["backend", "w", "windows", "syncs/s", "×noop", "srv µs/sync", "spread", "×noop", "spread",
                 "syncs/core-s",
                 "svc µs/sync", "client µs/sync", "p50 ms", "p95 ms", "edits", "errors", "converged"], rows))
    return summary


def print_round_trips(results):
    methods = sorted({m for phases in results.values() for p in phases.values() for m in p["by_method"]})
    rows = []
    for name, phases in results.items():
        for phase, r in phases.items():
            cache = r["cache_ops_per_sync"]
            cache_text = "-" if cache is None else (" ".join("%s %.2f" % kv for kv in cache.items() if kv[1]) or "none")
            rows.append([name, phase, "%.2f" % r["rpcs_per_sync"]]
                        + ["%.2f" % r["by_method"].get(m, 0) for m in methods]
                        + ["%.1f" % r["ms_median"], "%.0f" % r["cpu_us_per_sync"], cache_text])
    print(table(["backend", "sync", "RPCs"] + methods + ["ms p50", "CPU µs", "cache commands per sync"], rows,
                ["<", "<"] + [">"] * (len(methods) + 3) + ["<"]))


def print_history_cost(on, off):
    """History and presence on against off, same run (issue 13's goal:
    idle poll unchanged, an edit at most one more write)."""
    rows = []
    for name, phases in on.items():
        for phase, r in phases.items():
            o = off[name][phase]
            rows.append([name, phase, "%.2f" % r["rpcs_per_sync"], "%.2f" % o["rpcs_per_sync"],
                         "%.0f" % r["cpu_us_per_sync"], "%.0f" % o["cpu_us_per_sync"],
                         "%.2f" % (r["cpu_us_per_sync"] / o["cpu_us_per_sync"]) if o["cpu_us_per_sync"] else "-"])
    print(table(["backend", "sync", "RPCs on", "RPCs off", "CPU µs on", "CPU µs off", "on/off"], rows,
                ["<", "<", ">", ">", ">", ">", ">"]))


# ---------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short windows, 2 repeats, fewer syncs counted")
    parser.add_argument("--duration", type=float, help="seconds per measured window (default 4; quick 1.5)")
    parser.add_argument("--repeats", type=int, help="windows per backend and workload (default 5; quick 2)")
    parser.add_argument("--polls", type=int, help="counted syncs per kind in section 2 (default 100; quick 20)")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--doc-kb", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (memory always uses 1)")
    parser.add_argument("--backends", default="noop,memory,sqlite,datastore,datastore+redis,datastore+memcached",
                        help="a Datastore backend may end in /http or /grpc (the default): the sync path's transport")
    parser.add_argument("--workloads", default="mixed,idle", help="mixed and/or idle")
    parser.add_argument("--edit-prob", type=float, default=0.25, help="chance that a sync of 'mixed' edits")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="section 1's Datastore answers held this long (a forwarder; Cloud Datastore is "
                             "further away than the emulator on loopback)")
    add_worker_option(parser)  # section 1's
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-round-trips", action="store_true")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    args = parser.parse_args(argv)
    duration = args.duration or (1.5 if args.quick else 4.0)
    repeats = args.repeats or (2 if args.quick else 5)
    polls = args.polls or (20 if args.quick else 100)
    if duration <= 0 or duration > 600 or not 1 <= repeats <= 50 or not 1 <= polls <= 10_000 \
            or not 1 <= args.clients <= 200 or not 0 <= args.latency_ms <= 1000:
        parser.error("duration, repeats, polls, clients or latency out of range")
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if "noop" in names:
        names.remove("noop")
    names.insert(0, "noop")  # the baseline, always first
    workloads = {"mixed": args.edit_prob, "idle": 0.0}
    workloads = {w: workloads[w] for w in args.workloads.split(",") if w in workloads}
    doc_size = int(args.doc_kb * 1024)
    need_ds = any(n.startswith("datastore") for n in names) or not args.skip_round_trips
    stores = {n.partition("/")[0] for n in names}  # "datastore+redis/grpc": that store, over gRPC
    need_redis = "datastore+redis" in stores or not args.skip_round_trips
    need_memcached = "datastore+memcached" in stores or not args.skip_round_trips

    machine = machine_line()
    run_id = uuid.uuid4().hex[:8]
    print("MobWrite gateway benchmark %s: syncs/s and server CPU per sync through gunicorn (%d clients, "
          "one %d-byte document, %gs windows x %d, medians), then Datastore RPCs per sync counted in-process"
          % (run_id, args.clients, doc_size, duration, repeats))
    print_machine(machine)
    started = time.monotonic()
    report = {"run": run_id, "machine": machine,
              "settings": {"duration": duration, "repeats": repeats, "polls": polls, "clients": args.clients,
                           "doc_size": doc_size, "workers": args.workers, "edit_prob": args.edit_prob}}
    with Services() as services:
        services.start_backing(need_ds, need_redis, need_memcached)
        names = [n for n in names if services.available(n)]
        if not args.skip_http:
            setups = [gunicorn_setup(name, args.workers, services, worker=args.worker) for name in names]
            forwarder = services.start_forwarder(args.latency_ms) if args.latency_ms and services.emulator else None
            for setup in setups:
                if forwarder is not None and "DATASTORE_EMULATOR_HOST" in setup.env:
                    setup.env["DATASTORE_EMULATOR_HOST"] = "127.0.0.1:%d" % forwarder.port
                services.serve(setup)
            print("servers up in %.1fs; section 1: through gunicorn (w = workers; srv = gunicorn master+workers "
                  "CPU; svc = emulator/Redis/memcached CPU; client = this load generator's CPU; %s worker)%s"
                  % (time.monotonic() - started, args.worker,
                     "; every Datastore answer held %g ms by a forwarder" % args.latency_ms if forwarder else ""))
            report["http"] = http_section(setups, workloads, repeats, duration, args, doc_size, run_id)
            print("(×noop: against the no-op Flask app on the same gunicorn; spread: min–max over the windows "
                  "of srv µs/sync, then of each window's over the noop median; syncs/core-s = 1e6 / srv µs/sync; memory runs 1 worker, its state being per process, "
                  "so its syncs/s is not comparable; the clients share this machine's %s cores with the servers)"
                  % machine["nproc"])
            for setup in setups:  # free the CPU for section 2
                setup.server.stop()

        if not args.skip_round_trips and services.emulator is not None:
            print("\nsection 2: Datastore round trips per sync, counted by tools.rpccount (in-process, emulator; "
                  "one client, %d-byte document, %d counted syncs each)" % (doc_size, polls))
            round_trips = {name: count_round_trips(name, services, polls, doc_size, args.seed)
                           for name in ("datastore", "datastore+redis", "datastore+memcached")
                           if services.available(name)}
            print_round_trips(round_trips)
            print("(aim, DESIGN.md: idle poll <= 1 RPC and no read the cache could serve; edit <= 3; "
                  "with the Lookup that begins the transaction, 2)")
            report["round_trips"] = round_trips
            print("\nsection 2b: the same with history and presence off (MOBWRITE_HISTORY=0, MOBWRITE_PRESENCE=0), "
                  "against on, same run")
            off = {name: count_round_trips(name, services, polls, doc_size, args.seed, history_presence=False)
                   for name in round_trips}
            print_history_cost(round_trips, off)
            report["round_trips_history_presence_off"] = off
        finish(report, started, args.json)
    return 0


def http_section(setups, workloads, repeats, duration, args, doc_size, run_id):
    """Section 1: interleaved repeats of every workload on every set-up; the
    printed tables' figures by workload."""
    http_runs = {w: {s.name: [] for s in setups} for w in workloads}
    for rep in range(repeats):
        for workload, edit_prob in workloads.items():
            for setup in setups:
                doc = "bench-%s-%s-%d-%s" % (run_id, workload, rep, setup.name.replace("+", "-"))
                load = LoadRun(setup.server.address, doc, args.clients, doc_size, edit_prob,
                               args.seed + rep, baseline=setup.name == "noop")
                load.warm_up()
                result = load.measure(duration, setup.server.process.pid, [s.process.pid for s in setup.services])
                result["converged"] = load.converged()
                result["error_samples"] = load.errors_seen
                http_runs[workload][setup.name].append(result)
                if load.errors_seen:
                    print("  %s/%s repeat %d: %d errors, e.g. %s" % (setup.name, workload, rep + 1,
                                                                    result["errors"], load.errors_seen[0]))
    return {workload: print_http(workload, edit_prob, setups, http_runs[workload])
            for workload, edit_prob in workloads.items()}


if __name__ == "__main__":
    sys.exit(main())
