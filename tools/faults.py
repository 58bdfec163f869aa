"""Fault runs (issue 17): instances die at any time and no edit is lost.

A run starts real components (``Services``): gunicorn gateways (two
workers each, rate limits off) on one store, an SQLite file they share or
a Datastore emulator, and optionally Redis or memcached. Simulated users
(``Typist``, each a ``mobwrite.client.Client`` in a thread) type unique
words taken from a real editing trace into one document, each sync going
to a random gateway, while a fault schedule runs in another thread. Then
the faults are disarmed and the users sync quietly until they agree, and
``run`` returns a ``Result``: whether they converged on the stored text,
the edits the server acknowledged, those lost (acknowledged, not in the
final text) or doubled (in it more than once), every answer's status and
each fault's recovery time.

A schedule is a list of ``(seconds_from_start, name, callable)``; the
callable gets the ``Services`` and may return a detail string. The fault
**ends when its callable returns**: at once for a signal sent; once the
restarted component answers its health check for an outage (``outage``).
Kills done by the gunicorn hooks (``tools/fault_hooks.py``) end when they
are logged, just before the worker's SIGKILL.

**Recovery time** of a fault: for each gateway, take the requests sent to
it after the fault's end, in the order they were sent; the time from the
fault's end to the answer of the first of ``HEALTHY`` (5) of them in a
row answered 200 (or of the first 200, if the run ends sooner with only
200s). The fault's recovery is the slowest gateway's; None when a gateway
had no such run of 200s before the run ended. One 200 is not enough: each
gunicorn worker has its own connections and reconnects on its own, so a
gateway can answer 200 from one worker while the other still fails, and
a worker failing fast takes most of the requests. Worker kills that come
close together overlap: each one's recovery counts from its own end.

A cache outage in a few lines (``Services`` starts Redis on a port of its
own and points the gateways at it; ``outage`` stops it and starts it there
again)::

    with Services("datastore", cache="redis") as services:
        result = run(services, clients=8, seconds=12,
                     schedule=[(3, "redis outage", outage("redis", 4))])
    assert result.ok(max_recovery=10), result.problems(max_recovery=10)

and the hooks' kills: ``run(services, hooks={"MOBWRITE_FAULT_KILL_AFTER_COMMIT":
0.05}, min_kills=2)``, on gateways started without them (they are armed
per run through a control file).
"""

import bisect
import collections
import contextlib
import dataclasses
import json
import math
import os
import random
import re
import shutil
import signal
import sqlite3
import string
import tempfile
import threading
import time
import uuid

import requests

from mobwrite.client import Client
from tools import devservers
from tools.tcpproxy import ProxyProcess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOOKS = os.path.join(ROOT, "tools", "fault_hooks.py")
PROJECT = "mobwrite-test"
_PORT = re.compile(r":(\d+)(?=/|$)")  # a cache address's port: redis://host:PORT/0 or host:PORT
STATUSES = ("200", "503", "500", "other 5xx", "other", "transport")
EMULATOR_DRAIN = 1.0  # seconds between cutting the emulator off and stopping it: calls under way end
HEALTHY = 5  # 200 answers in a row from a gateway: it has recovered (see the module docstring)


# ------------------------------------------------------------------ users

