"""Sync benchmark on real editing traces, through the real HTTP gateway.

    python bench/sync.py --quick             # about a minute on 2 cores
    python bench/sync.py                     # 5 windows per cell, longer windows
    python bench/sync.py --quick --yjs --sharedb   # also the node peers (run by tests/test_bench_sync.py)
    python bench/sync.py --quick --json /tmp/sync.json
    python bench/sync.py --worker gevent     # the worker class app.yaml deploys

Section 1 (trace replay): a window of a real trace from ../shared/traces
(default automerge-paper, one character per patch, from the point where the
document reaches 10 KB) is typed through gunicorn by 1, 3 and 10
``mobwrite.client.Client`` users, at two batchings: one sync per second of
typing (6 keystrokes per sync, the trace's typing speed) and one keystroke
per sync. The clients take turns at typing the trace's batches, in
lockstep: each round, the client whose turn it is applies the next batch to
its own text and syncs, then every other client syncs (a poll that brings
the batch to it), so the typist of the next round holds the current text and
the trace's positions apply. Every client ends with exactly the trace's text
(checked). "noop" is ``bench.noop:app`` on the same gunicorn setup:
the HTTP stack's own cost for the same requests. gunicorn runs its sync
worker (one request at a time) unless ``--worker gevent`` asks for the
worker class and settings app.yaml deploys, for every section.

Every cell is the median of its windows (5 by default, interleaved over the
cells) printed with its spread (min–max). Figures per cell: server CPU
(every thread of the gunicorn session, from /proc/*/task/*/schedstat,
nanoseconds) per keystroke and per sync; ×noop, over the no-op app's for the
same cell; syncs per second per core (1e6 / µs per sync); wire bytes per
keystroke, request and answer with their HTTP headers (this benchmark's
minimal headers; a browser adds its own); the Datastore emulator's CPU per
keystroke, apart from ours (a local stand-in, not Cloud Datastore's cost);
p50/p99 sync latency (requests are sequential: unloaded latency). Datastore
round trips per sync are counted in-process (Flask test client,
``tools.rpccount`` around the store) over the same replay, split into syncs
that carry an edit and polls.

Section 2 (document size): CPU per idle poll and per small edit (4 characters
inserted at a random place) on 1 KB, 10 KB, 100 KB and 1 MB documents, sqlite
store (the Datastore caps an entity at 1 MiB, so 1 MB cannot be stored
there), in 5 windows per size and kind; then 1 MB over 10 KB. The server
runs with MOBWRITE_MAX_CHARS=2000000 here.

Sections 3 and 4 (``--yjs``, ``--sharedb``, or ``--peers yjs,sharedb``): the
same windows replayed through the Yjs WebSocket server and through ShareDB
(bench/peers.py), each node server's CPU read from /proc the same way and
its wire bytes with WebSocket frame headers; then our CPU per keystroke over
each peer's, per store and per client count.
"""

import argparse
import collections
import os
import random
import socket
import statistics
import sys
import time
import urllib.parse
import uuid

if __package__ in (None, ""):  # run as a file: the project root first (its zipserve, not bench's)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import traces  # noqa: E402
from bench import peers  # noqa: E402
from bench.common import (GATEWAY_PATH, OUT_OF_REACH_RATES, Services, add_worker_option,  # noqa: E402
                          counted_datastore_app, finish, fmt, gunicorn_setup, insert_random, machine_line, make_text, percentile,
                          print_machine, session_cpu_ns, session_pids, spread, table)

BATCHINGS = {"1/s": 6, "1/key": 1}   # keystrokes per sync
CLIENT_COUNTS = (1, 3, 10)
SCALING_WINDOWS = 5


# ---------------------------------------------------------------- transports

