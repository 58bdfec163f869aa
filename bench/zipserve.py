"""zipserve benchmark: requests per second and server CPU for Dojo files
served out of the zips, against WhiteNoise serving the same files unpacked
on disk, in one run on one gunicorn setup; and the CPU of a gzip response
against compressing on the fly.

    python -m bench.zipserve               # about 1 min 45 s on 2 cores
    python -m bench.zipserve --quick       # about 40 seconds
    python -m bench.zipserve --duration 8 --repeats 5

Section 1 (HTTP): gunicorn (1 worker, gthread, 4 threads, 127.0.0.1 on a
free port) serves one of three apps, and wrk (Debian's ``wrk``; a Python
client when it is missing) requests a mix of the files a Dijit page draws
on (dojo core and _base, dijit widgets, templates, nls, the claro theme's
CSS and images) round-robin, over 8 keep-alive connections:

- ``zipserve``        main.py's way: the blueprint registered on a Flask app,
                      which puts ZipServe in front of Flask's wsgi_app
- ``zipserve-route``  the same with ZIPSERVE_FAST_PATH=0: every request goes
                      through Flask's routing to the blueprint's view
- ``whitenoise``      WhiteNoise middleware in front of the same Flask app,
                      from the same files unpacked, with the .gz files
                      ``python -m whitenoise.compress`` makes

Mix ``gzip`` sends ``Accept-Encoding: gzip`` (a browser); ``identity``
sends none, so zipserve must inflate each deflated member. Every response is
checked against the files first. Server CPU is utime+stime of gunicorn's
master and worker from /proc over the window; repeats are interleaved and
figures are medians.

Section 1b (in process): the same three apps called as WSGI callables, no
server and no sockets, so only the serving code is timed: CPU µs per
request over the mix, median of 5 passes.

Section 2 (in process): for each deflated member of the mix, the CPU time
of zipserve's gzip body (header + stored deflate stream + trailer) against
``gzip.compress`` of the same member at level 6 (what on-the-fly
compressors default to) and at 9, and against WhiteNoise's route (reading a
precompressed .gz file).
"""

import argparse
import dataclasses
import gzip
import http.client
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

if __package__ in (None, ""):  # run as a file: the project root first (its zipserve, not this one)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flask import Flask  # noqa: E402  (after the path fix)

import zipserve  # noqa: E402
from bench.common import GATEWAY_PATH, ROOT, ensure_zips, session_cpu  # noqa: E402
from tools import devservers  # noqa: E402
from zipserve import Config, ZipServe, gzipwrap  # noqa: E402

ARCHIVES = ("dojo", "dijit", "dojox")
# What a Dijit page loads from: path prefixes (a trailing "*" means "files of
# that folder only", not its subfolders).
MIX_PREFIXES = (
    "dojo/*", "dojo/_base/", "dojo/selector/", "dojo/request/", "dojo/promise/",
    "dojo/errors/", "dojo/nls/*", "dojo/on/", "dojo/dnd/", "dojo/fx/",
    "dijit/*", "dijit/_base/", "dijit/form/*", "dijit/form/templates/", "dijit/form/nls/*",
    "dijit/layout/*", "dijit/layout/templates/", "dijit/templates/", "dijit/nls/*",
    "dijit/themes/dijit.css", "dijit/themes/claro/", "dijit/icons/",
)
SERVED_TYPES = (".js", ".html", ".css", ".png", ".gif")
APPS = ("zipserve", "zipserve-route", "whitenoise")


# ------------------------------------------------------------ the apps (gunicorn
# imports these by name; settings come from the environment it is given)

def _landing_app():
    """The Flask app each variant starts from. It answers the sync path too,
    with nothing: ``devservers.start_gunicorn`` takes a 200 there as the
    sign that gunicorn is serving (without it the start timed out)."""
    app = Flask("bench_zipserve")

    @app.route("/")
    def landing():
        return "ok\n"

    @app.route(GATEWAY_PATH)
    def ready():
        return ""

    return app


def zipserve_app():
    """main.py's way: the blueprint registered on a Flask app."""
    app = _landing_app()
    app.register_blueprint(zipserve.create_blueprint(), url_prefix="/static")
    return app


