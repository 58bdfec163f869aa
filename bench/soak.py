"""Soak: the gateway under steady load for minutes, watching each gunicorn
worker for leaks (memory, file descriptors, connections) and the clients for
errors.

    python3 -m bench.soak                        # 10 min per backend, sqlite and datastore+redis
    python3 -m bench.soak --duration 300         # 5 min per backend
    python3 -m bench.soak --duration 60 --backends sqlite --clients 6 --sample 5 --json /tmp/soak.json

For each backend, gunicorn serves ``main:app`` as app.yaml's entrypoint
does (gevent workers, 1,000 connections, 60 s timeout, 5 s graceful), but
with 2 workers and rate limits off (every client is 127.0.0.1). The clients
(``mobwrite.client.Client``, a thread and a keep-alive connection each) are
spread over a few 10 KB documents and sync in a closed loop, the gateway
bench's ``mixed`` workload: a 2-6 character insert or delete with
probability 1/4, else an idle poll.

After a warm-up, and then every ``--sample`` seconds, each worker (a child
of the gunicorn master, found by its session) is sampled from /proc: RSS
(VmRSS), open file descriptors (/proc/PID/fd) and ESTABLISHED TCP
connections (its socket inodes looked up in /proc/net/tcp and tcp6), split
into accepted client connections and those to the store or cache. A worker
"grows" when its last sample exceeds its first by more than the tolerance
printed; the RSS slope (least squares over every sample, MB per minute) is
printed beside it as the steadier signal, and again over the second half
of the samples: a leak keeps its slope there, while caches and the
allocator's pools filling up after start flatten out. The run fails (exit 1) on any
5xx answer other than 503 (a busy document the client retries), on growth,
on a worker replaced during the run, or on documents that do not converge.

The Datastore store runs on the emulator and Redis on a local redis-server,
both bound to 127.0.0.1 and stopped at the end.
"""

import argparse
import contextlib
import dataclasses
import http.client
import os
import random
import sys
import threading
import time
import urllib.parse
import uuid

if __package__ in (None, ""):  # run as a file: the project root first (its zipserve, not bench's)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (ROOT, Services, Transport, finish, fmt, gunicorn_setup, machine_line,  # noqa: E402
                          make_text, percentile, print_machine, session_pids, small_edit, table, warm_up)
from tools import devservers  # noqa: E402

RATES_OFF = {"MOBWRITE_RATE_IP": "0", "MOBWRITE_RATE_USER": "0", "MOBWRITE_RATE_DOC_EDITS": "0"}
RSS_TOLERANCE_MB, RSS_TOLERANCE_SHARE = 5.0, 0.10  # growth allowed: the larger of the two
COUNT_TOLERANCE = 4  # fds and connections
ESTABLISHED = "01"  # the st column of /proc/net/tcp


# ---------------------------------------------------------------- /proc sampling

def tcp_sockets():
    """{socket inode: (local port, remote port, state)} of the TCP sockets in
    this network namespace (/proc/net/tcp and tcp6)."""
    sockets = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(path) as f:
            next(f)  # the header
            for line in f:
                fields = line.split()
                local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
                sockets[inode] = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16), state)
    return sockets


def sample_worker(pid, sockets, server_port, backing_ports):
    """One worker's RSS (MB), open fds, and ESTABLISHED TCP connections: in
    all, accepted from clients (on the server's port), and to the store or
    cache (``backing_ports``). None if the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            rss_kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        fds = os.listdir("/proc/%d/fd" % pid)
    except (OSError, StopIteration):
        return None
    conns = clients = backing = 0
    for fd in fds:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:  # closed since the listing
            continue
        if not target.startswith("socket:["):
            continue
        found = sockets.get(int(target[8:-1]))
        if found is None or found[2] != ESTABLISHED:
            continue
        conns += 1
        clients += found[0] == server_port
        backing += found[1] in backing_ports
    return {"rss_mb": rss_kb / 1024, "fds": len(fds), "conns": conns, "conns_clients": clients,
            "conns_backing": backing}


def brief(sample):
    """One worker's sample in a few words, for the progress lines."""
    if sample is None:
        return "gone"
    return "%.1f MB %d fds %d conns" % (sample["rss_mb"], sample["fds"], sample["conns"])


def port_of(address):
    """The port of "host:port" or a URL."""
    if "//" in address:
        return urllib.parse.urlsplit(address).port
    return int(address.rsplit(":", 1)[1])