class Typist:
    """A client that inserts words between words and tracks them: which it
    sent, in which client version, and so which the server acknowledged.

    ``word()`` makes each word; by default eight random letters like
    ``qhzkvtwe``. Random rather than numbered: numbered tokens share most of
    their characters, so a diff may express one as a split insert that a
    fuzzy patch then lands beside a look-alike, which says nothing about
    whether an edit was lost."""

    def __init__(self, user, doc, rng, word=None):
        self.client = Client(user)
        self.doc = self.client.share(doc)
        self.rng = rng
        self.word = word or self._random_word
        self.typed = 0
        self.pending = []   # tokens typed since the last request
        self.sent = []      # (token, client version that carried it)
        self.resyncs = 0    # answers that carried a raw dump

    def _random_word(self):
        return "".join(self.rng.choice(string.ascii_lowercase) for _ in range(8))

    def type(self):
        token = " " + self.word()
        self.typed += 1
        text = self.doc.text
        # Insert between words so another user's word is never split, and
        # right after a word, so that the insert adds tokens and changes no
        # gap ("\n  " would become "\n X  "): the word merge (mobwrite/merge.py)
        # drops one of two concurrent edits of one gap, and that is a
        # conflict, not the loss this tracks. On texts of single spaces
        # (every test's but the fault runs') these are all the spaces.
        cuts = [i for i, ch in enumerate(text) if ch == " " and (i == 0 or not text[i - 1].isspace())]
        if not text or not text[-1].isspace():
            cuts.append(len(text))
        at = self.rng.choice(cuts)
        self.doc.text = text[:at] + token + text[at:]
        self.pending.append(token)

    def request(self):
        before = self.doc.client_version
        text = self.client.request()
        if self.doc.client_version > before:
            self.sent += [(token, before) for token in self.pending]
            self.pending = []
        return text

    def receive(self, answer):
        self.client.receive(answer)
        # A raw dump resets our client version: edits sent at or above it were
        # discarded by the server (never acknowledged), and the versions reused.
        self.sent = [(token, v) for token, v in self.sent if v < self.doc.client_version]
        self.resyncs += any(line[:1] in "rR" for line in answer.split("\n"))

    def acknowledged(self):
        return [token for token, version in self.sent if version < self.doc.acked]


def trace_words(name="sveltecomponent"):
    """The distinct identifiers (4+ characters) of a real editing trace's
    final text, in order of first use."""
    from bench import traces
    return list(dict.fromkeys(re.findall(r"[A-Za-z][A-Za-z0-9]{3,}", traces.load(name).end)))


class Words:
    """Unique words for one client: a trace identifier, "_" and a code that
    is a bijection of (client, counter), so no two words of a run are equal
    and consecutive ones look nothing alike (see ``Typist``)."""

    def __init__(self, vocabulary, client, rng):
        if client >= 300:
            raise ValueError("at most 300 clients: codes are unique below 26**6")
        self.vocabulary, self.client, self.rng, self.count = vocabulary, client, rng, 0

    def __call__(self):
        self.count += 1
        return "%s_%s" % (self.rng.choice(self.vocabulary), _code(self.client * 1_000_000 + self.count))


