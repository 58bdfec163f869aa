"""What the benchmarks share, in one module so that no bench imports another:
CPU read from /proc, test documents, the HTTP load's pieces (one client's
connection, the ``mixed`` workload's small edit), printing (the machine
line, tables, medians and percentiles), the servers a run starts and their
one teardown, the gunicorn set-up of each store backend, an isolated
in-process Datastore app with its RPCs counted (``tools.rpccount``), cache
command counts, and the end of a run (the closing line and the JSON report).

Every server binds 127.0.0.1 on a free port (``tools.devservers``) and is
stopped when the ``Services`` block ends, whatever happened inside it.
"""

import collections
import contextlib
import dataclasses
import http.client
import json
import os
import platform
import random
import shutil
import statistics
import string
import subprocess
import tempfile
import time
import urllib.parse
import uuid

from bench.noop import GATEWAY_PATH  # noqa: F401  (the benches take it from here)
from tools import devservers
from tools.tcpproxy import ProxyProcess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT = "mobwrite-bench"
NOOP_APP = "bench.noop:app"

# ---------------------------------------------------------------- /proc CPU

_TICK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    with open("/proc/%s/stat" % pid) as f:
        raw = f.read()
    return raw[raw.rindex(")") + 2:].split()


def session_cpu(sid):
    """CPU seconds (user+system) of every live process in session ``sid``,
    plus the reaped children of its leader (a worker that was replaced)."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fields = _stat_fields(name)
        except OSError:
            continue
        if int(fields[3]) != sid:  # field 6: session id
            continue
        total += int(fields[11]) + int(fields[12])  # fields 14, 15: utime, stime
        if int(name) == sid:
            total += int(fields[13]) + int(fields[14])  # fields 16, 17: cutime, cstime
    return total / _TICK


def session_pids(sid):
    """The pids of the live processes of session ``sid`` (a changed set means
    a worker was replaced inside a window)."""
    pids = set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if int(_stat_fields(name)[3]) == sid:
                    pids.add(int(name))
    return pids


def session_cpu_ns(sid):
    """CPU seconds of every thread of every process in session ``sid``, from
    /proc/PID/task/TID/schedstat (nanoseconds; /proc/PID/stat counts 10 ms
    ticks, too coarse for a few hundred keystrokes). Falls back to
    ``session_cpu`` where schedstat is missing. Threads that exit inside a
    window are not counted (gunicorn's sync workers and node's threads live
    as long as the server)."""
    total, seen = 0, False
    for pid in session_pids(sid):
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
                    seen = True
            except (OSError, ValueError, IndexError):
                continue
    return total / 1e9 if seen else session_cpu(sid)


# ---------------------------------------------------------------- documents

def make_text(size, seed):
    """ASCII prose-like text of exactly ``size`` characters, in lines."""
    rng = random.Random(seed)
    words, length, line = [], 0, 0
    while length < size:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
        sep = "\n" if line > 60 else " "
        line = 0 if sep == "\n" else line + len(word) + 1
        words.append(word + sep)
        length += len(word) + 1
    return "".join(words)[:size]


def insert_random(text, rng, n=4):
    """``text`` with ``n`` random lowercase letters inserted at a random place."""
    at = rng.randrange(len(text) + 1)
    return text[:at] + "".join(rng.choice(string.ascii_lowercase) for _ in range(n)) + text[at:]


# ---------------------------------------------------------------- HTTP load (gateway and soak)

def small_edit(shared, rng, target):
    """Insert or delete 2-6 characters at a random place, keeping the text
    near ``target`` characters."""
    text = shared.text
    n = rng.randint(2, 6)
    if len(text) >= target and len(text) > n:
        at = rng.randrange(len(text) - n)
        shared.text = text[:at] + text[at + n:]
    else:
        at = rng.randrange(len(text) + 1)
        shared.text = text[:at] + "".join(rng.choice(string.ascii_lowercase) for _ in range(n)) + text[at:]


def warm_up(base_url, sync, clients):
    """Two quiet rounds of ``sync(i, transport)`` for each of ``clients``:
    every document created and every client holding it."""
    transport = Transport(base_url)
    try:
        for _ in range(2):
            for i in range(clients):
                sync(i, transport)
    finally:
        transport.close()


class Transport:
    """One keep-alive-if-the-server-allows connection (gunicorn's sync worker
    closes after each answer; http.client reconnects by itself)."""

    def __init__(self, base_url, timeout=30):
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.timeout = parsed.hostname, parsed.port, timeout
        self.conn = None

    def post(self, text):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        body = ("q=" + urllib.parse.quote(text, safe="")).encode("ascii")
        try:
            self.conn.request("POST", GATEWAY_PATH, body=body,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        return response.status, data.decode("utf-8")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------- figures and printing

def percentile(values, q):
    """The ``q`` quantile (0..1) of ``values`` by rank; None when empty."""
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def median_of(runs, key):
    """The median of ``run[key]`` over the runs that have it, or None."""
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def spread(values, spec="%.0f"):
    """"min–max" of ``values`` (the spread printed beside a median), or "-"."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return (spec + "–" + spec) % (min(values), max(values))


