"""Start real local copies of the components (Datastore emulator, Redis,
memcached, gunicorn) on free loopback ports, for tests and benchmarks.

Each ``start_*`` returns a ``Server`` whose ``stop()`` ends the process
group; nothing here is used by the service itself.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port():
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, name, process, address, workdir=None):
        self.name, self.process, self.address, self.workdir = name, process, address, workdir

    def stop(self, timeout=10):
        """SIGTERM the process group; SIGKILL it if the leader is still
        there ``timeout`` seconds later. True: it exited by itself."""
        clean = True
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                clean = False
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return clean

    def stop_and_wait(self, timeout=60):
        """``stop()``, then wait until every process of the group has exited:
        the wrapper (gcloud) exits first, while the emulator's JVM may still
        be writing its data and holding the port. True: all exited by
        themselves within ``timeout`` seconds; False: the rest was killed."""
        deadline = time.monotonic() + timeout
        clean = self.stop(timeout)
        while clean and time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        return False

    def log(self):
        path = os.path.join(self.workdir or "", "server.log")
        return open(path, errors="replace").read() if self.workdir and os.path.exists(path) else ""


def start(name, argv, ready, env=None, timeout=60, cwd=None):
    """Run argv until ``ready(server)`` holds; its output goes to server.log."""
    workdir = tempfile.mkdtemp(prefix="mobwrite-%s-" % name)
    argv = [a.replace("{workdir}", workdir) for a in argv]
    with open(os.path.join(workdir, "server.log"), "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, cwd=cwd, start_new_session=True)
    server = Server(name, process, None, workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if ready(server):
            return server
        time.sleep(0.1)
    output = server.log()[-3000:]  # before stop(), which deletes the work folder
    server.stop()
    raise RuntimeError("%s did not start: %s\n%s" % (name, " ".join(argv), output))


def port_open(port):
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url, expect=None):
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return expect is None or expect in response.read().decode(errors="replace")
    except OSError:
        return False


def start_datastore_emulator(project="mobwrite-test", port=None, data_dir=None):
    """The official Cloud Datastore emulator, in memory, strongly consistent.

    With ``data_dir`` it keeps its entities in that folder instead: its JVM
    writes them out when stopped by SIGTERM or SIGINT (about 2 s after a
    gcloud wrapper has exited: see ``Server.stop_and_wait``), so a restart
    on the same ``port`` finds them again. That one is started by the SDK's
    own launcher where it is found, 2-3 s sooner than through gcloud."""
    port = port or free_port()
    gcloud = shutil.which("gcloud")
    if not gcloud:
        raise RuntimeError("gcloud (Google Cloud CLI with the Datastore emulator) is not installed")
    launcher = _emulator_launcher(gcloud)
    if data_dir and launcher:
        if not os.path.isdir(os.path.join(data_dir, "WEB-INF")):
            subprocess.run([launcher, "create", data_dir], check=True, timeout=120,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        argv = [launcher, "start", "--host=127.0.0.1", "--port=%d" % port, "--store_on_disk=true",
                "--consistency=1.0", data_dir]
    else:
        storage = ["--store-on-disk", "--data-dir=" + data_dir] if data_dir else ["--no-store-on-disk",
                                                                                 "--data-dir={workdir}/data"]
        argv = [gcloud, "beta", "emulators", "datastore", "start", "--host-port=127.0.0.1:%d" % port, *storage,
                "--consistency=1.0", "--project=" + project, "--quiet"]
    server = start("datastore", argv, lambda _: http_ok("http://127.0.0.1:%d/" % port, "Ok"), timeout=90)
    server.address = "127.0.0.1:%d" % port
    return server


def _emulator_launcher(gcloud):
    """The emulator's launcher script inside the Cloud SDK that ``gcloud`` belongs to, or None."""
    root = os.path.dirname(os.path.dirname(os.path.realpath(gcloud)))
    path = os.path.join(root, "platform", "cloud-datastore-emulator", "cloud_datastore_emulator")
    return path if os.access(path, os.X_OK) else None


def start_redis(port=None):
    """``port``: a fixed one, to start it again where its clients look."""
    port = port or free_port()
    server = start("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                              "--appendonly", "no", "--dir", "{workdir}"], lambda _: port_open(port))
    server.address = "redis://127.0.0.1:%d/0" % port
    return server


def start_memcached(port=None):
    port = port or free_port()
    argv = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", "64"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]
    server = start("memcached", argv, lambda _: port_open(port))
    server.address = "127.0.0.1:%d" % port
    return server


def start_gunicorn(env, app="main:app", workers=2, threads=1, root=None, args=()):
    """The real HTTP stack: gunicorn serving ``app`` with ``env`` added (and
    any further gunicorn ``args``).

    gunicorn binds port 0 itself and we read the port from its log: picking a
    free port first and handing it over leaves a window in which another
    process can take it, and the readiness check would then talk to that one.
    """
    root = root or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    full_env = {**os.environ, **env}
    found = {}

    def ready(server):
        match = _LISTENING.search(server.log())
        if match:
            found["port"] = int(match.group(1))
        return bool(match) and http_ok("http://127.0.0.1:%d/scripts/q.py?q=" % found["port"])

    server = start("gunicorn", [sys.executable, "-m", "gunicorn", "-b", "127.0.0.1:0",
                                 "-w", str(workers), "--threads", str(threads), "--log-level", "info",
                                 "--no-control-socket",  # one shared ~/.gunicorn socket for every test server otherwise
                                 *args, app], ready, env=full_env, cwd=root)
    server.address = "http://127.0.0.1:%d" % found["port"]
    return server


_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
