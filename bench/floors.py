"""What one call to a backing service costs the gateway's process in CPU,
in process, without HTTP: the floor under bench.gateway's µs per sync.

    python3 -m bench.floors            # about a minute
    python3 -m bench.floors --quick    # a few seconds

A Datastore sync needs two calls (an edit: Lookup that begins the
transaction, then Commit; an idle poll without a cache: Lookup, then
Commit of its view; with a cache: cache reads and writes, then Commit),
so whatever a call costs here, a sync costs at least twice, before any
request handling or diffing. Measured: Lookup of a 10 KB view and its
text, Commit of a 10 KB view, and a Lookup that begins a transaction then
its Rollback, through the store's own calls (``stores/datastore_rpc``) on
each transport it offers (``MOBWRITE_DATASTORE_TRANSPORT``): gRPC, the
default, and protobuf over HTTP/1.1 on kept-alive connections; then a
Redis GET and a memcached get of 20 KB; and,
for scale, 10 ms of doing nothing with the gRPC channel open. CPU
is this process's (every thread, gRPC's included), per call: the median
of ``--repeats`` passes of ``--calls`` calls, with its spread. The
emulator's own CPU is not counted: Cloud Datastore's would not be ours.

On loopback the emulator answers in a millisecond or two; Cloud Datastore
takes longer, and a gRPC call's CPU grows with its wait. ``--latency-ms
30,...`` measures the Datastore rows again behind a forwarder (its own
process, ``tools/tcpproxy.ProxyProcess``) that holds every answer that long.
"""

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench import common  # noqa: E402  (after the path fix)
from mobwrite.stores import datastore_rpc as rpcs  # noqa: E402

SHADOW = "x" * 10240


def measure(call, calls, repeats, warm_up):
    """(median CPU µs, median wall µs, CPU runs) per call."""
    for _ in range(warm_up):  # the emulator's JIT: its first calls are slower, and so ours (see README)
        call()
    runs = []
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(calls):
            call()
        runs.append(((time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), [r[0] for r in runs]


def datastore_calls(address, suffix=""):
    """(label, call) of every Datastore row, on a view and text just written,
    with the emulator at ``address``."""
    from google.cloud import ndb
    os.environ["DATASTORE_EMULATOR_HOST"] = address  # what ndb's client connects to
    client = ndb.Client(project=common.PROJECT)
    client.stub = rpcs.make_stub(client)
    over_grpc, over_http = rpcs.Rpc(client, transport="grpc"), rpcs.Rpc(client, transport="http")
    view, text = over_grpc.key("View", "v:floor"), over_grpc.key("Text", "t:floor")

    def view_entity():
        return rpcs.entity(view, doc="floor", shadow=rpcs.Text(SHADOW), state=b"{}")

    over_grpc.commit([view_entity(), rpcs.entity(text, doc="floor", text=rpcs.Text(SHADOW))], [])
    if len(over_http.lookup([view, text])[0]) != 2:
        raise SystemExit("the HTTP Lookup did not find what the gRPC Commit wrote")
    rows = []
    for name, transport in (("gRPC", over_grpc), ("HTTP", over_http)):
        rows += [("Datastore Lookup (view + text), " + name, lambda t=transport: t.lookup([view, text])),
                 ("Datastore Commit (10 KB view), " + name, lambda t=transport: t.commit([view_entity()], [])),
                 ("Lookup that begins + Rollback, " + name,
                  lambda t=transport: t.rollback(t.lookup([view], begin=True)[1]))]
    return [(label + suffix, call) for label, call in rows]


def cache_calls(services):
    calls = []
    value = b"x" * 20480
    if services.redis is not None:
        import redis
        client = redis.Redis.from_url(services.redis.address)
        client.set("floor", value)
        calls.append(("Redis GET (20 KB)", lambda: client.get("floor")))
    if services.memcached is not None:
        from pymemcache.client.base import Client
        host, port = services.memcached.address.rsplit(":", 1)
        mc = Client((host, int(port)))
        mc.set("floor", value)
        calls.append(("memcached get (20 KB)", lambda: mc.get("floor")))
    return calls


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 calls, 3 passes")
    parser.add_argument("--calls", type=int, help="calls per pass (default 400; quick 100)")
    parser.add_argument("--repeats", type=int, help="passes per row (default 5; quick 3)")
    parser.add_argument("--warm-up", type=int, default=300, help="calls before a row is measured (default 300)")
    parser.add_argument("--latency-ms", default="", help="comma-separated: the Datastore rows again with "
                                                           "each answer held this long (e.g. 10,30)")
    parser.add_argument("--json", metavar="PATH", help="write every figure to PATH")
    args = parser.parse_args(argv)
    try:
        latencies = [float(ms) for ms in args.latency_ms.split(",") if ms.strip()]
    except ValueError:
        parser.error("--latency-ms takes numbers, comma-separated")
    calls = args.calls or (100 if args.quick else 400)
    repeats = args.repeats or (3 if args.quick else 5)
    if not 1 <= calls <= 100_000 or not 1 <= repeats <= 50 or not 0 <= args.warm_up <= 100_000 \
            or not all(0 < ms <= 1000 for ms in latencies):
        parser.error("calls, repeats, warm-up or latency out of range")
    started, machine = time.monotonic(), common.machine_line()
    print("MobWrite call floors: gateway-process CPU per call to a backing service, in process, "
          "%d calls x %d passes per row" % (calls, repeats))
    common.print_machine(machine)
    report, rows = {"machine": machine, "calls": calls, "repeats": repeats, "rows": []}, []
    with common.Services() as services:
        services.start_backing(datastore=True, redis=True, memcached=True)
        found = []
        if services.emulator is not None:
            found += datastore_calls(services.emulator.address)
            # What the open channel costs when no call waits: set against the calls' growth with latency.
            found.append(("nothing for 10 ms, gRPC channel open", lambda: time.sleep(0.01)))
            for ms in latencies:  # a forwarder of its own per latency, stopped with the services
                proxy = services.start_forwarder(ms)
                if proxy is not None:
                    found += datastore_calls("127.0.0.1:%d" % proxy.port, ", answers +%g ms" % ms)
        found += cache_calls(services)
        for label, call in found:
            cpu, wall, runs = measure(call, calls, repeats, args.warm_up)
            rows.append([label, "%.0f" % cpu, common.spread(runs), "%.0f" % wall])
            report["rows"].append({"call": label, "cpu_us": cpu, "wall_us": wall, "cpu_runs": runs})
    print()
    print(common.table(["call", "CPU µs", "spread", "wall µs"], rows))
    print("(CPU: this process, every thread; the emulator's, Redis's and memcached's own CPU not counted)")
    common.finish(report, started, args.json)


if __name__ == "__main__":
    main()