def slope_per_minute(points):
    """Least-squares slope of [(seconds, value)] in value per minute; None
    with fewer than two points."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if not var:
        return None
    return 60 * sum((t - mean_t) * (v - mean_v) for t, v in points) / var


# ---------------------------------------------------------------- load

@dataclasses.dataclass
class Counts:
    """One client thread's results (each thread owns its own: no lock)."""
    syncs: int = 0
    edits: int = 0
    errors_5xx: int = 0   # 500-599 except 503
    errors_503: int = 0   # a busy document (or store): the client retries
    errors_other: int = 0  # any other status but 200
    errors_transport: int = 0  # no answer: refused, reset, timed out
    latencies: list = dataclasses.field(default_factory=list)  # seconds, answered syncs


class Load:
    """``n_clients`` clients on ``n_docs`` documents (client i on document
    i mod n_docs), each on a thread with its own connection, syncing in a
    closed loop until stopped: the ``mixed`` workload."""

    def __init__(self, base_url, run_id, n_clients, n_docs, doc_size, edit_prob, seed):
        from mobwrite.client import Client
        self.base_url, self.doc_size, self.edit_prob = base_url, doc_size, edit_prob
        self.docs = ["soak-%s-%d" % (run_id, d) for d in range(n_docs)]
        self.clients, self.doc_of = [], []
        for i in range(n_clients):
            doc = self.docs[i % n_docs]
            client = Client("soak-%s-%d" % (run_id, i))
            # The first client of a document brings its text; the others receive it.
            client.share(doc, make_text(doc_size, seed * 1000 + i) if i < n_docs else "")
            self.clients.append(client)
            self.doc_of.append(doc)
        self.rngs = [random.Random(seed * 1000 + i) for i in range(n_clients)]
        self.counts = [Counts() for _ in range(n_clients)]
        self.errors_seen = []
        self.stop = threading.Event()
        self.threads = []

    def sync(self, i, transport, edit=False):
        """One sync of client ``i``; the HTTP status (the answer applied if 200)."""
        client = self.clients[i]
        if edit:
            small_edit(client.docs[self.doc_of[i]], self.rngs[i], self.doc_size)
        status, answer = transport.post(client.request())
        if status == 200:
            client.receive(answer)
        elif len(self.errors_seen) < 5:
            self.errors_seen.append("HTTP %d: %s" % (status, answer[:200]))
        return status

    def warm_up(self):
        warm_up(self.base_url, self.sync, len(self.clients))

    def _loop(self, i, deadline):
        transport, rng, counts = Transport(self.base_url), self.rngs[i], self.counts[i]
        try:
            while not self.stop.is_set() and time.monotonic() < deadline and counts.syncs < 50_000_000:
                edit = rng.random() < self.edit_prob
                started = time.perf_counter()
                try:
                    status = self.sync(i, transport, edit)
                except (OSError, http.client.HTTPException) as exc:
                    counts.errors_transport += 1
                    if len(self.errors_seen) < 5:
                        self.errors_seen.append("%s: %s" % (type(exc).__name__, str(exc)[:200]))
                    time.sleep(0.05)
                    continue
                if status == 200:
                    counts.latencies.append(time.perf_counter() - started)
                    counts.syncs += 1
                    counts.edits += edit
                    continue
                if status == 503:
                    counts.errors_503 += 1
                elif 500 <= status <= 599:
                    counts.errors_5xx += 1
                else:
                    counts.errors_other += 1
                time.sleep(0.05)
        finally:
            transport.close()

    def start(self, deadline):
        self.threads = [threading.Thread(target=self._loop, args=(i, deadline), daemon=True)
                        for i in range(len(self.clients))]
        for thread in self.threads:
            thread.start()

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(70)

    def totals(self):
        keys = ("syncs", "edits", "errors_5xx", "errors_503", "errors_other", "errors_transport")
        return {k: sum(getattr(c, k) for c in self.counts) for k in keys}

    def latencies(self):
        return sorted(x for c in self.counts for x in c.latencies)

    def converged(self, rounds=6):
        """Quiet syncs until every client of each document holds the same text."""
        transport = Transport(self.base_url)
        try:
            for _ in range(rounds):
                for i in range(len(self.clients)):
                    with contextlib.suppress(OSError, http.client.HTTPException):
                        self.sync(i, transport)
                texts = {}
                for i, client in enumerate(self.clients):
                    texts.setdefault(self.doc_of[i], set()).add(client.docs[self.doc_of[i]].text)
                if all(len(t) == 1 for t in texts.values()):
                    return True
            return False
        finally:
            transport.close()


# ---------------------------------------------------------------- one backend

def soak(name, services, args, run_id):
    """Serve backend ``name``, load it for the duration while sampling its
    workers; print its table and verdicts and return its figures (None if
    it would not start)."""
    setup = gunicorn_setup(name, args.workers, services, RATES_OFF, worker="gevent")
    server = services.start("gunicorn on " + name, lambda: devservers.start_gunicorn(
        setup.env, app=setup.app, workers=setup.workers, root=ROOT, args=setup.args))
    if server is None:
        return None
    try:
        return _soak(name, setup, server, args, run_id)
    finally:
        server.stop()