class WireTransport:
    """HTTP/1.1 over a plain socket, so every byte on the wire is counted
    (headers included). Keeps the connection when the server allows it
    (gunicorn's sync workers close it after each answer)."""

    def __init__(self, base_url, path=GATEWAY_PATH, timeout=30):
        parts = urllib.parse.urlsplit(base_url)
        self.addr = (parts.hostname, parts.port)
        self.head = ("POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: " % (path, parts.hostname, parts.port))
        self.timeout = timeout
        self.sock = None
        self.connections = 0  # opened: one per sync under the sync worker, few where gevent keeps them

    def post(self, text):
        body = ("q=" + urllib.parse.quote(text, safe="")).encode("ascii")
        data = (self.head + "%d\r\n\r\n" % len(body)).encode("ascii") + body
        for attempt in (0, 1):
            if self.sock is None:
                self.sock = socket.create_connection(self.addr, timeout=self.timeout)
                self.connections += 1
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock.sendall(data)
                status, headers, answer, received = self._response()
                break
            except (OSError, ConnectionError):
                self.close()
                if attempt:
                    raise
        if headers.get("connection", "").lower() == "close":
            self.close()
        if status != 200:
            raise RuntimeError("HTTP %d: %s" % (status, answer[:200]))
        return answer.decode("utf-8"), len(data), received

    def _response(self):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the answer")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
        length = int(headers.get("content-length", 0))
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside the answer")
            rest += chunk
        return status, headers, rest[:length], len(head) + 4 + length

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None


class InProcessTransport:
    """The Flask test client: same requests, no sockets (for counting RPCs)."""

    def __init__(self, app):
        self.web = app.test_client()

    def post(self, text):
        response = self.web.post(GATEWAY_PATH, data={"q": text})
        if response.status_code != 200:
            raise RuntimeError("HTTP %d" % response.status_code)
        return response.get_data(as_text=True), None, None

    def close(self):
        pass


# ---------------------------------------------------------------- the replay

class Window:
    """A window of a trace: the text it starts from and its patches."""

    def __init__(self, trace, start_index, count):
        self.trace_name = trace.name
        self.start_index = start_index
        self.start = trace.text_after(start_index)
        self.patches = trace.patches[start_index:start_index + count]
        self.end = self.start
        for patch in self.patches:
            self.end = traces.apply(self.end, patch)


def find_start(trace, chars):
    """The first patch index at which the trace's text reaches ``chars``."""
    length = len(trace.start)
    for i, patch in enumerate(trace.patches):
        if length >= chars:
            return i
        length += len(patch.insert) - patch.delete
    return len(trace.patches)


class Replay:
    """N clients typing a window's batches in turn, in lockstep (see the
    module's docstring). ``baseline``: the no-op server answers nothing, so
    each client is handed the trace's text instead of receiving it."""

    def __init__(self, make_transport, window, n_clients, batch, baseline=False, tag=None):
        from mobwrite.client import Client
        self.window, self.batch, self.baseline = window, batch, baseline
        self.doc = "trace-%s-%s" % (window.trace_name, tag or uuid.uuid4().hex[:10])
        self.clients = [Client("u%d-%s" % (i, uuid.uuid4().hex[:6])) for i in range(n_clients)]
        for i, c in enumerate(self.clients):
            c.share(self.doc, window.start if (i == 0 or baseline) else "")
        self.transports = [make_transport() for _ in self.clients]
        self.latencies, self.bytes_out, self.bytes_in = [], 0, 0
        self.syncs = self.edit_syncs = 0

    def sync(self, i, record=True):
        c = self.clients[i]
        started = time.perf_counter()
        answer, sent, received = self.transports[i].post(c.request())
        elapsed = time.perf_counter() - started
        if self.baseline:
            c.docs[self.doc].edit_stack.clear()
        else:
            c.receive(answer)
        if record:
            self.latencies.append(elapsed)
            self.syncs += 1
            if sent is not None:
                self.bytes_out += sent
                self.bytes_in += received

    def warm_up(self):
        for _ in range(2):
            for i in range(len(self.clients)):
                self.sync(i, record=False)
        if not self.baseline:
            texts = {c.docs[self.doc].text for c in self.clients}
            if texts != {self.window.start}:
                raise RuntimeError("clients did not receive the starting text")

    def run(self, on_round=None):
        """Replay every batch; returns the number of keystrokes typed."""
        n = len(self.clients)
        patches = self.window.patches
        for r, at in enumerate(range(0, len(patches), self.batch)):
            typist = r % n
            shared = self.clients[typist].docs[self.doc]
            if self.baseline:  # nothing comes back from the no-op: hand the typist the trace's text
                shared.text = _text_after(self.window, at + self.batch)
            else:
                for patch in patches[at:at + self.batch]:
                    shared.text = traces.apply(shared.text, patch)
            self.sync(typist)
            self.edit_syncs += 1
            for k in range(1, n):
                self.sync((typist + k) % n)
            if on_round:
                on_round()
        return len(patches)

    def check(self):
        """Every client holds the trace's text (after quiet syncs)."""
        if self.baseline:
            return None
        for _ in range(2):
            for i in range(len(self.clients)):
                self.sync(i, record=False)
        return all(c.docs[self.doc].text == self.window.end for c in self.clients)

    def close(self):
        for t in self.transports:
            t.close()


