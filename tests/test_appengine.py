"""App Engine readiness, short of `gcloud app deploy` itself:

- app.yaml, cron.yaml and index.yaml pass gcloud's own parser (offline, the
  SDK's bundled Python), which also rejects broken copies of them;
- no static handler covers the zips;
- the upload set (`gcloud meta list-files-for-upload`) is small, has the
  zips, and leaves out node_modules, static_src, tests and bench;
- the app runs under the SDK's dev_appserver.py against the Datastore
  emulator: two clients converge through it, Dojo comes out of the zips, and
  the cron URL answers App Engine's cron only.
"""

import os
import random
import re
import subprocess
import threading
import time
import uuid
import zipfile

import pytest
import requests

import appengine_support as gae
from mobwrite import wiring
from mobwrite.config import Settings
from simulation import Typist, assert_converged

ROOT = gae.ROOT
CONFIGS = ["app.yaml", "cron.yaml", "index.yaml"]
ZIPS = sorted(name for name in os.listdir(os.path.join(ROOT, "static_build")) if name.endswith(".zip")) \
    if os.path.isdir(os.path.join(ROOT, "static_build")) else []


def _read(name):
    with open(os.path.join(ROOT, name)) as f:
        return f.read()


@pytest.fixture(scope="module")
def parsed():
    results = gae.validate([os.path.join(ROOT, name) for name in CONFIGS])
    return {os.path.basename(r["file"]): r for r in results}


# --- gcloud's parser ---------------------------------------------------------

def test_gcloud_accepts_the_configs_without_warnings(parsed):
    assert sorted(parsed) == sorted(CONFIGS)
    for name, result in parsed.items():
        assert result["ok"], (name, result.get("error"))
        assert result["warnings"] == [], (name, result["warnings"])
    app = parsed["app.yaml"]
    assert app["runtime"] in ("python312", "python313")
    assert app["env"].endswith("STANDARD")
    assert app["service"] == "default"


def test_app_yaml_runs_gunicorn_sized_for_its_instance_class(parsed):
    app = parsed["app.yaml"]
    entry = app["entrypoint"].split()
    assert "gunicorn" in entry and entry[-1] == "main:app", entry
    assert entry[entry.index("-b") + 1] == ":$PORT"  # App Engine sends traffic to $PORT
    workers = int(entry[entry.index("-w") + 1])
    # gevent (issue 11): a held push wait is a greenlet, so the instance's
    # concurrency is its workers' connections, not threads.
    assert entry[entry.index("-k") + 1] == "gevent" and "--threads" not in entry
    connections = int(entry[entry.index("--worker-connections") + 1])
    assert app["instance_class"].startswith("F")  # automatic scaling needs an F class
    scaling = app["automatic_scaling"]
    assert scaling and not app["basic_scaling"] and not app["manual_scaling"]
    assert int(scaling["max_instances"]) > 0
    # App Engine should start another instance rather than queue in gunicorn.
    assert int(scaling["max_concurrent_requests"]) == workers * connections <= 1000  # App Engine's maximum
    assert re.search(r"^gunicorn==", _read("requirements.txt"), re.M)  # an entrypoint's server is ours to install
    env = app["env_variables"]
    assert env.get("MOBWRITE_STORE") == "datastore"
    # Held waits leave connections free for the syncs they wake.
    assert 0 < int(env["MOBWRITE_PUSH_WAITERS"]) < connections
    assert re.search(r"^gevent==", _read("requirements.txt"), re.M)
    # Test-only settings never ship.
    assert not {"DATASTORE_EMULATOR_HOST", "MOBWRITE_ADMIN_TOKEN"} & set(env)


def test_pip_install_e_installs_what_app_engine_installs():
    # The quick start installs pyproject.toml's dependencies, App Engine
    # requirements.txt: one pin missing from either, and `python3 main.py`
    # (gevent by default) or the deployed app fails to start.
    import tomllib
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        declared = tomllib.load(f)["project"]["dependencies"]
    pinned = [line.strip() for line in _read("requirements.txt").splitlines()
              if line.strip() and not line.lstrip().startswith("#")]
    assert sorted(declared) == sorted(pinned)


def test_cron_runs_cleanup_and_index_yaml_parses(parsed):
    jobs = parsed["cron.yaml"]["parsed"]["cron"]
    assert [job["url"] for job in jobs] == ["/cron/cleanup"]
    assert re.fullmatch(r"every \d+ (minutes|hours)", jobs[0]["schedule"])
    assert isinstance(parsed["index.yaml"]["parsed"]["indexes"], list)