def _soak(name, setup, server, args, run_id):
    master = server.process.pid
    server_port = port_of(server.address)
    backing_ports = {port_of(s.address) for s in setup.services}
    print("\n%s: gunicorn -w %d %s main:app, %d clients on %d documents of %d bytes, mixed workload (p=%.2f), "
          "%gs warm-up, then %gs sampled every %gs" % (name, setup.workers, " ".join(setup.args), args.clients,
                                                     args.docs, args.doc_size, args.edit_prob, args.warmup,
                                                     args.duration, args.sample), flush=True)
    load = Load(server.address, "%s-%s" % (run_id, name.replace("+", "-")), args.clients, args.docs,
                args.doc_size, args.edit_prob, args.seed)
    load.warm_up()
    began = time.monotonic()
    load.start(began + args.warmup + args.duration + 60)
    samples, workers = [], None
    try:
        time.sleep(args.warmup)
        workers = sorted(session_pids(master) - {master})
        t0 = time.monotonic()
        while True:
            elapsed = time.monotonic() - t0
            sockets = tcp_sockets()
            taken = {pid: sample_worker(pid, sockets, server_port, backing_ports) for pid in workers}
            samples.append({"t": round(elapsed, 2), "workers": taken})
            progress = "  ".join("w%d %s" % (n + 1, brief(s)) for n, s in enumerate(taken.values()))
            print("  %5.0fs  %s" % (elapsed, progress), flush=True)
            if elapsed >= args.duration - 0.01:
                break
            time.sleep(max(0.0, min(t0 + len(samples) * args.sample, t0 + args.duration) - time.monotonic()))
        seconds = time.monotonic() - began
        workers_after = sorted(session_pids(master) - {master})
    finally:
        load.finish()
    totals, lat = load.totals(), load.latencies()
    converged = load.converged()
    return report_backend(name, workers, workers_after, samples, totals, lat, seconds, converged,
                          load.errors_seen)