def zipserve_route_app():
    """The blueprint without its fast path: Flask routes every request."""
    app = _landing_app()
    config = dataclasses.replace(Config.from_env(), fast_path=False)
    app.register_blueprint(zipserve.create_blueprint(config), url_prefix="/static")
    return app


def whitenoise_app():
    """WhiteNoise in front of Flask, serving the unpacked files."""
    from whitenoise import WhiteNoise

    app = _landing_app()
    app.wsgi_app = WhiteNoise(app.wsgi_app, root=os.environ["BENCH_UNPACKED"], prefix="static/",
                              max_age=3600, autorefresh=False)
    return app


FACTORIES = {"zipserve": "zipserve_app()", "zipserve-route": "zipserve_route_app()",
             "whitenoise": "whitenoise_app()"}


# ------------------------------------------------------------ set-up

def in_mix(path):
    for prefix in MIX_PREFIXES:
        if prefix.endswith("*"):
            folder = prefix[:-1]
            if path.startswith(folder) and "/" not in path[len(folder):]:
                return True
        elif path.startswith(prefix):
            return True
    return False


def unpack(zips_dir, target):
    """The zips' members as plain files (what WhiteNoise serves) + .gz files."""
    for name in ARCHIVES:
        with zipfile.ZipFile(os.path.join(zips_dir, f"{name}.zip")) as zf:
            zf.extractall(os.path.join(target, name))
    subprocess.run([sys.executable, "-m", "whitenoise.compress", "--quiet", "--no-brotli", target],
                   check=True)


def mix_paths(zips_dir):
    paths = []
    for name in ARCHIVES:
        with zipfile.ZipFile(os.path.join(zips_dir, f"{name}.zip")) as zf:
            for member in zf.namelist():
                path = f"{name}/{member}"
                if in_mix(path) and path.endswith(SERVED_TYPES):
                    paths.append(path)
    return sorted(paths)


class Gunicorn:
    """``gunicorn bench.zipserve:<factory>`` on 127.0.0.1 (1 worker, gthread x4,
    long keep-alive), started by mobwrite.devservers like every test server."""

    def __init__(self, app, env):
        self.server = devservers.start_gunicorn(env, app="bench.zipserve:" + FACTORIES[app], workers=1,
                                                threads=4, root=ROOT, args=["--keep-alive", "30"])
        self.port = int(self.server.address.rsplit(":", 1)[1])

    def cpu(self):
        """CPU seconds of the gunicorn session (master and workers)."""
        return session_cpu(self.server.process.pid)

    def stop(self):
        self.server.stop()


def fetch(port, path, accept):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/static/" + path, headers={"Accept-Encoding": accept} if accept else {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    if response.getheader("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return response.status, body


def check(port, paths, unpacked, accept):
    """Every file of the mix comes back whole, or the figures mean nothing."""
    for path in paths:
        status, body = fetch(port, path, accept)
        with open(os.path.join(unpacked, path), "rb") as f:
            if status != 200 or body != f.read():
                raise SystemExit(f"bench: wrong answer for {path}: {status}")


# ------------------------------------------------------------ load

WRK_SCRIPT = """
local paths = {%s}
local headers = {%s}
local i = 0
init = function(args)
  i = math.random(#paths)
end
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], headers)
end
"""


