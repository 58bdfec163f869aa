"""History and presence on vs off, same run: Datastore RPCs and CPU per sync.

    python -m bench.history               # ~1 min
    python -m bench.history --syncs 200

In this process, over the Datastore emulator with no cache and with Redis
(tools/devservers), one app with history and presence on and one with
both off; a presence-aware client (``p:`` lines) syncs one 2 KB document:
idle polls, then edits (a short insert each). RPCs are counted with
tools/rpccount as bench/gateway.py counts them; CPU is this process's
(the gateway's) time per sync, median of repeats, and the on/off ratio.
Goal (issue 13): idle poll unchanged, edit at most +1 write.
"""

import argparse
import os
import statistics
import time
import uuid

from main import create_app
from mobwrite import wiring
from mobwrite.client import Client
from mobwrite.config import Settings
from mobwrite.stores.cache import open_cache
from tools import devservers
from tools.rpccount import count_rpcs

PRESENCE = "\np:%7B%22name%22:%22Bench%22,%22color%22:%22teal%22%7D\nd:"


def _run(settings, syncs, edit):
    """(RPCs per sync by method, CPU µs per sync) for one workload."""
    store = wiring.open_store(settings, open_cache(settings))
    try:
        app = create_app(settings, store)
        http = app.test_client()
        rpcs = count_rpcs(app.extensions["mobwrite"].store)
        me = Client("bench-" + uuid.uuid4().hex[:6])
        me.share("doc", "lorem ipsum " * 170)

        def sync():
            text = me.request().replace("\nd:", PRESENCE, 1)
            me.receive(http.post("/scripts/q.py", data={"q": text}).get_data(as_text=True))

        for _ in range(3):
            sync()
        rpcs.clear()
        started = time.process_time()
        for i in range(syncs):
            if edit:
                doc = me.docs["doc"]
                doc.text = doc.text[:i * 7 % 1000] + "x" + doc.text[i * 7 % 1000:]
            sync()
        cpu = (time.process_time() - started) / syncs * 1e6
        return {k: v / syncs for k, v in sorted(rpcs.items())}, cpu
    finally:
        store.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--syncs", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    emulator = devservers.start_datastore_emulator()
    redis = devservers.start_redis()
    os.environ["DATASTORE_EMULATOR_HOST"] = emulator.address
    try:
        print("%-16s %-6s %-5s %-34s %9s %7s" % ("backend", "sync", "h+p", "Datastore RPCs per sync", "CPU µs", "on/off"))
        for backend, extra in (("datastore", {}), ("datastore+redis", {"redis_url": redis.address})):
            for edit in (False, True):
                cpu = {}
                for on in (True, False):
                    samples, counts = [], None
                    for _ in range(args.repeats):
                        settings = Settings(store="datastore", project="mobwrite-bench", history=on, presence=on,
                                            namespace="b" + uuid.uuid4().hex[:10], **extra)
                        counts, micros = _run(settings, args.syncs, edit)
                        samples.append(micros)
                    cpu[on] = statistics.median(samples)
                    ratio = "%.2f" % (cpu[True] / cpu[False]) if not on else ""
                    print("%-16s %-6s %-5s %-34s %9.0f %7s" % (backend, "edit" if edit else "idle", "on" if on else "off",
                                                               " ".join("%s=%.2f" % kv for kv in counts.items()),
                                                               cpu[on], ratio))
    finally:
        redis.stop()
        emulator.stop()


if __name__ == "__main__":
    main()