def table(headers, rows, align=None):
    """A plain-text table; ``align`` is "<" or ">" per column (default: the
    first column left, the others right)."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    align = align or ["<"] + [">"] * (len(headers) - 1)

    def line(cells):
        return "  ".join("%-*s" % (w, c) if a == "<" else "%*s" % (w, c) for c, w, a in zip(cells, widths, align))

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line([str(c) for c in r]) for r in rows]
    return "\n".join(o.rstrip() for o in out)


def fmt(value, spec="%.0f"):
    """``spec % value``, or "-" for a figure that is missing."""
    return "-" if value is None else spec % value


def machine_line():
    """What the figures were measured on (printed and kept in the report)."""
    cpu = ""
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    rev = ""
    with contextlib.suppress(Exception):
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=5).stdout.strip()
    import gunicorn
    return {"nproc": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "gunicorn": gunicorn.__version__, "git": rev, "loadavg_1m": os.getloadavg()[0]}


def print_machine(machine):
    print("machine: nproc=%(nproc)s, %(cpu)s, Python %(python)s, gunicorn %(gunicorn)s, git %(git)s, "
          "load average %(loadavg_1m).2f (other work on the machine skews the figures)" % machine)


def finish(report, started, json_path=None):
    """The end of a run: elapsed time and load average into the report, the
    closing line, and the report as JSON at ``json_path`` if given."""
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    report["loadavg_1m_end"] = os.getloadavg()[0]
    print("\ndone in %.0fs (load average now %.2f)" % (report["elapsed_s"], report["loadavg_1m_end"]))
    if json_path:
        with open(json_path, "w") as f:
            json.dump(report, f, indent=1, default=str)
        print("figures written to %s" % json_path)


# ---------------------------------------------------------------- servers

class Services:
    """The servers one run starts and a scratch folder, all stopped and removed
    together when the ``with`` block ends (the one teardown of every bench).

    A backing service that will not start is reported and left as None, so
    the figures that need it are left out rather than the run failing."""

    def __init__(self, prefix="mobwrite-bench-"):
        self.servers = []
        self.tmpdir = tempfile.mkdtemp(prefix=prefix)
        self.emulator = self.redis = self.memcached = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self, what, launch):
        """``launch()``'s server, kept for the teardown; None if it fails."""
        try:
            server = launch()
        except (RuntimeError, OSError) as exc:
            print("could not start %s, so the figures that need it are left out: %s"
                  % (what, str(exc).splitlines()[0]))
            return None
        self.servers.append(server)
        return server

    def start_forwarder(self, latency_ms):
        """A forwarder to the emulator in a process of its own that holds
        every answer ``latency_ms`` (Cloud Datastore is further away than a
        loopback emulator); None if it fails."""
        host, port = self.emulator.address.rsplit(":", 1)
        return self.start("a forwarder", lambda: _Forwarder(int(port), host, latency_ms / 1000))

    def start_backing(self, datastore=False, redis=False, memcached=False):
        """The Datastore emulator (its address exported for in-process
        clients too), redis-server and memcached, as asked."""
        if datastore:
            self.emulator = self.start("the Datastore emulator", lambda: devservers.start_datastore_emulator(PROJECT))
            if self.emulator is not None:
                os.environ["DATASTORE_EMULATOR_HOST"] = self.emulator.address
                os.environ["DATASTORE_PROJECT_ID"] = PROJECT
        if redis:
            self.redis = self.start("redis-server", devservers.start_redis)
        if memcached:
            self.memcached = self.start("memcached", devservers.start_memcached)

    def available(self, backend):
        """Whether what ``backend`` (a name as in ``Setup``) needs is running."""
        backend = backend.partition("/")[0]
        if backend.startswith("datastore") and self.emulator is None:
            return False
        if backend.endswith("+redis") and self.redis is None:
            return False
        return not (backend.endswith("+memcached") and self.memcached is None)

    def serve(self, setup):
        """Start gunicorn for ``setup`` (kept for the teardown); returns it."""
        setup.server = devservers.start_gunicorn(setup.env, app=setup.app, workers=setup.workers, root=ROOT,
                                                 args=setup.args)
        self.servers.append(setup.server)
        return setup.server

    def close(self):
        for server in reversed(self.servers):
            with contextlib.suppress(Exception):
                server.stop()
        self.servers.clear()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class _Forwarder(ProxyProcess):
    """A ProxyProcess that ``Services`` can stop with the rest."""

    def stop(self):
        self.close()


