"""Push capacity (issue 11): what idle tabs holding push waits cost one
gunicorn instance, against today's idle polling, in the same run.

    python -m bench.push              # ~3 min on a 2-core machine: 1,000 tabs, 60 s windows
    python -m bench.push --quick      # ~1 min: 200 tabs, 15 s windows, 15 s wait timeout
    python -m bench.push --clients 500 --window 120 --repeats 2 --json /tmp/push.json

Run "push": gunicorn ``-w 1 -k gevent`` serving ``main:app`` on the
embedded SQLite store. Each of N simulated tabs (documents shared round
robin over 50 documents, each tab with its own user id) syncs once to make
its view, sends its first wait (answered at once with the wake tokens), then
holds waits exactly as the browser client does: an answer is followed at
once by the next wait with the new tokens, and a wait that says a document
woke is followed by a sync. Each tab also runs the client's safety-net poll,
one sync every ``pushSafetySync`` (120 s), on a fixed schedule staggered
across the tabs (the client counts from its last sync: the same, with no
edits). Tabs open one after another over one wait timeout, so their waits
come back spread out, as real tabs' do, and any window counts a fair share.

Run "polling": today's idle pages, as the original client polls them:
gunicorn ``-w 1 --threads 8`` (gthread, as before push), the same N tabs
each sending one idle sync every ``maxSync`` (10 s), staggered.

Measured over a window that starts once every tab is in its loop: requests
per tab per minute (waits + syncs, counted by the tabs), server CPU
(utime+stime of the gunicorn master and worker from /proc, per tab per
minute), server RSS (VmRSS of master and worker at the end of the window,
and its growth over the server's own RSS before the tabs came, per tab).
Errors (an answer that is not 200, a wait answered ``{"push": false}``, a
failed connection) are counted over the whole run and must be 0. After the
push window one tab edits its document, and the bench checks that the
waits of that document's other tabs come back woken (and how fast).

The tabs are greenlets in this process (gevent), each with its own
keep-alive connection for waits and one for syncs, as a browser tab keeps;
a connection the server closed while idle is reopened, as browsers do. The
load generator's own CPU is not in the server's figures (those are read
from the server's processes). The open-files limit is raised to 20,000 (the
hard limit permitting) for this process and the servers it starts.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402  (after the monkey patch, so sockets and sleeps cooperate)
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import uuid  # noqa: E402

import gevent  # noqa: E402
from gevent.lock import Semaphore  # noqa: E402

if __package__ in (None, ""):  # run as a file: the project root first
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import (GATEWAY_PATH, ROOT, Services, finish, fmt, machine_line, make_text,  # noqa: E402
                          median_of, percentile, print_machine, session_cpu, session_pids, table)
from tools import devservers  # noqa: E402

WAIT_PATH = "/scripts/wait"
GOAL_REQUESTS = 2.5          # requests per idle tab per minute (the acceptance point)
PRODUCTION = {"timeout": 30.0, "safety": 120.0}  # the settings the goal is stated for
POLL_EVERY = 10.0            # maxSync: the original client's idle interval, in seconds
FILES_WANTED = 20_000


# ---------------------------------------------------------------- HTTP

class Connection:
    """One keep-alive connection to the server. A POST on a reused
    connection the server has closed while it was idle (gunicorn keeps an
    idle one 2 s) is sent again on a new one, as a browser does; ``opened``
    counts the TCP connections made."""

    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None
        self.opened = 0

    def post(self, path, text):
        body = ("q=" + urllib.parse.quote(text, safe="")).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        for _ in range(2):
            reused = self.conn is not None
            if not reused:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                self.opened += 1
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if reused:
                    continue  # closed while idle: nothing reached the server
                raise
            except (OSError, http.client.HTTPException):
                self.close()
                raise
            if response.will_close:
                self.close()
            return response.status, data.decode("utf-8", "replace")
        raise ConnectionError("the server closed a fresh connection")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------- tabs

class Failure(Exception):
    """An answer that counts as an error (not 200, or a wait refused)."""


class Load:
    """N tabs against one server, and what they counted."""

    def __init__(self, address, n, n_docs, doc_size, timeout, run_id):
        from mobwrite.client import Client
        parsed = urllib.parse.urlsplit(address)
        self.host, self.port = parsed.hostname, parsed.port
        self.n, self.timeout = n, timeout
        self.counts = {"waits": 0, "syncs": 0, "errors": 0, "early": 0, "woken": 0}
        self.error_samples = []
        self.holds = []        # seconds each held wait lasted, recorded while self.window is on
        self.window = False
        self.ready = 0         # tabs in their steady loop
        self.greenlets = []
        texts = [make_text(doc_size, seed) for seed in range(n_docs)]
        self.tabs = []
        for i in range(n):
            doc = "push-%s-d%02d" % (run_id, i % n_docs)
            client = Client("t%s-%04d" % (run_id, i))
            # The first tab of each document brings its text, the others receive it.
            client.share(doc, texts[i % n_docs] if i < n_docs else "")
            self.tabs.append(Tab(self, client, doc))

    def connection(self):
        return Connection(self.host, self.port, self.timeout + 30)  # as the client: the hold and a margin

    def error(self, exc):
        self.counts["errors"] += 1
        if len(self.error_samples) < 5:
            self.error_samples.append("%s: %s" % (type(exc).__name__, str(exc)[:200]))

    def opened(self):
        return sum(t.waits.opened + t.syncs.opened for t in self.tabs)

    def start(self, loop):
        self.greenlets = [gevent.spawn(loop, tab, i) for i, tab in enumerate(self.tabs)]

    def stop(self):
        gevent.killall(self.greenlets + [t.safety for t in self.tabs if t.safety], timeout=10)
        for tab in self.tabs:
            tab.waits.close()
            tab.syncs.close()


class Tab:
    """One idle browser tab: a ``mobwrite.client.Client`` on one document,
    a connection for its waits and one for its syncs."""

    def __init__(self, load, client, doc):
        self.load, self.client, self.doc = load, client, doc
        self.waits, self.syncs = load.connection(), load.connection()
        self.lock = Semaphore()  # one sync at a time, as the client sends them
        self.wakes = {}          # doc -> wake token last seen
        self.woke_at = None      # when a wait last came back woken
        self.safety = None

    def sync(self):
        with self.lock:
            status, answer = self.syncs.post(GATEWAY_PATH, self.client.request())
            self.load.counts["syncs"] += 1
            if status != 200:
                raise Failure("sync: HTTP %d: %s" % (status, answer[:200]))
            self.client.receive(answer)
            return True

    def wait(self):
        """One wait; (answer, seconds it was held)."""
        request = "u:%s\nf:%s:%s\n" % (self.client.user, self.wakes.get(self.doc, ""), self.doc)
        started = time.monotonic()
        status, text = self.waits.post(WAIT_PATH, request)
        self.load.counts["waits"] += 1
        if status != 200:
            raise Failure("wait: HTTP %d: %s" % (status, text[:200]))
        answer = json.loads(text)
        if answer.get("push") is not True:
            raise Failure("wait answered %s" % text[:200])
        self.wakes.update(answer.get("docs") or {})
        return answer, time.monotonic() - started

    def guarded(self, step):
        """``step()``, an error counted (and a second's pause) if it fails."""
        try:
            return step()
        except Exception as exc:  # noqa: BLE001 - any failure is an error to count; the tab goes on
            self.load.error(exc)
            gevent.sleep(1)
            return None

    def every(self, epoch, period):
        """Sync at epoch + k * period (the first such time from now on)."""
        k = max(0, int((time.monotonic() - epoch) // period) + 1)
        while True:
            sleep_until(epoch + k * period)
            self.guarded(self.sync)
            k += 1


def sleep_until(when):
    gevent.sleep(max(0.0, when - time.monotonic()))


def push_loop(load, start, safety):
    """A tab's life with push on: its view, its first wait, then held waits
    back to back (a woken one followed by a sync), and the safety-net poll."""
    def loop(tab, i):
        sleep_until(start + load.timeout * i / load.n)  # tabs open over one timeout
        while tab.guarded(tab.sync) is None:
            pass  # its view, retried until made (an error is counted each time)
        while tab.guarded(tab.wait) is None:
            pass
        tab.safety = gevent.spawn(tab.every, start + safety * i / load.n, safety)
        load.ready += 1
        while True:
            done = tab.guarded(tab.wait)
            if done is None:
                continue
            answer, held = done
            if answer.get("woke"):
                load.counts["woken"] += 1
                tab.woke_at = time.monotonic()
                tab.guarded(tab.sync)
            else:
                if held < 0.9 * load.timeout:
                    load.counts["early"] += 1  # answered before its timeout with nothing woken
                if load.window:
                    load.holds.append(held)
    return loop


def poll_loop(load, start, ramp):
    """A tab's life today: its view, then one idle sync every maxSync."""
    def loop(tab, i):
        sleep_until(start + ramp * i / load.n)
        while tab.guarded(tab.sync) is None:
            pass
        load.ready += 1
        tab.every(start + POLL_EVERY * i / load.n, POLL_EVERY)
    return loop


# ---------------------------------------------------------------- the server

def rss_mb(sid):
    """VmRSS of every process of session ``sid`` (gunicorn master and workers), in MB."""
    total = 0
    for pid in session_pids(sid):
        try:
            with open("/proc/%d/status" % pid) as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


def start_server(services, kind, args):
    """gunicorn for ``kind`` ("push": one gevent worker; "polling": one
    gthread worker with 8 threads), on a SQLite file of its own."""
    env = {"MOBWRITE_LOG_LEVEL": "WARNING", "MOBWRITE_STORE": "sqlite",
           "MOBWRITE_SQLITE_PATH": os.path.join(services.tmpdir, "%s-%s.sqlite3" % (kind, uuid.uuid4().hex[:6])),
           "MOBWRITE_RATE_IP": "0", "MOBWRITE_RATE_USER": "0", "MOBWRITE_RATE_DOC_EDITS": "0",
           "MOBWRITE_PUSH_TIMEOUT": "%g" % args.timeout, "REDIS_CACHE_URL": "", "MEMCACHED_HOSTS": ""}
    # --timeout as app.yaml; a short graceful stop: the held waits left at
    # the end belong to tabs already closed.
    common = ["--timeout", "60", "--graceful-timeout", "1"]
    if kind == "push":
        if args.clients > 1000:  # the hub's default cap under gevent is 1,000 held waits
            env["MOBWRITE_PUSH_WAITERS"] = str(args.clients)
        gunicorn_args = ["-k", "gevent", "--worker-connections", str(max(1200, args.clients + 200))] + common
        threads = 1
    else:
        gunicorn_args, threads = common, 8
    server = services.start("gunicorn (%s)" % kind, lambda: devservers.start_gunicorn(
        env, workers=1, threads=threads, root=ROOT, args=gunicorn_args))
    if server is None:
        raise SystemExit("gunicorn would not start")
    return server


def measure(services, kind, args, run_id):
    """One run: a fresh server, N tabs in their loops, a measured window."""
    server = start_server(services, kind, args)
    sid = server.process.pid  # start_new_session: gunicorn's master leads its session
    try:
        gevent.sleep(0.3)
        rss_before = rss_mb(sid)
        load = Load(server.address, args.clients, min(args.docs, args.clients), int(args.doc_kb * 1024),
                    args.timeout, run_id)
        start = time.monotonic() + 0.2
        if kind == "push":
            load.start(push_loop(load, start, args.safety))
        else:
            load.start(poll_loop(load, start, ramp=args.clients / 200))
        # Every tab in its loop; a run whose tabs cannot get there (errors,
        # counted) is measured anyway after a minute's grace.
        deadline = start + (args.timeout if kind == "push" else args.clients / 200) + 60
        while load.ready < load.n and time.monotonic() < deadline:
            gevent.sleep(0.2)
        ramp_s = time.monotonic() - start
        gevent.sleep(args.settle)
        counts0, opened0, pids0 = dict(load.counts), load.opened(), session_pids(sid)
        t0, cpu0, client0 = time.monotonic(), session_cpu(sid), time.process_time()
        load.window = True
        gevent.sleep(args.window)
        load.window = False
        t1, cpu1, client1 = time.monotonic(), session_cpu(sid), time.process_time()
        counts1, opened1, pids1 = dict(load.counts), load.opened(), session_pids(sid)
        rss_after = rss_mb(sid)
        wake = wake_check(load) if kind == "push" else None
        load.stop()
    finally:
        server.stop()
        services.servers.remove(server)
    minutes, n = (t1 - t0) / 60, args.clients
    waits, syncs = counts1["waits"] - counts0["waits"], counts1["syncs"] - counts0["syncs"]
    cpu = cpu1 - cpu0
    return {"kind": kind, "clients": n, "ramp_s": ramp_s, "seconds": t1 - t0, "waits": waits, "syncs": syncs,
            "requests_per_client_min": (waits + syncs) / n / minutes,
            "connections_per_client_min": (opened1 - opened0) / n / minutes,
            "server_cpu_s": cpu, "cpu_ms_per_client_min": 1000 * cpu / n / minutes,
            "server_cpu_pct": 100 * cpu / (t1 - t0), "client_cpu_pct": 100 * (client1 - client0) / (t1 - t0),
            "rss_mb": rss_after, "rss_mb_before": rss_before, "rss_kb_per_client": 1024 * (rss_after - rss_before) / n,
            "held_s_p50": percentile(load.holds, 0.5), "early": counts1["early"],
            "woken_in_window": counts1["woken"] - counts0["woken"], "holds": sorted(load.holds),
            "errors": counts1["errors"], "error_samples": load.error_samples,
            "workers_replaced": pids0 != pids1, "wake_check": wake}


def wake_check(load, limit=5.0):
    """After the window: the first tab edits its document; how many of that
    document's other tabs are woken, and how soon after the edit's sync began."""
    editor = load.tabs[0]
    mates = [t for t in load.tabs[1:] if t.doc == editor.doc]
    for tab in mates:
        tab.woke_at = None
    shared = editor.client.docs[editor.doc]
    shared.text = "wake " + shared.text
    began = time.monotonic()
    editor.guarded(editor.sync)
    while time.monotonic() - began < limit and any(t.woke_at is None for t in mates):
        gevent.sleep(0.01)
    delays = [1000 * (t.woke_at - began) for t in mates if t.woke_at is not None]
    return {"tabs": len(mates), "woken": len(delays), "ms_p50": percentile(delays, 0.5),
            "ms_max": max(delays) if delays else None}


# ---------------------------------------------------------------- printing

def summarize(runs):
    keys = ("requests_per_client_min", "cpu_ms_per_client_min", "server_cpu_pct", "rss_mb", "rss_kb_per_client",
            "waits", "syncs", "connections_per_client_min", "held_s_p50", "client_cpu_pct", "seconds")
    med = {k: median_of(runs, k) for k in keys}
    med["errors"] = sum(r["errors"] for r in runs)
    med["workers_replaced"] = any(r["workers_replaced"] for r in runs)
    return med


def ratio(a, b):
    return a / b if a is not None and b else None


def print_table(push, poll, args):
    rows = []
    for name, server, m in (("push (held waits)", "gevent, 1 worker", push),
                            ("polling (today)", "gthread, 1x8", poll)):
        rows.append([name, server, args.clients, fmt(m["requests_per_client_min"], "%.2f"), fmt(m["waits"]),
                     fmt(m["syncs"]), fmt(m["connections_per_client_min"], "%.2f"), fmt(m["held_s_p50"], "%.1f"),
                     fmt(m["cpu_ms_per_client_min"], "%.2f"), fmt(m["server_cpu_pct"], "%.1f"),
                     fmt(m["rss_mb"], "%.0f"), fmt(m["rss_kb_per_client"], "%.1f"),
                     "%d%s" % (m["errors"], " (worker replaced)" if m["workers_replaced"] else "")])
    rows.append(["push ÷ polling", "", "", fmt(ratio(push["requests_per_client_min"],
                                                     poll["requests_per_client_min"]), "%.2f"),
                 "", "", "", "", fmt(ratio(push["cpu_ms_per_client_min"], poll["cpu_ms_per_client_min"]), "%.2f"),
                 "", fmt(ratio(push["rss_mb"], poll["rss_mb"]), "%.2f"), "", ""])
    print(table(["run", "gunicorn", "clients", "req/client/min", "waits", "syncs", "conns/client/min",
                 "held s p50", "CPU ms/client/min", "srv CPU %", "RSS MB", "RSS KB/client", "errors"], rows))


def goal_line(push, args):
    """The acceptance line. The count is exact to a request or so (where the
    window's edges fall), so it is judged at the two decimals printed."""
    value = push["requests_per_client_min"]
    met = round(value, 2) <= GOAL_REQUESTS
    line = ("goal: <= %.1f requests per idle client per minute with push: %.2f (%.3f counted), %s at 2 decimals "
            "(60/timeout + 60/safety = %.2f)" % (GOAL_REQUESTS, value, value, "met" if met else "NOT met",
                                                  60 / args.timeout + 60 / args.safety))
    if args.timeout != PRODUCTION["timeout"] or args.safety != PRODUCTION["safety"]:
        line += "; the goal is stated for --timeout 30 --safety 120, this run used %g and %g" % (
            args.timeout, args.safety)
    return line, met


# ---------------------------------------------------------------- main

def raise_file_limit(need):
    """Raise this process's open-files limit (the servers inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, max(soft, FILES_WANTED))
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < need:
        raise SystemExit("needs %d open files but the limit is %d (ulimit -n)" % (need, want))
    return want


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 tabs, 15 s windows, 15 s wait timeout")
    parser.add_argument("--clients", type=int, help="idle tabs (default 1000; quick 200)")
    parser.add_argument("--window", type=float, help="seconds measured per run (default 60; quick 15)")
    parser.add_argument("--timeout", type=float, help="MOBWRITE_PUSH_TIMEOUT, a wait's hold (default 30; quick 15)")
    parser.add_argument("--safety", type=float, default=120.0, help="pushSafetySync in seconds (default 120)")
    parser.add_argument("--docs", type=int, default=50, help="documents the tabs share, round robin")
    parser.add_argument("--doc-kb", type=float, default=10)
    parser.add_argument("--repeats", type=int, default=1, help="runs of each kind, interleaved; medians")
    parser.add_argument("--settle", type=float, help="seconds between the last tab's start and the window")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    args = parser.parse_args(argv)
    args.clients = args.clients or (200 if args.quick else 1000)
    args.window = args.window or (15.0 if args.quick else 60.0)
    args.timeout = args.timeout or (15.0 if args.quick else 30.0)
    args.settle = args.settle if args.settle is not None else (1.0 if args.quick else 2.0)
    if not 1 <= args.clients <= 5000 or not 0 < args.window <= 3600 or not 1 <= args.timeout <= 55 \
            or args.safety <= 0 or not 1 <= args.repeats <= 20 or args.docs < 1:
        parser.error("clients, window, timeout, safety, repeats or docs out of range")
    files = raise_file_limit(2 * args.clients + 200)

    machine = machine_line()
    run_id = uuid.uuid4().hex[:6]
    print("MobWrite push capacity %s: %d idle tabs on one gunicorn instance, held push waits (timeout %gs, "
          "safety sync every %gs) against idle polling every %gs; %gs windows x %d, medians"
          % (run_id, args.clients, args.timeout, args.safety, POLL_EVERY, args.window, args.repeats))
    print_machine(machine)
    print("open files limit %d; store: sqlite; %d documents of %g KB" % (files, min(args.docs, args.clients),
                                                                      args.doc_kb))
    started = time.monotonic()
    report = {"run": run_id, "machine": machine, "settings": {
        k: getattr(args, k) for k in ("clients", "window", "timeout", "safety", "docs", "doc_kb", "repeats")}}
    runs = {"push": [], "polling": []}
    with Services(prefix="mobwrite-bench-push-") as services:
        for rep in range(args.repeats):
            for kind in ("push", "polling"):
                result = measure(services, kind, args, "%s%d%s" % (run_id, rep, kind[:2]))
                runs[kind].append(result)
                wake = result["wake_check"]
                print("  %s %d/%d: tabs in their loops after %.1fs, %.2f req/client/min, %.2f CPU ms/client/min, "
                      "RSS %.0f MB, %d errors%s%s" % (
                          kind, rep + 1, args.repeats, result["ramp_s"], result["requests_per_client_min"],
                          result["cpu_ms_per_client_min"], result["rss_mb"], result["errors"],
                          "; wake-up check: %d/%d woken, p50 %s ms" % (wake["woken"], wake["tabs"],
                                                                       fmt(wake["ms_p50"], "%.0f"))
                          if wake else "",
                          "; e.g. " + result["error_samples"][0] if result["error_samples"] else ""), flush=True)
    push, poll = summarize(runs["push"]), summarize(runs["polling"])
    print()
    print_table(push, poll, args)
    print("(req = waits + syncs the tabs sent in the window; conns = TCP connections they opened (gunicorn "
          "closes one idle 2 s); held = a wait's hold with nothing woken; CPU = utime+stime of the gunicorn "
          "master+worker from /proc; RSS = their VmRSS at the window's end, KB/client its growth over the "
          "server's RSS before the tabs came; the load generator used %s%% of a core in the push window, "
          "%s%% in polling's, not counted)" % (fmt(push["client_cpu_pct"]), fmt(poll["client_cpu_pct"])))
    line, met = goal_line(push, args)
    print(line)
    woke = [r["wake_check"] for r in runs["push"]]
    print("wake-up check after each push window: %s of the edited document's other tabs woken, p50 %s ms"
          % (", ".join("%d/%d" % (w["woken"], w["tabs"]) for w in woke),
             fmt(median_of(woke, "ms_p50"), "%.0f")))
    report.update(push=push, polling=poll, runs=runs, goal={"requests_per_client_min": GOAL_REQUESTS, "met": met},
                  ratios={"requests": ratio(push["requests_per_client_min"], poll["requests_per_client_min"]),
                          "cpu": ratio(push["cpu_ms_per_client_min"], poll["cpu_ms_per_client_min"]),
                          "rss": ratio(push["rss_mb"], poll["rss_mb"])})
    finish(report, started, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