BROKEN = [
    # (file, how the real file is broken, what gcloud must say)
    ("app.yaml", lambda s: s + "\nentry_point: gunicorn main:app\n", "entry_point"),
    ("app.yaml", lambda s: s + "\napplication: mobwrite\n", "application"),
    ("app.yaml", lambda s: re.sub(r"(?m)^runtime: .*$", "runtime: python", s), "python"),
    ("app.yaml", lambda s: s.replace("  script: auto\n", "  script: auto\n  static_dir: static_build\n"), ""),
    ("app.yaml", lambda s: s.replace("automatic_scaling:", "automatic_scaling:\n  max_instances: many\n", 1), ""),
    # (gcloud leaves a schedule's syntax to the server under Python 3, hence
    # the regex in test_cron_runs_cleanup_and_index_yaml_parses)
    ("cron.yaml", lambda s: re.sub(r"(?m)^  url: .*\n", "", s), "url"),
    ("index.yaml", lambda s: "indexes:\n- kind: Text\n  properties:\n  - name: updated\n    direction: sideways\n",
     "direction"),
]


def test_gcloud_rejects_broken_copies(tmp_path):
    """The negative control: the same validator fails on broken configs."""
    paths = []
    for i, (name, breaker, _) in enumerate(BROKEN):
        folder = tmp_path / str(i)
        folder.mkdir()
        broken = breaker(_read(name))
        assert broken != _read(name)
        (folder / name).write_text(broken)
        paths.append(folder / name)
    results = gae.validate(paths)
    assert len(results) == len(BROKEN)
    for (name, _, word), result in zip(BROKEN, results):
        assert not result["ok"], (name, result)
        assert word.lower() in result["error"].lower(), result["error"]


def test_gcloud_warnings_are_seen(tmp_path):
    """The no-warnings check can fail: without max_instances gcloud warns."""
    (tmp_path / "app.yaml").write_text(re.sub(r"(?m)^  max_instances: .*\n", "", _read("app.yaml")))
    [result] = gae.validate([tmp_path / "app.yaml"])
    assert result["ok"] and result["warnings"], result


# --- static handlers and the zips --------------------------------------------

def test_no_static_handler_covers_the_zips(parsed):
    assert ZIPS, "static_build/ has no zips: run bash build_zips.sh"
    handlers = parsed["app.yaml"]["handlers"]
    for name in ZIPS:
        assert gae.static_handler_covering(handlers, "static_build/" + name) is None, name


@pytest.mark.parametrize("handler, covers", [
    ({"url": "/static", "static_dir": "static_build"}, True),
    ({"url": "/s", "static_dir": "./"}, True),
    ({"url": r"/(.*\.zip)", "static_files": r"static_build/\1", "upload": r"static_build/.*\.zip"}, True),
    ({"url": "/favicon.ico", "static_files": "static_src/favicon.ico", "upload": "static_src/favicon.ico"}, False),
    ({"url": "/src", "static_dir": "static_src"}, False),
    ({"url": "/.*", "script": "auto"}, False),
])
def test_static_handler_check_can_fail(handler, covers):
    assert (gae.static_handler_covering([handler], "static_build/dojo.zip") is not None) is covers


# --- what goes up ------------------------------------------------------------

LEFT_BEHIND = ("node_modules/", "static_src/", "tests/", "bench/", "instance/", ".git/", ".ci/")