def _code(n, letters=6):
    value = n * 2654435761 % 26 ** letters  # the multiplier is prime to 26: one code per n below 26**6
    return "".join(string.ascii_lowercase[value // 26 ** i % 26] for i in range(letters))


# ------------------------------------------------------------------ components

class Component:
    """One service of a run on a fixed port, which a fault may stop and
    start again: ``launch()`` returns a started ``devservers.Server``."""

    def __init__(self, name, launch, address):
        self.name, self.launch, self.address, self.server = name, launch, address, None

    def start(self):
        if self.server is None:
            self.server = self.launch()

    def stop(self):
        if self.server is not None:
            clean = self.server.stop_and_wait()
            self.server = None
            if not clean:  # the emulator, say, may not have written its data out: say so, don't lose it quietly
                raise RuntimeError("%s did not exit by itself after SIGTERM and was killed" % self.name)

    def restart(self):
        self.stop()
        self.start()


def cache_component(kind):
    """A Redis or memcached component (not started) on a port of its own;
    restarted, it comes back empty, as a restarted cache server does."""
    port = devservers.free_port()
    if kind == "redis":
        return Component("redis", lambda: devservers.start_redis(port), "redis://127.0.0.1:%d/0" % port)
    if kind == "memcached":
        return Component("memcached", lambda: devservers.start_memcached(port), "127.0.0.1:%d" % port)
    raise ValueError("cache must be redis or memcached, not %r" % kind)


def persisted_emulator(data_dir, project=PROJECT):
    """A Datastore emulator component (not started) that keeps its entities
    in ``data_dir`` across a stop and start, on one port throughout."""
    port = devservers.free_port()
    return Component("emulator", lambda: devservers.start_datastore_emulator(project, port, data_dir),
                     "127.0.0.1:%d" % port)


class Services:
    """The components of a fault run, stopped together when the ``with``
    block ends: ``gateways`` gunicorn servers (with the fault hooks loaded)
    on ``store`` ("sqlite" or "datastore"), the Datastore emulator
    ``emulator`` (an address, or a started ``persisted_emulator`` that
    faults may restart; either is left running at the end) or one of its
    own that keeps its data across restarts, and ``cache`` ("redis" or
    "memcached") if asked. Each has its own SQLite file or Datastore
    namespace. ``hooks`` are environment settings for tools/fault_hooks.py.
    The gateways numbered in ``cut_off`` reach the cache through a TCP
    forwarder (``self.proxy``) that ``partition`` cuts: they alone lose it."""

    def __init__(self, store="sqlite", gateways=2, workers=2, emulator=None, cache=None, hooks=None,
                 env=None, project=PROJECT, gunicorn_args=(), cut_off=()):
        self.store, self.gateway_count, self.workers, self.cache = store, gateways, workers, cache
        self.cut_off, self.proxy, self.emulator_proxy = tuple(cut_off), None, None
        self.gunicorn_args = tuple(gunicorn_args)
        self.project, self.hooks, self.extra_env = project, dict(hooks or {}), dict(env or {})
        self.workdir = tempfile.mkdtemp(prefix="mobwrite-faults-")
        self.sqlite_path = os.path.join(self.workdir, "mobwrite.sqlite3")
        self.namespace = "f" + uuid.uuid4().hex[:12]
        self.kill_log = os.path.join(self.workdir, "kills.log")
        self.control = os.path.join(self.workdir, "faults.json")  # the hooks' odds now (tools/fault_hooks.py)
        self.components = {}
        self.shared = set()  # components someone else started and stops
        self.gateways = []
        self.emulator_address = emulator
        if isinstance(emulator, Component):
            self.components["emulator"], self.emulator_address = emulator, emulator.address
            self.shared.add("emulator")

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, name, component):
        """Start ``component`` and keep it as ``name`` (stopped by ``close``)."""
        self.components[name] = component
        component.start()
        return component

    def start(self):
        self.disarm()
        if self.store == "datastore" and self.emulator_address is None:
            emulator = self.add("emulator", persisted_emulator(os.path.join(self.workdir, "emulator"), self.project))
            self.emulator_address = emulator.address
        if "emulator" in self.components:  # one that faults may stop: reached through a forwarder (see down)
            self.emulator_proxy = ProxyProcess(int(_PORT.search(self.emulator_address).group(1)))
        if self.cache:
            cache = self.add(self.cache, cache_component(self.cache))
            if self.cut_off:
                self.proxy = ProxyProcess(int(_PORT.search(cache.address).group(1)))
        self.gateways = [None] * self.gateway_count
        errors = []

        def launch(i):
            try:
                self.gateways[i] = devservers.start_gunicorn(self.gateway_env(i), workers=self.workers,
                                                             args=("-c", HOOKS, *self.gunicorn_args))
            except Exception as exc:  # noqa: BLE001 - reported below, from the main thread
                errors.append(exc)

        threads = [threading.Thread(target=launch, args=(i,)) for i in range(self.gateway_count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    def gateway_env(self, gateway=0):
        # Every simulated user comes from 127.0.0.1, as fast as answers come:
        # rate limits off, as in tests/test_multiprocess.py.
        env = {"MOBWRITE_RATE_IP": "0", "MOBWRITE_RATE_USER": "0", "MOBWRITE_RATE_DOC_EDITS": "0",
               "MOBWRITE_FAULT_LOG": self.kill_log, "MOBWRITE_FAULT_CONTROL": self.control,
               "MOBWRITE_STORE": self.store, "REDIS_CACHE_URL": "", "MEMCACHED_HOSTS": ""}
        if self.store == "sqlite":
            env["MOBWRITE_SQLITE_PATH"] = self.sqlite_path
        else:
            address = self.emulator_address
            if self.emulator_proxy is not None:
                address = _PORT.sub(":%d" % self.emulator_proxy.port, address)
            env.update(DATASTORE_EMULATOR_HOST=address, DATASTORE_PROJECT_ID=self.project,
                       GOOGLE_CLOUD_PROJECT=self.project, MOBWRITE_DATASTORE_NAMESPACE=self.namespace)
        for name, variable in (("redis", "REDIS_CACHE_URL"), ("memcached", "MEMCACHED_HOSTS")):
            if name in self.components:
                address = self.components[name].address
                if gateway in self.cut_off:
                    address = _PORT.sub(":%d" % self.proxy.port, address)
                env[variable] = address
        return {**env, **self.hooks, **self.extra_env}

    # -- what the schedule's callables use

    def down(self, name):
        """Stop component ``name`` (it keeps its port for ``up``).

        The emulator is cut off from the gateways first, and stopped once
        the calls under way have failed: it writes its data to disk as it
        stops, and a commit it acknowledged meanwhile could miss that write.
        That loss would be the emulator's (Cloud Datastore does not restart
        and forget), and it is not what these runs are about."""
        if name == "emulator" and self.emulator_proxy is not None:
            self.emulator_proxy.cut()
            time.sleep(EMULATOR_DRAIN)
        self.components[name].stop()

    def up(self, name):
        """Start component ``name`` again; returns once it answers."""
        self.components[name].start()
        if name == "emulator" and self.emulator_proxy is not None:
            self.emulator_proxy.heal()

    def restart(self, name):
        self.components[name].restart()

    def urls(self):
        return [g.address + "/scripts/q.py" for g in self.gateways]

    def worker_pids(self, gateway):
        """The live worker processes of gateway number ``gateway`` (children of its master)."""
        master = self.gateways[gateway].process.pid
        pids = []
        for name in os.listdir("/proc"):
            if name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    with open("/proc/%s/stat" % name) as f:
                        raw = f.read()
                    if int(raw[raw.rindex(")") + 2:].split()[1]) == master:  # field 4: the parent
                        pids.append(int(name))
        return sorted(pids)

    def arm(self, hooks=None):
        """Let the hooks kill, with ``hooks`` odds (default: the ones this was made with)."""
        self._control(self.hooks if hooks is None else hooks)

    def disarm(self):
        """No hook kills from now on (the setup and the quiet period of a run)."""
        self._control({})

    def _control(self, odds):
        staged = self.control + ".new"
        with open(staged, "w") as f:
            json.dump({knob: float(value) for knob, value in odds.items()}, f)
        os.replace(staged, self.control)  # a worker reads the whole file or the one before

    def hook_kills(self):
        """The hooks' kills so far: [(monotonic time, kind, pid)]."""
        if not os.path.exists(self.kill_log):
            return []
        with open(self.kill_log) as f:
            return [(float(t), kind, int(pid)) for t, kind, pid in (line.split() for line in f if line.strip())]

    # -- after a run

    def read_text(self, doc):
        """The document's text as the store holds it (None: no text)."""
        if self.store == "sqlite":
            from mobwrite.stores.sqlite import SqliteStore
            store = SqliteStore(self.sqlite_path)  # a large text is kept in pieces, not in one row
            try:
                return store.read([], [doc])[1].get(doc)
            finally:
                store.close()
        from mobwrite import wiring
        from mobwrite.config import Settings
        with _environ(DATASTORE_EMULATOR_HOST=self.emulator_address):
            store = wiring.open_store(Settings(store="datastore", project=self.project, namespace=self.namespace))
            try:
                return store.read([], [doc])[1].get(doc)
            finally:
                store.close()

    def integrity_check(self):
        """SQLite's ``PRAGMA integrity_check``: "ok" when the file is sound."""
        with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=30)) as db:
            return "\n".join(row[0] for row in db.execute("PRAGMA integrity_check"))

    def server_errors(self):
        """Tracebacks and worker deaths from the gateways' logs, for a failure message."""
        lines = []
        for i, gateway in enumerate(self.gateways):
            for line in (gateway.log() if gateway else "").splitlines():
                if any(w in line for w in ("Traceback", "Error", "error", "Exception")):
                    lines.append("gateway %d: %s" % (i, line))
        return lines

    def close(self):
        live = [g for g in self.gateways if g is not None]
        for gateway in live:  # all at once: each takes a moment to wind down
            with contextlib.suppress(ProcessLookupError):
                os.killpg(gateway.process.pid, signal.SIGTERM)
        for gateway in live:
            with contextlib.suppress(Exception):
                gateway.stop()
        for proxy in (self.proxy, self.emulator_proxy):
            if proxy is not None:
                proxy.close()
        for name, component in reversed(list(self.components.items())):
            if name not in self.shared:
                with contextlib.suppress(Exception):
                    component.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def _environ(**values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# ------------------------------------------------------------------ faults

def kill_worker(rng=random):
    """A fault: SIGKILL a random worker of a random gateway (its master starts another)."""
    def kill(services):
        gateways = list(range(len(services.gateways)))
        rng.shuffle(gateways)
        for gateway in gateways:  # the first with a worker: one may be between a death and its successor
            pids = services.worker_pids(gateway)
            if pids:
                pid = rng.choice(pids)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    return "worker %d of gateway %d, gone already" % (pid, gateway)
                return "worker %d of gateway %d" % (pid, gateway)
        raise RuntimeError("no gateway had a worker to kill")
    return kill


def outage(name, seconds):
    """A fault: stop component ``name``, wait ``seconds``, start it again on
    its port; it ends once the component answers again."""
    def run_outage(services):
        started = time.monotonic()
        services.down(name)
        stopped = time.monotonic()
        time.sleep(seconds)
        services.up(name)
        return "%s stopped in %.1f s, down %.1f s, up again in %.1f s" % (
            name, stopped - started, seconds, time.monotonic() - stopped - seconds)
    return run_outage


def partition(seconds):
    """A fault: cut the ``cut_off`` gateways off the cache for ``seconds``
    while the others keep it; it ends when the connection is healed."""
    def run_partition(services):
        services.proxy.cut()
        time.sleep(seconds)
        services.proxy.heal()
        return "gateways %s cut off the cache for %.1f s" % (list(services.cut_off), seconds)
    return run_partition


def repeated(name, fault, start, end, every, rng):
    """Schedule entries for ``fault`` at random moments between ``start`` and
    ``end`` seconds, ``every`` seconds apart on average."""
    entries, at = [], start
    while True:
        at += rng.uniform(0.5 * every, 1.5 * every)
        if at >= end:
            return entries
        entries.append((at, name, fault))


# ------------------------------------------------------------------ a run

@dataclasses.dataclass
class Fault:
    """One fault of a run: a schedule entry, or a kill by the hooks (named by its kind)."""
    name: str
    started: float   # seconds from the run's start
    ended: float
    detail: str = ""
    recovery: float = None  # seconds (module docstring); None: some gateway had not recovered by the end

    def row(self):
        return "%-16s at %5.1fs %s: recovered in %s" % (
            self.name, self.started, self.detail, "never" if self.recovery is None else "%.2fs" % self.recovery)


@dataclasses.dataclass
class Result:
    """What a run found; ``problems()`` says what broke the promise."""
    converged: bool
    clients: int
    syncs: int
    statuses: dict          # STATUSES -> count
    typed: int
    acknowledged: int
    lost: list              # acknowledged words not in the final text
    doubled: list           # typed words in it more than once
    unacknowledged: int     # typed words never acknowledged by the end
    faults: list            # [Fault], scheduled and the hooks' kills, by start
    latencies: list         # seconds of every 200 answer
    seconds: float          # the whole run, quiet period included
    final: str = ""         # the stored text at the end
    notes: list = dataclasses.field(default_factory=list)  # first bodies of 5xx other than 503, schedule errors

    @property
    def server_errors(self):
        """5xx answers other than 503 (there must be none)."""
        return self.statuses["500"] + self.statuses["other 5xx"]

    def faults_named(self, name):
        return [f for f in self.faults if f.name == name]

    def latency(self, q):
        """The ``q`` quantile (0..1) of the 200 answers' latency, by rank; None when there were none."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def problems(self, max_recovery=None):
        """What breaks the promise, in words; [] when the run kept it."""
        found = []
        if not self.converged:
            found.append("did not converge")
        if self.lost:
            found.append("%d acknowledged words lost: %s" % (len(self.lost), self.lost[:10]))
            for word in self.lost[:5]:  # where its pieces went, if anywhere
                code = word.rpartition("_")[2]
                at = self.final.find(code)
                found.append("  %s: %s" % (word, repr(self.final[max(0, at - 40):at + 20]) if at >= 0 else "nowhere"))
        if self.doubled:
            found.append("%d words doubled: %s" % (len(self.doubled), self.doubled[:10]))
        if self.server_errors:
            found.append("%d 5xx answers other than 503" % self.server_errors)
        for fault in self.faults:
            if fault.recovery is None or (max_recovery is not None and fault.recovery > max_recovery):
                found.append("slow or no recovery: " + fault.row())
        return found + ["note: " + n for n in self.notes]

    def ok(self, max_recovery=None):
        return not self.problems(max_recovery)

    def summary(self):
        s = self.statuses
        return ("%d clients, %d syncs (200: %d, 503: %d, 500: %d, other 5xx: %d, other: %d, transport errors: %d), "
                "%d typed, %d acknowledged, %d lost, %d doubled, %s, %d faults, %.1f s" % (
                    self.clients, self.syncs, s["200"], s["503"], s["500"], s["other 5xx"], s["other"],
                    s["transport"],
                    self.typed, self.acknowledged, len(self.lost), len(self.doubled),
                    "converged" if self.converged else "NOT converged", len(self.faults), self.seconds))


class _Traffic:
    """Every exchange of a run: (gateway, sent, done, status), times from the start."""

    def __init__(self, origin, timeout):
        self.origin, self.timeout = origin, timeout
        self.log = []
        self.notes = []

    def streak(self, gateway):
        """How many of the gateway's last answers were 200, in a row."""
        count = 0
        for g, _, _, status in reversed(self.log):
            if g == gateway:
                if status != "200":
                    break
                count += 1
                if count >= HEALTHY:
                    break
        return count

    def exchange(self, session, typist, gateway, url):
        """One sync; True when it was answered 200 (and the answer taken)."""
        text = typist.request()
        sent = time.monotonic() - self.origin
        try:
            response = session.post(url, data={"q": text}, timeout=self.timeout)
        except requests.RequestException:
            self.log.append((gateway, sent, time.monotonic() - self.origin, "transport"))
            return False  # as good as a lost reply: the edits stay on the client's stack
        done = time.monotonic() - self.origin
        code = response.status_code
        status = str(code) if str(code) in STATUSES else ("other 5xx" if code >= 500 else "other")
        self.log.append((gateway, sent, done, status))
        if code >= 500 and code != 503 and len(self.notes) < 5:
            self.notes.append("gateway %d answered %d: %s" % (gateway, code, response.text[:300]))
        if code != 200:
            return False
        typist.receive(response.text)
        return True


def run(services, clients=8, seconds=8.0, schedule=(), hooks=None, type_odds=0.5, pause=0.0, settle=1.0,
        min_kills=0, max_seconds=None, quiet_seconds=30.0, seed=0, trace="sveltecomponent", seed_chars=3000,
        timeout=15.0):
    """Type while ``schedule`` runs and the hooks kill with ``hooks`` odds
    (default: the ``Services``'), then sync quietly (at most
    ``quiet_seconds``) until everyone agrees; the ``Result``.

    Typing lasts ``seconds``, and longer if need be: until ``settle``
    seconds after the schedule's last fault has ended, and until the hooks
    have killed ``min_kills`` workers; never past ``max_seconds`` (default
    ``seconds`` + 120). Each client types (with ``type_odds``) before each
    sync, syncs with a random gateway, pauses ``pause`` seconds, and after
    an answer other than 200 waits 0.05-0.15 s, as a page backs off. The
    document starts as the first ``seed_chars`` characters of the trace's
    final text."""
    rng = random.Random(seed)
    vocabulary = trace_words(trace)
    doc = "faults-" + uuid.uuid4().hex[:10]
    typists = []
    for i in range(clients):
        typist_rng = random.Random(rng.random())
        typists.append(Typist("c%d" % i, doc, typist_rng, Words(vocabulary, i, typist_rng)))
    from bench import traces
    start_text = traces.load(trace).end[:seed_chars]
    typists[0].doc.text = start_text
    urls = services.urls()
    origin = time.monotonic()
    traffic = _Traffic(origin, timeout)

    # Everyone joins before the clock starts (bounded: the faults are disarmed),
    # the first with the text, the others at once.
    def join(typist):
        session = requests.Session()
        for attempt in range(20):
            if traffic.exchange(session, typist, attempt % len(urls), urls[attempt % len(urls)]):
                return
            time.sleep(0.1)

    join(typists[0])
    _each(join, typists[1:], timeout * 2)
    traffic.log.clear()

    origin = traffic.origin = time.monotonic()
    deadline = origin + (seconds + 120 if max_seconds is None else max(seconds, max_seconds))
    typing = threading.Event()
    typing.set()
    services.arm(hooks)
    errors, faults = [], []

    def user(typist):
        session = requests.Session()
        try:
            while typing.is_set():
                if typist.rng.random() < type_odds:
                    typist.type()
                gateway = typist.rng.randrange(len(urls))
                if not traffic.exchange(session, typist, gateway, urls[gateway]):
                    time.sleep(typist.rng.uniform(0.05, 0.15))
                elif pause:
                    time.sleep(pause)
        except Exception as exc:  # noqa: BLE001 - a thread's failure must fail the run, not vanish
            errors.append("%s: %r" % (typist.client.user, exc))

    def faulting():
        for at, name, fault in sorted(schedule, key=lambda entry: entry[0]):
            delay = origin + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            began = time.monotonic() - origin
            try:
                detail = fault(services) or ""
            except Exception as exc:  # noqa: BLE001 - reported with the result
                detail = "FAILED: %r" % exc
                errors.append("fault %s at %.1fs failed: %r" % (name, at, exc))
            faults.append(Fault(name, began, time.monotonic() - origin, detail))

    threads = [threading.Thread(target=user, args=(t,), daemon=True) for t in typists]
    scheduler = threading.Thread(target=faulting, daemon=True)
    for thread in [scheduler, *threads]:
        thread.start()
    scheduler.join(max(0.0, deadline - time.monotonic()))
    until = max(origin + seconds, time.monotonic() + settle)

    def kills():
        return sum(at >= origin for at, _, _ in services.hook_kills())

    while time.monotonic() < deadline and (time.monotonic() < until or kills() < min_kills):
        time.sleep(0.1)
    typing.clear()
    for thread in threads:
        thread.join(timeout + 5)
    if scheduler.is_alive() or any(t.is_alive() for t in threads):
        errors.append("a user or the schedule did not finish in time")

    # The quiet period: no faults, no typing; rounds of syncs until everyone agrees.
    services.disarm()
    converged = False
    quiet_end = time.monotonic() + quiet_seconds
    healthy = False

    def quiet_sync(typist):
        gateway = typist.rng.randrange(len(urls))
        if not traffic.exchange(sessions[typist.client.user], typist, gateway, urls[gateway]):
            time.sleep(0.05)

    def hook_faults():
        return [Fault(kind, at - origin, at - origin, "worker %d" % pid)
                for at, kind, pid in services.hook_kills() if at >= origin]

    def recovered():
        """Every fault so far, a kill in the last moments too, followed by 200s on every gateway."""
        so_far = faults + hook_faults()
        _recoveries(so_far, traffic.log, len(urls))
        return all(f.recovery is not None for f in so_far)

    sessions = {t.client.user: requests.Session() for t in typists}
    while time.monotonic() < quiet_end and not (converged and healthy):
        _each(quiet_sync, typists, timeout + 5)  # a round: everyone syncs once, at the same time
        converged = (len({t.doc.text for t in typists}) == 1 and not any(t.pending for t in typists)
                     and all(t.doc.acked == t.doc.client_version for t in typists))
        # Every gateway's last answers 200, so each fault's recovery can be measured.
        healthy = all(traffic.streak(g) >= HEALTHY for g in range(len(urls))) and recovered()
    final = services.read_text(doc)
    converged = converged and final == typists[0].doc.text
    if not converged:  # what each client was left holding, so that a failure explains itself
        errors.extend("client %s: client version %d, acknowledged %d, server version %d, delta ok %s, %d edits "
                      "unacknowledged, text %s the stored one (%d characters against %d)"
                      % (t.client.user, t.doc.client_version, t.doc.acked, t.doc.server_version, t.doc.delta_ok,
                         len(t.doc.edit_stack), "equal to" if t.doc.text == final else "NOT equal to",
                         len(t.doc.text), len(final or "")) for t in typists)

    faults = sorted(faults + hook_faults(), key=lambda f: f.started)
    _recoveries(faults, traffic.log, len(urls))

    words = collections.Counter((final or "").split())
    acknowledged = [token.strip() for t in typists for token in t.acknowledged()]
    typed = [token.strip() for t in typists for token, _ in t.sent] + [
        token.strip() for t in typists for token in t.pending]
    statuses = dict.fromkeys(STATUSES, 0)
    statuses.update(collections.Counter(status for *_, status in traffic.log))
    return Result(
        converged=converged, clients=clients, syncs=len(traffic.log), statuses=statuses,
        typed=sum(t.typed for t in typists), acknowledged=len(acknowledged),
        lost=[w for w in acknowledged if words[w] == 0], doubled=sorted(w for w in set(typed) if words[w] > 1),
        unacknowledged=sum(t.typed for t in typists) - len(acknowledged), faults=faults,
        latencies=[done - sent for _, sent, done, status in traffic.log if status == "200"],
        seconds=time.monotonic() - origin, final=final or "", notes=errors + traffic.notes)


def _each(work, items, timeout):
    """``work(item)`` for every item, in threads; returns within ``timeout`` seconds."""
    threads = [threading.Thread(target=work, args=(item,), daemon=True) for item in items]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _recoveries(faults, log, gateways):
    """Set each fault's recovery time from the exchanges (see the module docstring)."""
    by_gateway = []
    for gateway in range(gateways):
        sent = sorted((s, done, status == "200") for g, s, done, status in log if g == gateway)
        # healthy_from[i]: the answer time of the first request, from the i-th sent on, that
        # starts HEALTHY 200s in a row (or only 200s to the end); inf if none does.
        healthy_from, streak = [math.inf] * (len(sent) + 1), 0
        for i in range(len(sent) - 1, -1, -1):
            streak = streak + 1 if sent[i][2] else 0
            starts = sent[i][2] and (streak >= HEALTHY or streak == len(sent) - i)
            healthy_from[i] = sent[i][1] if starts else healthy_from[i + 1]
        by_gateway.append(([s for s, _, _ in sent], healthy_from))
    for fault in faults:
        firsts = [healthy_from[bisect.bisect_left(times, fault.ended)] for times, healthy_from in by_gateway]
        fault.recovery = None if math.inf in firsts else max(first - fault.ended for first in firsts)