_text_cache = {}


def _text_after(window, count):
    """The window's text after ``count`` patches (memoised incrementally)."""
    key = id(window)
    done, text = _text_cache.get(key, (0, window.start))
    if count < done:
        done, text = 0, window.start
    for patch in window.patches[done:count]:
        text = traces.apply(text, patch)
    _text_cache[key] = (min(count, len(window.patches)), text)
    return text


def replay_cell(server, window, n_clients, batch, baseline, backing=()):
    """One measured replay through gunicorn: the figures of one table cell.
    ``backing``: the servers behind it (the Datastore emulator), whose CPU is
    counted apart from ours."""
    replay = Replay(lambda: WireTransport(server.address), window, n_clients, batch, baseline)
    try:
        replay.warm_up()
        sid = server.process.pid
        pids0 = session_pids(sid)
        svc0 = sum(session_cpu_ns(b.process.pid) for b in backing)
        cpu0, t0 = session_cpu_ns(sid), time.monotonic()
        keys = replay.run()
        cpu1, t1 = session_cpu_ns(sid), time.monotonic()
        svc = sum(session_cpu_ns(b.process.pid) for b in backing) - svc0
        if session_pids(sid) != pids0:
            print("  note: a gunicorn worker was replaced during a window; its CPU is partly missing")
        exact = replay.check()
    finally:
        replay.close()
    cpu = cpu1 - cpu0
    return {"keystrokes": keys, "syncs": replay.syncs, "edit_syncs": replay.edit_syncs,
            "seconds": t1 - t0, "server_cpu_s": cpu,
            "cpu_us_per_key": cpu * 1e6 / keys, "cpu_us_per_sync": cpu * 1e6 / replay.syncs,
            "backing_cpu_us_per_key": svc * 1e6 / keys if backing else None,
            "syncs_per_core_s": replay.syncs / cpu if cpu > 0 else None,
            "bytes_per_key": (replay.bytes_out + replay.bytes_in) / keys,
            "bytes_out_per_key": replay.bytes_out / keys, "bytes_in_per_key": replay.bytes_in / keys,
            "p50_ms": 1000 * percentile(replay.latencies, 0.5), "p99_ms": 1000 * percentile(replay.latencies, 0.99),
            "connections": sum(t.connections for t in replay.transports),  # warm-up's included
            "exact": exact}


def count_rpcs(window, n_clients, batch):
    """Datastore RPCs per sync for the same replay, in-process on the emulator
    (the store wrapped by ``tools.rpccount``)."""
    from mobwrite.config import Settings
    settings = Settings(log_level="WARNING", max_chars=2_000_000, **OUT_OF_REACH_RATES)
    with counted_datastore_app(settings) as (app, rpc_counts):
        return _counted_replay(app, rpc_counts, window, n_clients, batch)


def _counted_replay(app, rpc_counts, window, n_clients, batch):
    replay = Replay(lambda: InProcessTransport(app), window, n_clients, batch)
    counts = {"edit": collections.Counter(), "poll": collections.Counter()}
    n = {"edit": 0, "poll": 0}
    try:
        replay.warm_up()
        original = replay.sync

        def counted(i, record=True):
            kind = "edit" if replay.clients[i].docs[replay.doc].text != replay.clients[i].docs[replay.doc].shadow \
                else "poll"
            before = collections.Counter(rpc_counts)
            original(i, record)
            counts[kind].update(collections.Counter(rpc_counts) - before)
            n[kind] += 1

        replay.sync = counted
        replay.run()
        exact = replay.check()
    finally:
        replay.close()
    out = {"exact": exact}
    for kind in ("edit", "poll"):
        out[kind] = {"syncs": n[kind], "rpcs_per_sync": sum(counts[kind].values()) / max(1, n[kind]),
                     "by_method": {k: v / max(1, n[kind]) for k, v in sorted(counts[kind].items())}}
    total = sum(n.values())
    out["rpcs_per_sync"] = sum(sum(c.values()) for c in counts.values()) / max(1, total)
    return out