def test_upload_set_is_small_and_has_the_zips(record_property):
    files = gae.files_for_upload()
    uploaded = set(files)
    assert ZIPS and {"static_build/" + name for name in ZIPS} <= uploaded
    assert {"app.yaml", "main.py", "requirements.txt"} <= uploaded
    tracked = subprocess.run(["git", "ls-files", "--", "main.py", "mobwrite", "zipserve"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split()
    missing = [f for f in tracked if f.endswith(".py") and os.path.exists(os.path.join(ROOT, f)) and f not in uploaded]
    assert not missing, missing
    stray = [f for f in files if f.startswith(LEFT_BEHIND) or "/node_modules/" in f
             or "__pycache__" in f or f.endswith(".pyc")]
    assert not stray, stray[:20]
    members = 0
    for name in ZIPS:
        with zipfile.ZipFile(os.path.join(ROOT, "static_build", name)) as archive:
            members += len(archive.namelist())
    record_property("upload_files", len(files))
    record_property("zip_members", members)
    print("\nupload set: %d files (%d of them zips holding %d files)" % (len(files), len(ZIPS), members))
    assert len(files) < 2000, len(files)
    assert members > len(files)  # the point of the zips


# --- dev_appserver.py --------------------------------------------------------

@pytest.fixture(scope="module")
def local_app_yaml(tmp_path_factory):
    """The upload set staged in a folder of its own, with app.yaml's bind
    changed from all interfaces (``-b :$PORT``, which App Engine requires) to
    127.0.0.1 — the only difference, checked below."""
    folder = tmp_path_factory.mktemp("gae-app")
    gae.stage_upload([f for f in gae.files_for_upload() if f != "app.yaml"], str(folder))
    text, count = re.subn(r"-b :\$PORT(?=\s)", "-b 127.0.0.1:$PORT", _read("app.yaml"))
    assert count == 1
    (folder / "app.yaml").write_text(text)
    return folder / "app.yaml"


@pytest.fixture(scope="module")
def dev_appserver(local_app_yaml, datastore_emulator, request, tmp_path_factory):
    cache = getattr(request.config, "cache", None)  # pytest's cache dir keeps the venv between runs
    venv = cache.mkdir("dev_appserver_venv") if cache else tmp_path_factory.mktemp("venv")
    started = time.monotonic()
    server = gae.start_dev_appserver(local_app_yaml, {
        "DATASTORE_EMULATOR_HOST": datastore_emulator.address,
        "DATASTORE_PROJECT_ID": "mobwrite-test",
    }, str(venv))
    server.startup_seconds = time.monotonic() - started
    yield server
    server.stop()


def test_local_app_yaml_differs_only_in_the_bind(local_app_yaml, parsed):
    [local] = gae.validate([local_app_yaml])
    assert local["ok"], local
    real = dict(parsed["app.yaml"], file=None)
    local = dict(local, file=None)
    assert local.pop("entrypoint") == real.pop("entrypoint").replace("-b :$PORT", "-b 127.0.0.1:$PORT")
    assert local == real


def _checked(response, server):
    assert response.status_code == 200, (response.status_code, response.text[:500], server.log()[-3000:])
    return response


def test_two_clients_converge_through_dev_appserver(dev_appserver, record_property):
    started = time.monotonic()
    url = dev_appserver.address + "/scripts/q.py"
    doc = "gae-" + uuid.uuid4().hex[:8]
    typists = [Typist("gae%d" % i, doc, random.Random(40 + i)) for i in range(2)]
    busy = []

    def exchange(session, typist):
        response = session.post(url, data={"q": typist.request()}, timeout=60)
        if response.status_code == 503:  # contention after retries: the client retries later
            busy.append(response.text)
            return
        typist.receive(_checked(response, dev_appserver).text)

    def user(typist):
        session = requests.Session()
        for _ in range(25):
            if typist.rng.random() < 0.6:
                typist.type()
            exchange(session, typist)

    threads = [threading.Thread(target=user, args=(t,)) for t in typists]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    session = requests.Session()
    for _ in range(10):  # idle polls until both hold the same text
        for typist in typists:
            exchange(session, typist)
        if len({t.doc.text for t in typists}) == 1 and not any(t.pending for t in typists):
            break
    master = wiring.open_store(Settings(store="datastore", project="mobwrite-test")).read([], [doc])[1][doc]
    acknowledged = assert_converged(typists, master, dev_appserver.log().splitlines()[-50:])
    assert len(acknowledged) == sum(t.typed for t in typists) > 0
    record_property("dev_appserver_startup_s", round(dev_appserver.startup_seconds, 1))
    record_property("sync_s", round(time.monotonic() - started, 1))
    print("\ndev_appserver: started in %.1f s; 2 clients converged on %d characters (%d edits, %d busy) in %.1f s"
          % (dev_appserver.startup_seconds, len(master), len(acknowledged), len(busy), time.monotonic() - started))


def test_dojo_from_the_zips_through_dev_appserver(dev_appserver):
    with zipfile.ZipFile(os.path.join(ROOT, "static_build", "dojo.zip")) as archive:
        expected = archive.read("dojo.js")
    response = _checked(requests.get(dev_appserver.address + "/static/dojo/dojo.js",
                                     headers={"Accept-Encoding": "identity"}, timeout=60), dev_appserver)
    assert response.content == expected
    assert response.headers["Content-Type"].startswith(("application/javascript", "text/javascript"))
    assert response.headers.get("Access-Control-Allow-Origin") == "*"
    # App Engine's front end removes Accept-Encoding from requests (and
    # compresses for the client itself); dev_appserver does the same, so the
    # app answers with the member as stored, never gzip it cannot know of.
    gzipped = _checked(requests.get(dev_appserver.address + "/static/dojo/dojo.js",
                                    headers={"Accept-Encoding": "gzip"}, timeout=60), dev_appserver)
    assert gzipped.headers.get("Content-Encoding") is None
    assert gzipped.content == expected
    missing = requests.get(dev_appserver.address + "/static/dojo/no-such-file.js", timeout=60)
    assert missing.status_code == 404


def test_cron_url_answers_app_engine_cron_only(dev_appserver):
    url = dev_appserver.address + "/cron/cleanup"
    assert requests.get(url, timeout=60).status_code == 403
    response = _checked(requests.get(url, headers={"X-Appengine-Cron": "true"}, timeout=60), dev_appserver)
    assert "views=" in response.text, response.text