# app.yaml's entrypoint (gevent, its connections and timeouts); -w is each bench's.
APP_YAML_ARGS = ("-k", "gevent", "--worker-connections", "1000", "--timeout", "60", "--graceful-timeout", "5")


@dataclasses.dataclass
class Setup:
    """One backend as gunicorn serves it: ``noop``, ``memory``, ``sqlite``,
    ``datastore``, ``datastore+redis`` or ``datastore+memcached``."""
    name: str
    app: str
    env: dict
    workers: int
    services: list  # devservers.Server objects whose CPU counts as "svc"
    server: object = None
    args: tuple = ()  # more gunicorn arguments (APP_YAML_ARGS: the worker class app.yaml deploys)


# Settings for an in-process app that bench clients drive (see gunicorn_setup).
OUT_OF_REACH_RATES = {"rate_ip": 10 ** 9, "rate_user": 10 ** 9, "rate_doc_edits": 10 ** 9}


WORKER_CLASSES = ("sync", "gevent")


def add_worker_option(parser):
    """``--worker``: gunicorn's worker class for the benches that serve syncs."""
    parser.add_argument("--worker", choices=WORKER_CLASSES, default="sync",
                        help="gunicorn's worker class: sync (one request at a time, the figures so far) or "
                             "gevent with app.yaml's settings (what App Engine runs)")