def verdict(first, last, points):
    """A worker's growth from its first sample to its last: the figures and
    whether any exceeds the tolerance."""
    rss_allowed = max(RSS_TOLERANCE_MB, RSS_TOLERANCE_SHARE * first["rss_mb"])
    growth = {"rss_mb": last["rss_mb"] - first["rss_mb"], "fds": last["fds"] - first["fds"],
              "conns": last["conns"] - first["conns"]}
    grew = (growth["rss_mb"] > rss_allowed or growth["fds"] > COUNT_TOLERANCE
            or growth["conns"] > COUNT_TOLERANCE)
    return {**growth, "rss_allowed_mb": rss_allowed, "rss_slope_mb_per_min": slope_per_minute(points),
            # A leak keeps its slope; caches and allocator pools filling up flatten out.
            "rss_slope_2nd_half_mb_per_min": slope_per_minute(points[len(points) // 2:]),
            "growth": grew}


def report_backend(name, workers, workers_after, samples, totals, lat, seconds, converged, errors_seen):
    """Print one backend's table, summary and verdicts; its figures."""
    rows, verdicts = [], {}
    for n, pid in enumerate(workers):
        series = [(s["t"], s["workers"][pid]) for s in samples if s["workers"].get(pid)]
        if not series:
            rows.append(["w%d (pid %d)" % (n + 1, pid)] + ["gone"] * 7)
            verdicts[pid] = {"growth": True, "gone": True}
            continue
        first, last = series[0][1], series[-1][1]
        v = verdict(first, last, [(t, s["rss_mb"]) for t, s in series])
        verdicts[pid] = v
        rows.append(["w%d (pid %d)" % (n + 1, pid),
                     "%.1f → %.1f" % (first["rss_mb"], last["rss_mb"]), "%+.1f" % v["rss_mb"],
                     fmt(v["rss_slope_mb_per_min"], "%+.3f"), fmt(v["rss_slope_2nd_half_mb_per_min"], "%+.3f"),
                     "%d → %d" % (first["fds"], last["fds"]), "%d → %d" % (first["conns"], last["conns"]),
                     "%d / %d" % (last["conns_clients"], last["conns_backing"])])
    print(table(["worker", "RSS MB start → end", "Δ MB", "slope MB/min", "2nd half", "fds start → end",
                 "conns start → end", "conns end: clients / store+cache"], rows))
    print("(growth tolerance, last sample against the first, both under the same load after the warm-up: RSS "
          "+%g MB or +%d%% of the start, whichever is larger; fds and conns +%d)"
          % (RSS_TOLERANCE_MB, 100 * RSS_TOLERANCE_SHARE, COUNT_TOLERANCE))
    p50, p99 = percentile(lat, 0.5), percentile(lat, 0.99)
    print("%s: %d syncs (%d edits) in %.0fs, %.1f syncs/s; errors: 5xx %d, 503 %d, transport %d, other %d; "
          "latency p50 %s ms, p99 %s ms; documents converged: %s"
          % (name, totals["syncs"], totals["edits"], seconds, totals["syncs"] / seconds, totals["errors_5xx"],
             totals["errors_503"], totals["errors_transport"], totals["errors_other"],
             fmt(p50 and 1000 * p50, "%.1f"), fmt(p99 and 1000 * p99, "%.1f"), "yes" if converged else "NO"))
    for e in errors_seen:
        print("  e.g. " + e)
    for n, pid in enumerate(workers):
        v = verdicts[pid]
        if v.get("gone"):
            print("  w%d (pid %d): GONE (the worker exited during the run)" % (n + 1, pid))
            continue
        print("  w%d (pid %d): %s (RSS %+.1f MB of %.1f allowed, slope %s MB/min; fds %+d; conns %+d)"
              % (n + 1, pid, "GROWTH" if v["growth"] else "no growth beyond noise", v["rss_mb"],
                 v["rss_allowed_mb"], fmt(v["rss_slope_mb_per_min"], "%+.3f"), v["fds"], v["conns"]))
    replaced = workers_after != workers
    if replaced:
        print("  workers REPLACED during the run: %s then %s" % (workers, workers_after))
    failed = bool(totals["errors_5xx"] or replaced or not converged or any(v["growth"] for v in verdicts.values()))
    return {"workers": workers, "workers_after": workers_after, "samples": samples, "totals": totals,
            "seconds": round(seconds, 2), "syncs_per_s": totals["syncs"] / seconds,
            "latency_ms_p50": p50 and 1000 * p50, "latency_ms_p99": p99 and 1000 * p99,
            "converged": converged, "verdicts": {str(k): v for k, v in verdicts.items()},
            "errors_seen": errors_seen, "failed": failed}


# ---------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds sampled per backend (default 600)")
    parser.add_argument("--backends", default="sqlite,datastore+redis")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--docs", type=int, default=5, help="documents the clients share (default 5)")
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples (default 10)")
    parser.add_argument("--warmup", type=float, help="seconds of load before the first sample "
                                                     "(default duration/10, 1-30)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--doc-kb", type=float, default=10)
    parser.add_argument("--edit-prob", type=float, default=0.25, help="chance that a sync edits")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", metavar="PATH", help="write every figure and sample to PATH")
    args = parser.parse_args(argv)
    if args.warmup is None:
        args.warmup = min(30.0, max(1.0, args.duration / 10))
    args.doc_size = int(args.doc_kb * 1024)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    if not 0 < args.duration <= 24 * 3600 or not 0 < args.sample or not 1 <= args.clients <= 200 \
            or not 1 <= args.docs <= args.clients or not 0 <= args.warmup <= 600 or not 1 <= args.workers <= 16:
        parser.error("duration, sample, clients, docs, warmup or workers out of range")
    if any(n == "noop" for n in names):
        parser.error("noop answers nothing: soak a store")

    machine = machine_line()
    run_id = uuid.uuid4().hex[:8]
    print("MobWrite soak %s: %gs per backend (%s), %d clients on %d documents, each gunicorn worker's RSS, "
          "fds and connections sampled every %gs" % (run_id, args.duration, ", ".join(names), args.clients,
                                                     args.docs, args.sample))
    print_machine(machine)
    started = time.monotonic()
    report = {"run": run_id, "machine": machine, "settings": {k: v for k, v in vars(args).items() if k != "json"},
              "backends": {}}
    failed = []
    with Services(prefix="mobwrite-soak-") as services:
        services.start_backing(datastore=any(n.startswith("datastore") for n in names),
                               redis=any(n.endswith("+redis") for n in names),
                               memcached=any(n.endswith("+memcached") for n in names))
        for name in names:
            result = soak(name, services, args, run_id) if services.available(name) else None
            if result is None:
                print("\n%s: not run (what it needs did not start)" % name)
                failed.append(name)
                continue
            report["backends"][name] = result
            if result["failed"]:
                failed.append(name)
        print("\nverdict: %s" % ("FAILED on " + ", ".join(failed) if failed else
                                 "no 5xx, no growth beyond the tolerance, workers kept, documents converged"))
        report["failed"] = failed
        finish(report, started, args.json)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