# ---------------------------------------------------------------- section 2: document size

def scaling(server, sizes, count, windows, seed=1):
    """CPU per idle poll and per small edit, one client, one document per
    size: ``count`` syncs of each kind in ``windows`` windows, the median
    window's CPU per sync with the spread over the windows."""
    from mobwrite.client import Client
    rng = random.Random(seed)
    results = {}
    sid = server.process.pid
    for size in sizes:
        doc = "scale-%d-%s" % (size, uuid.uuid4().hex[:8])
        c = Client("scaler-" + uuid.uuid4().hex[:6])
        shared = c.share(doc, make_text(size, seed))
        transport = WireTransport(server.address)
        try:
            def sync():
                started = time.perf_counter()
                answer, sent, received = transport.post(c.request())
                c.receive(answer)
                return time.perf_counter() - started, sent + received

            for _ in range(3):
                sync()
            if shared.text != shared.shadow or len(shared.text) != size:
                raise RuntimeError("scaling document did not settle")
            row = {}
            per_window = max(1, count // windows)
            for kind in ("poll", "edit"):
                lat, wire, cpus = [], 0, []
                for _ in range(windows):
                    cpu0 = session_cpu_ns(sid)
                    for _ in range(per_window):
                        if kind == "edit":
                            shared.text = insert_random(shared.text, rng)
                        seconds, size_on_wire = sync()
                        lat.append(seconds)
                        wire += size_on_wire
                    cpus.append((session_cpu_ns(sid) - cpu0) * 1e6 / per_window)
                row[kind] = {"cpu_us": statistics.median(cpus), "cpu_us_windows": cpus,
                             "p50_ms": 1000 * statistics.median(lat), "bytes": wire / len(lat)}
            results[size] = row
        finally:
            transport.close()
    return results


# ---------------------------------------------------------------- printing

def print_replay(cells, stores, rpcs):
    rows = []
    for batching in BATCHINGS:
        for n in CLIENT_COUNTS:
            noop = cells.get(("noop", n, batching))
            for store in stores:
                runs = cells.get((store, n, batching))
                if not runs:
                    continue
                med = {k: statistics.median([r[k] for r in runs if r.get(k) is not None] or [0])
                       for k in ("cpu_us_per_key", "cpu_us_per_sync", "syncs_per_core_s", "bytes_per_key",
                                 "p50_ms", "p99_ms")}
                emulator = [r["backing_cpu_us_per_key"] for r in runs if r.get("backing_cpu_us_per_key") is not None]
                base = None
                if noop and store != "noop":
                    base = statistics.median(r["cpu_us_per_key"] for r in noop)
                rpc = rpcs.get((n, batching)) if store == "datastore" else None
                exact = [r["exact"] for r in runs]
                rows.append([batching, n, store, fmt(med["cpu_us_per_key"]),
                             spread([r["cpu_us_per_key"] for r in runs]), len(runs),
                             fmt(med["cpu_us_per_key"] / base, "%.1f") if base else "-",
                             fmt(med["cpu_us_per_sync"]), fmt(med["syncs_per_core_s"]),
                             fmt(med["bytes_per_key"]), fmt(statistics.median(emulator)) if emulator else "-",
                             fmt(rpc["rpcs_per_sync"], "%.2f") if rpc else "-",
                             ("%.2f / %.2f" % (rpc["edit"]["rpcs_per_sync"], rpc["poll"]["rpcs_per_sync"]))
                             if rpc else "-",
                             fmt(med["p50_ms"], "%.1f"), fmt(med["p99_ms"], "%.1f"),
                             "-" if store == "noop" else ("yes" if all(exact) else "NO")])
    print(table(["sync", "clients", "store", "µs/key", "spread", "windows", "×noop", "µs/sync", "syncs/core-s",
                 "bytes/key", "emulator µs/key", "DS RPC/sync", "edit / poll", "p50 ms", "p99 ms", "exact"], rows,
                ["<", ">", "<"] + [">"] * 13))


def print_scaling(results):
    rows = []
    for size, row in results.items():
        cells = [_size_name(size)]
        for kind in ("poll", "edit"):
            r = row[kind]
            cells += [fmt(r["cpu_us"]), spread(r["cpu_us_windows"]), fmt(r["p50_ms"], "%.1f"), fmt(r["bytes"])]
        rows.append(cells)
    print(table(["document", "poll µs CPU", "spread", "poll p50 ms", "poll bytes", "edit µs CPU", "spread",
                 "edit p50 ms", "edit bytes"], rows))
    sizes = sorted(results)
    if 10_000 in results and sizes[-1] > 10_000:
        big = sizes[-1]
        print()
        for kind in ("edit", "poll"):
            ratio = results[big][kind]["cpu_us"] / results[10_000][kind]["cpu_us"]
            print("%s ÷ 10 KB, one client, CPU per %s: %.1f" % (_size_name(big), "small edit" if kind == "edit"
                                                                 else "idle poll", ratio))


def _size_name(size):
    return "%d MB" % (size // 1_000_000) if size >= 1_000_000 else "%d KB" % (size // 1000)


# ---------------------------------------------------------------- main

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="short windows, one repeat (about a minute on 2 cores)")
    parser.add_argument("--trace", default="automerge-paper", choices=traces.NAMES)
    parser.add_argument("--start-kb", type=float, default=10, help="start where the document reaches this size")
    parser.add_argument("--keys", type=int, help="keystrokes per window at 1/s batching (default 600; quick 60)")
    parser.add_argument("--keys-single", type=int,
                        help="keystrokes per window at one keystroke per sync (default 200; quick 20)")
    parser.add_argument("--repeats", type=int, help="windows per cell (default 5; quick 1); each peer "
                        "replays at least 5")
    parser.add_argument("--stores", default="sqlite,datastore")
    parser.add_argument("--workers", type=int, default=2)
    add_worker_option(parser)
    parser.add_argument("--scaling-count", type=int, help="syncs per size and kind, in 5 windows "
                        "(default 500; quick 50)")
    parser.add_argument("--skip-replay", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-rpcs", action="store_true")
    parser.add_argument("--yjs", action="store_true", help="also replay through the Yjs server (node)")
    parser.add_argument("--sharedb", action="store_true", help="also replay through ShareDB (node)")
    parser.add_argument("--peers", default="", help="comma-separated peers, as the flags: yjs,sharedb")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    args = parser.parse_args(argv)
    keys = args.keys or (60 if args.quick else 600)
    keys_single = args.keys_single or (20 if args.quick else 200)
    repeats = args.repeats or (1 if args.quick else 5)
    scaling_count = args.scaling_count or (50 if args.quick else 500)
    stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    peer_names = [p.strip() for p in args.peers.split(",") if p.strip()]
    peer_names += [p for p in ("yjs", "sharedb") if getattr(args, p) and p not in peer_names]
    unknown = [p for p in peer_names if p not in peers.PEERS]
    if unknown:
        parser.error("unknown peer(s) %s; known: %s" % (", ".join(unknown), ", ".join(peers.PEERS)))

    started = time.monotonic()
    machine = machine_line()
    trace = traces.load(args.trace)  # checked: replaying gives endContent
    start_index = find_start(trace, args.start_kb * 1000)
    windows = {b: Window(trace, start_index, keys if b == "1/s" else keys_single) for b in BATCHINGS}
    print("MobWrite sync benchmark on the %r trace (%d patches, checked against endContent): windows from "
          "patch %d (%d chars), %d / %d keystrokes, %d window(s) per cell, medians with min–max spread"
          % (trace.name, len(trace), start_index, len(windows["1/s"].start), keys, keys_single, repeats))
    print_machine(machine)
    report = {"machine": machine, "trace": trace.name, "start_index": start_index,
              "start_chars": len(windows["1/s"].start),
              "settings": {"keys": keys, "keys_single": keys_single, "repeats": repeats, "stores": stores,
                           "workers": args.workers, "worker": args.worker, "scaling_count": scaling_count}}
    with Services(prefix="mobwrite-syncbench-") as services:
        services.start_backing(datastore="datastore" in stores)
        stores = [name for name in stores if services.available(name)]
        gunicorns, backing = {}, {}
        for name in ["noop"] + stores:
            setup = gunicorn_setup(name, args.workers, services, {"MOBWRITE_MAX_CHARS": "2000000"}, args.worker)
            gunicorns[name] = services.serve(setup)
            backing[name] = setup.services
        print("servers up in %.1fs" % (time.monotonic() - started))

        cells = {}
        if not args.skip_replay:
            cells, rpcs = replay_section(gunicorns, backing, stores, windows, repeats, started,
                                         not args.skip_rpcs, args.workers, args.worker)
            report["replay"] = {"%s|%d|%s" % k: v for k, v in cells.items()}
            report["rpcs"] = {"%d|%s" % k: v for k, v in rpcs.items()}

        if not args.skip_scaling:
            sizes = [1_000, 10_000, 100_000, 1_000_000]
            store = "sqlite" if "sqlite" in stores else stores[0]
            print("\nsection 2: document size, %s store, one client, %d idle polls and %d small edits per size "
                  "in %d windows (median window, spread min–max)" % (store, scaling_count, scaling_count,
                                                                     SCALING_WINDOWS))
            results = scaling(gunicorns[store], sizes, scaling_count, SCALING_WINDOWS)
            print_scaling(results)
            report["scaling"] = {str(k): v for k, v in results.items()}

        if peer_names:
            report["peers"] = peers_section([peers.PEERS[p] for p in peer_names], windows, cells, stores, repeats)

        for server in gunicorns.values():
            server.stop()
        finish(report, started, args.json)
    return 0


def peers_section(peer_list, windows, cells, stores, repeats):
    """Sections 3 and 4: each peer's replay of the same windows, then our CPU
    per keystroke over each peer's per client count."""
    peer_runs, report = {}, {}
    for number, peer in enumerate(peer_list):
        print("\nsection 3%s: the same replay through %s" % ("abcdefgh"[number], peer.label))
        runs = peers.run(peer, windows, repeats, CLIENT_COUNTS, BATCHINGS)
        peers.print_peer(peer, runs)
        peer_runs[peer] = runs
        report[peer.name] = {"%d|%s" % k: v for k, v in runs.items()}
    if cells:
        print("\nsection 4: CPU per keystroke, ours ÷ peer, by number of clients (same run)")
        report["ratios"] = peers.print_ratios(peer_runs, cells, stores, CLIENT_COUNTS, BATCHINGS)
    return report


def replay_section(gunicorns, backing, stores, windows, repeats, started, with_rpcs, workers, worker="sync"):
    """Section 1: every cell replayed through gunicorn, interleaved over the
    repeats, and (``with_rpcs``, datastore) its RPCs counted in process.
    Returns the cells by (store, clients, batching) and the RPC counts by
    (clients, batching)."""
    cells = collections.defaultdict(list)
    for rep in range(repeats):
        for batching, batch in BATCHINGS.items():
            for n in CLIENT_COUNTS:
                for name in ["noop"] + stores:
                    cells[(name, n, batching)].append(
                        replay_cell(gunicorns[name], windows[batching], n, batch, name == "noop", backing[name]))
        print("  repeat %d done at %.0fs" % (rep + 1, time.monotonic() - started))
    rpcs = {}
    if "datastore" in stores and with_rpcs:
        for batching, batch in BATCHINGS.items():
            for n in CLIENT_COUNTS:
                rpcs[(n, batching)] = count_rpcs(windows[batching], n, batch)
    print("\nsection 1: the trace typed through gunicorn (%d %s workers); sync 1/s = 6 keystrokes per sync, "
          "1/key = one per sync; every client syncs once per batch" % (workers, worker))
    print_replay(cells, ["noop"] + stores, rpcs)
    print("(µs/key, µs/sync: gunicorn session CPU from /proc schedstat; ×noop: over the no-op Flask app's µs/key for "
          "the same requests; spread: min–max over the windows; syncs/core-s = 1e6 / µs/sync; bytes/key: request + "
          "answer with HTTP headers; emulator µs/key: the Datastore emulator's CPU, apart from ours (a local "
          "stand-in: not what Cloud Datastore spends); "
          "DS RPC/sync counted in-process on the emulator over the same replay, for syncs carrying an edit "
          "/ polls; exact: every client ends with the trace's text)")
    return dict(cells), rpcs


if __name__ == "__main__":
    sys.exit(main())