def gunicorn_setup(name, workers, services, extra_env=None, worker="sync"):
    """The gunicorn set-up of backend ``name`` on ``services``' servers: the
    store chosen by the environment ``main:app`` reads in the worker.
    ``memory`` runs one worker, its state being per process. A Datastore
    name may end in ``/http`` or ``/grpc`` (the default): the sync path's
    transport. ``worker``: gunicorn's sync worker, or ``gevent`` with the
    settings app.yaml deploys (APP_YAML_ARGS; gRPC then runs in gevent mode)."""
    # Every bench client comes from 127.0.0.1 and syncs far faster than a
    # person: limits too high to reach, so the limiter still runs (and its
    # CPU is counted) but never answers 429.
    env = {"MOBWRITE_LOG_LEVEL": "WARNING", "REDIS_CACHE_URL": "", "MEMCACHED_HOSTS": "",
           "MOBWRITE_RATE_IP": str(10 ** 9), "MOBWRITE_RATE_USER": str(10 ** 9),
           "MOBWRITE_RATE_DOC_EDITS": str(10 ** 9), **(extra_env or {})}
    if services.emulator is not None:
        env.update(DATASTORE_EMULATOR_HOST=services.emulator.address, DATASTORE_PROJECT_ID=PROJECT,
                   GOOGLE_CLOUD_PROJECT=PROJECT)
    backing, app = [], "main:app"
    name, _, transport = name.partition("/")
    if transport:
        env["MOBWRITE_DATASTORE_TRANSPORT"] = transport
    if name == "noop":
        app = NOOP_APP
    elif name == "memory":
        env["MOBWRITE_STORE"] = "memory"
        workers = 1
    elif name == "sqlite":
        env.update(MOBWRITE_STORE="sqlite", MOBWRITE_SQLITE_PATH=os.path.join(services.tmpdir, "bench.sqlite3"))
    elif name.startswith("datastore"):
        env["MOBWRITE_STORE"] = "datastore"
        backing.append(services.emulator)
        if name.endswith("+redis"):
            env["REDIS_CACHE_URL"] = services.redis.address
            backing.append(services.redis)
        elif name.endswith("+memcached"):
            env["MEMCACHED_HOSTS"] = services.memcached.address
            backing.append(services.memcached)
    else:
        raise ValueError("unknown backend %r" % name)
    return Setup(name + ("/" + transport if transport else ""), app, env, workers, backing,
                 args=APP_YAML_ARGS if worker == "gevent" else ())


# ---------------------------------------------------------------- in process, on the emulator

@contextlib.contextmanager
def counted_datastore_app(settings):
    """``main.create_app`` on a Datastore namespace of its own (so runs never
    see each other's entities), with the store's RPCs counted by method:
    yields (app, Counter). The service is closed at the end."""
    from main import create_app
    from tools.rpccount import count_rpcs
    settings = dataclasses.replace(settings, store="datastore", project=PROJECT,
                                   namespace="b" + uuid.uuid4().hex[:12])
    app = create_app(settings)
    service = app.extensions["mobwrite"]
    try:
        yield app, count_rpcs(service.store)
    finally:
        with contextlib.suppress(Exception):
            service.close()


class CacheStats:
    """Command counts of a Redis or memcached server, for deltas around a sync
    (``kind`` None: no cache, empty counts)."""

    def __init__(self, kind, address):
        self.kind = kind
        if kind == "redis":
            import redis
            self.client = redis.Redis.from_url(address)
        elif kind == "memcached":
            from pymemcache.client.base import Client as Memcache
            host, _, port = address.partition(":")
            self.client = Memcache((host, int(port)))
        else:
            self.client = None

    def snapshot(self):
        if self.kind == "redis":
            stats = self.client.info("commandstats")
            return collections.Counter({k.removeprefix("cmdstat_"): v["calls"] for k, v in stats.items()
                                        if k not in ("cmdstat_info",)})
        if self.kind == "memcached":
            s = {k.decode(): v for k, v in self.client.stats().items()}
            keys = ("cmd_get", "get_hits", "get_misses", "cmd_set", "cmd_touch",
                    "cas_hits", "cas_misses", "cas_badval", "delete_hits", "delete_misses",
                    "incr_hits", "incr_misses", "decr_hits", "decr_misses")
            return collections.Counter({k: int(s.get(k, 0)) for k in keys})
        return collections.Counter()

    def close(self):
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()


# ---------------------------------------------------------------- the zips

def ensure_zips(directory):
    """The dojo, dijit and dojox zips in ``directory``, built by
    build_zips.sh if any is missing."""
    if all(os.path.isfile(os.path.join(directory, f"{a}.zip")) for a in ("dojo", "dijit", "dojox")):
        return
    print(f"building the zips into {directory} (build_zips.sh)...", flush=True)
    subprocess.run(["bash", os.path.join(ROOT, "build_zips.sh")], check=True,
                   env=dict(os.environ, ZIPSERVE_DIR=directory), stdout=subprocess.DEVNULL)

