"""The Yjs peer for bench/sync.py (``--yjs``): the same trace
window replayed through the Yjs WebSocket server (``@y/websocket-server``
0.1.1, ``yjs`` from npm, pinned by package-lock.json here) on 127.0.0.1,
with the same clients, batching and lockstep turns as our replay, and the
server's CPU read from /proc the same way (every thread of its session,
from schedstat), pooled over at least 5 replays of the window per cell.

    python bench/sync.py --quick --yjs    # prints our CPU per keystroke over Yjs's

The packages come from the npm registry the first time (``npm ci`` here,
from package-lock.json, which ``ensure_installed`` runs when they are
missing); nothing else is fetched.

``replay.mjs`` holds the N Yjs clients (node, one process; the clients'
CPU is not counted, as the load generator's is not counted for ours).
"""

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time

from bench import traces
from bench.common import fmt, session_cpu_ns, table
from tools import devservers

HERE = os.path.dirname(os.path.abspath(__file__))

SERVER_JS = os.path.join(HERE, "node_modules", "@y", "websocket-server", "src", "server.js")


def ensure_installed():
    """node on PATH and the pinned packages in node_modules (``npm ci`` once)."""
    if not shutil.which("node"):
        raise RuntimeError("node is not installed")
    if not os.path.exists(SERVER_JS):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True)


def start_server():
    """The Yjs WebSocket server on a free loopback port."""
    port = devservers.free_port()
    # devservers.start calls ready(server): the check takes the server, unused here.
    server = devservers.start("yjs", ["node", SERVER_JS], lambda _server: devservers.port_open(port),
                               env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}, cwd=HERE)
    server.address = "ws://127.0.0.1:%d" % port
    return server


def utf16_patches(window):
    """The window's patches with positions and counts in UTF-16 units."""
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


def replay_cell(server, window, n_clients, batch):
    """One replay of ``window`` by replay.mjs's clients; its figures."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"start": window.start, "end": window.end, "patches": utf16_patches(window),
                   "clients": n_clients, "batch": batch}, f)
    doc = "trace-%d-%d-%d" % (n_clients, batch, time.monotonic_ns())
    proc = subprocess.Popen(["node", os.path.join(HERE, "replay.mjs"), server.address, doc, f.name],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE)
    try:
        line = proc.stdout.readline()
        if line.strip() != "READY":
            raise RuntimeError("replay.mjs did not start: %r" % line)
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
                  bytes_per_key=(result["bytes_out"] + result["bytes_in"]) / keys)
    return result


def compare(windows, our_cells, stores, repeats, client_counts, batchings):
    """Replay every cell (``batchings``: name -> keystrokes per sync) through
    Yjs; print Yjs's CPU per keystroke and ours over it (from ``our_cells``,
    the same run's figures by (store, clients, batching))."""
    ensure_installed()
    server = start_server()
    results, rows = {}, []
    try:
        for batching, batch in batchings.items():
            for n in client_counts:
                # Yjs spends little: pool at least 5 replays of the window per cell.
                runs = [replay_cell(server, windows[batching], n, batch) for _ in range(max(5, repeats))]
                results["%d|%s" % (n, batching)] = runs
                yjs = sum(r["server_cpu_s"] for r in runs) * 1e6 / sum(r["keystrokes"] for r in runs)
                row = [batching, n, fmt(yjs), fmt(statistics.median(r["bytes_per_key"] for r in runs)),
                       "yes" if all(r["exact"] for r in runs) else "NO"]
                for store in ["noop"] + stores:
                    ours = our_cells.get((store, n, batching))
                    mine = statistics.median(r["cpu_us_per_key"] for r in ours) if ours else None
                    row.append(fmt(mine / yjs, "%.1f") if mine is not None and yjs > 0 else "-")
                rows.append(row)
    finally:
        server.stop()
    print(table(["sync", "clients", "Yjs µs/key", "Yjs bytes/key", "exact"]
                + ["%s ÷ Yjs" % s for s in ["noop"] + stores], rows, ["<"] + [">"] * (4 + len(stores) + 1)))
    print("(Yjs µs/key: CPU of the node server process per keystroke; bytes/key: WebSocket payloads, "
          "no frame headers; X ÷ Yjs: our server's CPU per keystroke in the same run over Yjs's)")
    return results