def run_wrk(port, paths, accept, duration, script_dir):
    lua = os.path.join(script_dir, f"mix-{accept or 'identity'}.lua")
    with open(lua, "w") as f:
        f.write(WRK_SCRIPT % (", ".join(f'"/static/{p}"' for p in paths),
                              f'["Accept-Encoding"] = "{accept}"' if accept else ""))
    done = subprocess.run(["wrk", "-t1", "-c8", f"-d{duration}s", "--latency", "-s", lua,
                           f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True)
    requests = errors = 0
    for line in done.stdout.splitlines():
        words = line.split()
        if "requests in" in line:
            requests = int(words[0])
        elif line.strip().startswith(("Non-2xx", "Socket errors")):
            errors += 1
    if errors:
        raise SystemExit("bench: wrk saw errors:\n" + done.stdout)
    return requests


def _python_client(args):
    port, paths, accept, until, offset = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Accept-Encoding": accept} if accept else {}
    n, i = 0, offset
    while time.monotonic() < until:
        conn.request("GET", "/static/" + paths[i % len(paths)], headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"bench: status {response.status}")
        n, i = n + 1, i + 1
    return n


def run_python_client(port, paths, accept, duration):
    until = time.monotonic() + duration
    with multiprocessing.Pool(4) as pool:
        return sum(pool.map(_python_client, [(port, paths, accept, until, k * 97) for k in range(4)]))


def measure(server, paths, accept, duration, script_dir):
    cpu0, t0 = server.cpu(), time.monotonic()
    if shutil.which("wrk"):
        requests = run_wrk(server.port, paths, accept, duration, script_dir)
    else:
        requests = run_python_client(server.port, paths, accept, duration)
    elapsed, cpu = time.monotonic() - t0, server.cpu() - cpu0
    return requests / elapsed, cpu / max(requests, 1) * 1e6


# ------------------------------------------------------------ section 2

def cpu_per_response(fn, items, passes=5):
    """Median over ``passes`` of the CPU seconds per fn(item), each pass
    calling fn once for every item."""
    samples = []
    for _ in range(passes):
        t = time.process_time()
        for item in items:
            fn(item)
        samples.append((time.process_time() - t) / len(items))
    return statistics.median(samples)


def wsgi_cpu(env, paths, accept):
    """CPU µs per request of each app called directly (no HTTP server)."""
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        apps = {"zipserve": zipserve_app(), "zipserve-route": zipserve_route_app(),
                "whitenoise": whitenoise_app()}
    finally:
        os.environ.clear()
        os.environ.update(saved)
    environs = []
    for path in paths:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/static/" + path, "SCRIPT_NAME": "",
                   "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80",
                   "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http",
                   "wsgi.input": None, "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                   "wsgi.multiprocess": False, "wsgi.run_once": False}
        if accept:
            environ["HTTP_ACCEPT_ENCODING"] = accept
        environs.append(environ)

    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise SystemExit(f"bench: {status}")

    figures = {}
    for name, app in apps.items():
        def call(environ, app=app):
            body = app(dict(environ), start_response)
            for _ in body:
                pass
            if hasattr(body, "close"):
                body.close()

        for environ in environs:  # warm: open archives, build headers, fill caches
            call(environ)
        figures[name] = cpu_per_response(call, environs) * 1e6
    return figures


def gzip_cpu(zips_dir, paths, unpacked):
    """(member count, median size, µs per response of each way to send gzip)."""
    server = ZipServe(Config(directory=zips_dir, archives=tuple((a, ()) for a in ARCHIVES)))
    members, datas, gz_files = [], [], []
    for path in paths:
        archive, _, name = path.partition("/")
        member = server.archives[archive].get(name)
        gz_file = os.path.join(unpacked, path + ".gz")
        if member is None or not gzipwrap.can_wrap(member) or not os.path.exists(gz_file):
            continue
        members.append(member)
        with open(os.path.join(unpacked, path), "rb") as f:
            datas.append(f.read())
        gz_files.append(gz_file)

    def read_file(p):
        with open(p, "rb") as f:
            return f.read()

    figures = {
        "zipserve": cpu_per_response(lambda m: b"".join(gzipwrap.body(m)), members),
        "level6": cpu_per_response(lambda d: gzip.compress(d, 6), datas),
        "level9": cpu_per_response(lambda d: gzip.compress(d, 9), datas),
        "gzfile": cpu_per_response(read_file, gz_files),
    }
    server.close()
    return len(members), statistics.median(map(len, datas)), figures


# ------------------------------------------------------------ main

def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.zipserve", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, help="seconds per HTTP window (default 4; quick 2)")
    parser.add_argument("--repeats", type=int, help="interleaved windows per app and mix (default 3; quick 2)")
    parser.add_argument("--quick", action="store_true", help="2 s windows, 2 repeats, gzip mix only")
    parser.add_argument("--zips", default=os.environ.get("ZIPSERVE_DIR") or os.path.join(ROOT, "static_build"))
    args = parser.parse_args(argv)
    mixes = ("gzip",) if args.quick else ("gzip", "identity")
    args.duration = args.duration or (2 if args.quick else 4)
    args.repeats = args.repeats or (2 if args.quick else 3)
    zips_dir = os.path.abspath(args.zips)
    ensure_zips(zips_dir)

    with tempfile.TemporaryDirectory(prefix="bench-zipserve-") as tmp:
        unpacked = os.path.join(tmp, "static")
        unpack(zips_dir, unpacked)
        paths = mix_paths(zips_dir)
        sizes = [os.path.getsize(os.path.join(unpacked, p)) for p in paths]
        print(f"mix: {len(paths)} files from dojo/dijit (js, html, css, png, gif), "
              f"median {statistics.median(sizes) / 1024:.1f} KiB, total {sum(sizes) / 1e6:.1f} MB")
        print(f"load: {'wrk -t1 -c8' if shutil.which('wrk') else 'python, 4 processes'}; "
              f"gunicorn 1 worker gthread x4; {args.repeats} x {args.duration} s per cell, "
              f"interleaved; {os.cpu_count()} cores\n")

        env = dict(os.environ, ZIPSERVE_DIR=zips_dir, ZIPSERVE_ARCHIVES=" ".join(ARCHIVES),
                   BENCH_UNPACKED=unpacked, PYTHONPATH=ROOT)
        results = {(app, mix): [] for app in APPS for mix in mixes}
        for repeat in range(args.repeats):
            for app in APPS:
                server = Gunicorn(app, env)
                try:
                    for n, mix in enumerate(mixes):
                        accept = "gzip" if mix == "gzip" else ""
                        if repeat == 0:
                            check(server.port, paths, unpacked, accept)
                        if n == 0:
                            measure(server, paths, accept, 1, tmp)  # warm the new worker
                        results[(app, mix)].append(measure(server, paths, accept, args.duration, tmp))
                finally:
                    server.stop()

        print("Section 1: HTTP through gunicorn (medians)")
        line = "{:<8} {:<15} {:>10} {:>12} {:>14} {:>14}"
        print(line.format("mix", "app", "req/s", "srv µs/req", "req/s ×WN", "CPU/req ×WN"))
        for mix in mixes:
            base_rps = statistics.median(r for r, _ in results[("whitenoise", mix)])
            base_cpu = statistics.median(c for _, c in results[("whitenoise", mix)])
            for app in APPS:
                rps = statistics.median(r for r, _ in results[(app, mix)])
                cpu = statistics.median(c for _, c in results[(app, mix)])
                print(line.format(mix, app, f"{rps:,.0f}", f"{cpu:,.0f}",
                                  f"{rps / base_rps:.2f}", f"{cpu / base_cpu:.2f}"))

        print("\nSection 1b: the same apps as WSGI callables in process, CPU µs per request "
              "(medians of 5 passes)")
        line = "{:<8} {:<15} {:>10} {:>8}"
        print(line.format("mix", "app", "µs/req", "×WN"))
        for mix in mixes:
            figures = wsgi_cpu(env, paths, "gzip" if mix == "gzip" else "")
            for app in APPS:
                print(line.format(mix, app, f"{figures[app]:.1f}",
                                  f"{figures[app] / figures['whitenoise']:.2f}"))

        print("\nSection 2: CPU per gzip response, in process (medians over the mix's "
              "deflated members)")
        count, median_size, fig = gzip_cpu(zips_dir, paths, unpacked)
        ours = fig["zipserve"]
        print(f"members: {count} deflated members of the mix, median {median_size / 1024:.1f} KiB")
        print(f"  zipserve gzip body (no compression)   {ours * 1e6:8.1f} µs")
        for key, label in (("level6", "gzip.compress level 6 (on the fly)  "),
                           ("level9", "gzip.compress level 9               "),
                           ("gzfile", "read a precompressed .gz (WhiteNoise)")):
            print(f"  {label} {fig[key] * 1e6:8.1f} µs   {fig[key] / ours:6.1f}x zipserve")
    return 0


if __name__ == "__main__":
    sys.exit(main())
