"""The node peers of bench/sync.py (``--yjs``, ``--sharedb``): the same trace
windows replayed through another project's real-time server on 127.0.0.1,
with the same clients, batching and lockstep turns as our replay, and the
server's CPU read from /proc the same way (every thread of its session, from
schedstat). Each cell is the median of at least 5 replays, with its spread.

- Yjs: ``@y/websocket-server`` 0.1.1 and ``yjs`` 13.6 (bench/peer_yjs), a
  Y.Text typed through the y-protocols sync messages.
- ShareDB: ``sharedb`` 5.2.2 on its in-memory backend, over
  ``@teamwork/websocket-json-stream`` (bench/peer_sharedb), a json0 string
  typed with one ``si``/``sd`` op per batch.

Wire bytes are WebSocket payloads plus each frame's header (bench/wire.mjs:
2-14 bytes by payload length, +4 for the mask of a client's frame), checked
by the replay against the sockets' own byte counts. The packages come from
the npm registry the first time (``npm ci`` from each package-lock.json);
nothing else is fetched. Each ``replay.mjs`` holds the N clients in one node
process whose CPU is not counted, as our load generator's is not.
"""

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from bench import traces
from bench.common import fmt, session_cpu_ns, spread, table
from tools import devservers

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_REPLAYS = 5


class NodePeer:
    """One peer: its folder, the server it runs and how to tell it the port."""

    def __init__(self, name, label, folder, server, port_env=False, installed=None):
        self.name, self.label = name, label
        self.folder = os.path.join(HERE, folder)
        self.server = server                  # the script, relative to the folder
        self.port_env = port_env              # the port in HOST/PORT, not argv
        self.installed = os.path.join(self.folder, installed or "node_modules")

    def ensure_installed(self):
        """node on PATH and the pinned packages in node_modules (``npm ci`` once)."""
        if not shutil.which("node"):
            raise RuntimeError("node is not installed")
        if not os.path.exists(self.installed):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=self.folder, check=True)

    def start(self):
        """The peer's server on a free loopback port."""
        port = devservers.free_port()
        argv = ["node", os.path.join(self.folder, self.server)]
        env = dict(os.environ)
        if self.port_env:
            env.update(HOST="127.0.0.1", PORT=str(port))
        else:
            argv.append(str(port))
        # devservers.start calls ready(server): the check takes the server, unused here.
        server = devservers.start(self.name, argv, lambda _server: devservers.port_open(port), env=env,
                                  cwd=self.folder)
        server.address = "ws://127.0.0.1:%d" % port
        return server


PEERS = {
    "yjs": NodePeer("Yjs", "Yjs WebSocket server (@y/websocket-server 0.1.1, yjs 13.6.27)", "peer_yjs",
                    os.path.join("node_modules", "@y", "websocket-server", "src", "server.js"), port_env=True,
                    installed=os.path.join("node_modules", "@y", "websocket-server", "src", "server.js")),
    "sharedb": NodePeer("ShareDB", "ShareDB 5.2.2, in-memory backend, json0 text over WebSocket", "peer_sharedb",
                        "server.mjs", installed=os.path.join("node_modules", "sharedb", "package.json")),
}


def utf16_patches(window):
    """The window's patches with positions and counts in UTF-16 units (as
    Y.Text and JS strings count)."""
    text, out = window.start, []
    for patch in window.patches:
        if text.isascii():
            pos, delete = patch.pos, patch.delete
        else:
            pos = len(text[:patch.pos].encode("utf-16-le", "surrogatepass")) // 2
            delete = len(text[patch.pos:patch.pos + patch.delete].encode("utf-16-le", "surrogatepass")) // 2
        out.append([pos, delete, patch.insert])
        text = traces.apply(text, patch)
    return out


def replay_cell(peer, server, window, n_clients, batch):
    """One replay of ``window`` by the peer's replay.mjs clients; its figures."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"start": window.start, "end": window.end, "patches": utf16_patches(window),
                   "clients": n_clients, "batch": batch}, f)
    doc = "trace-%d-%d-%d" % (n_clients, batch, time.monotonic_ns())
    proc = subprocess.Popen(["node", os.path.join(peer.folder, "replay.mjs"), server.address, doc, f.name],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=peer.folder)
    try:
        line = proc.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError("%s replay.mjs did not start: %r" % (peer.name, line))
        sid = server.process.pid
        cpu0 = session_cpu_ns(sid)
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        result = json.loads(proc.stdout.readline())
        cpu = session_cpu_ns(sid) - cpu0
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.unlink(f.name)
    keys = result["keystrokes"]
    result.update(server_cpu_s=cpu, cpu_us_per_key=cpu * 1e6 / keys,
                  bytes_per_key=(result["bytes_out"] + result["bytes_in"]) / keys,
                  socket_bytes_per_key=(result["socket_bytes_out"] + result["socket_bytes_in"]) / keys)
    return result


def run(peer, windows, repeats, client_counts, batchings):
    """Every cell (``batchings``: name -> keystrokes per sync) replayed
    ``max(5, repeats)`` times through the peer; the runs by (clients, batching)."""
    peer.ensure_installed()
    server = peer.start()
    runs = {}
    try:
        for _ in range(max(MIN_REPLAYS, repeats)):  # interleaved, as our repeats are
            for batching, batch in batchings.items():
                for n in client_counts:
                    runs.setdefault((n, batching), []).append(replay_cell(peer, server, windows[batching], n, batch))
    finally:
        server.stop()
    return runs


def print_peer(peer, runs):
    """The peer's table: median CPU per keystroke with its spread, wire bytes."""
    rows = []
    for (n, batching), cell in runs.items():
        cpu = [r["cpu_us_per_key"] for r in cell]
        rows.append([batching, n, fmt(statistics.median(cpu)), spread(cpu), len(cell),
                     fmt(statistics.median(r["bytes_per_key"] for r in cell)),
                     "yes" if all(r["exact"] for r in cell) else "NO"])
    print(table(["sync", "clients", "%s µs/key" % peer.name, "spread", "replays", "bytes/key", "exact"], rows,
                ["<"] + [">"] * 6))
    print("(%s µs/key: CPU of the node server's session per keystroke, median over the replays, spread "
          "min–max; bytes/key: WebSocket payloads with their frame headers, both ways; exact: every client "
          "ends with the trace's text)" % peer.name)


def print_ratios(peer_runs, our_cells, stores, client_counts, batchings):
    """Our CPU per keystroke over each peer's, one row per (sync, ours, peer),
    a column per client count (medians of the same run's cells)."""
    headers = ["sync", "ratio"] + ["%d client%s" % (n, "" if n == 1 else "s") for n in client_counts]
    rows = []
    for batching in batchings:
        for peer, runs in peer_runs.items():
            for store in ["noop"] + stores:
                row = [batching, "%s ÷ %s" % (store, peer.name)]
                for n in client_counts:
                    theirs = runs.get((n, batching))
                    ours = our_cells.get((store, n, batching))
                    row.append(_ratio(ours, theirs))
                rows.append(row)
    print(table(headers, rows, ["<", "<"] + [">"] * len(client_counts)))
    print("(each cell: our server's median CPU per keystroke on that store over the peer's median, same "
          "trace window, batching and number of clients; noop is the HTTP stack alone)")
    return rows


def _ratio(ours, theirs):
    if not ours or not theirs:
        return "-"
    mine = statistics.median(r["cpu_us_per_key"] for r in ours)
    peer = statistics.median(r["cpu_us_per_key"] for r in theirs)
    return fmt(mine / peer, "%.1f") if peer > 0 else "-"
