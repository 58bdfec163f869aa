"""The Google Cloud CLI as App Engine's stand-in: its own YAML parsers (run by
the SDK's bundled Python, as `gcloud app deploy` runs them), the upload set
(`gcloud meta list-files-for-upload`), and `dev_appserver.py`."""

import contextlib
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from tools import devservers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=None)
def sdk_root():
    gcloud = shutil.which("gcloud")
    if not gcloud:
        raise RuntimeError("gcloud (the Google Cloud CLI) is not installed")
    out = subprocess.run([gcloud, "info", "--format=value(installation.sdk_root)"], check=True,
                         capture_output=True, text=True, timeout=120).stdout.strip()
    if not os.path.isdir(os.path.join(out, "lib", "googlecloudsdk")):
        raise RuntimeError("gcloud's SDK root has no lib/googlecloudsdk: %r" % out)
    return out


def bundled_python():
    path = os.path.join(sdk_root(), "platform", "bundledpythonunix", "bin", "python3")
    if not os.access(path, os.X_OK):
        raise RuntimeError("the SDK's bundled Python is missing: " + path)
    return path


def dev_appserver_script():
    for path in (os.path.join(sdk_root(), "bin", "dev_appserver.py"),
                 os.path.join(sdk_root(), "platform", "google_appengine", "dev_appserver.py")):
        if os.path.exists(path):
            return path
    raise RuntimeError("dev_appserver.py is not installed (gcloud component app-engine-python)")


def sdk_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(CLOUDSDK_PYTHON=bundled_python(), CLOUDSDK_CORE_DISABLE_PROMPTS="1", **extra)
    return env


# Runs inside the SDK's bundled Python. It parses each file with the classes
# `gcloud app deploy` uses (yaml_parsing.ServiceYamlInfo for a service's
# app.yaml, ConfigYamlInfo for cron/index/queue/dispatch) and prints one JSON
# object per file: ok or the error, gcloud's warnings, and what was parsed.
_VALIDATOR = r'''
import json, logging, sys
from googlecloudsdk.api_lib.app import yaml_parsing

class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []
    def emit(self, record):
        self.messages.append(record.getMessage())

collect = Collect()
logging.getLogger().addHandler(collect)
logging.getLogger().setLevel(logging.WARNING)

def describe_service(info):
    p = info.parsed
    scaling = p.automatic_scaling
    return {
        "kind": "service", "service": info.module, "runtime": info.runtime, "env": str(info.env),
        "entrypoint": p.entrypoint, "instance_class": p.instance_class,
        "env_variables": dict(p.env_variables or {}),
        "automatic_scaling": scaling.ToDict() if scaling else None,
        "basic_scaling": bool(p.basic_scaling), "manual_scaling": bool(p.manual_scaling),
        "handlers": [{k: v for k, v in h.ToDict().items()} for h in (p.handlers or [])],
    }

def describe_config(info):
    return {"kind": info.config, "parsed": info.parsed.ToDict()}

for path in sys.argv[1:]:
    del collect.messages[:]
    result = {"file": path}
    try:
        if path.endswith(("app.yaml", "app.yml")):
            result.update(describe_service(yaml_parsing.ServiceYamlInfo.FromFile(path)))
        else:
            info = yaml_parsing.ConfigYamlInfo.FromFile(path)
            if info is None:
                raise ValueError("gcloud does not know this kind of config file")
            result.update(describe_config(info))
        result["ok"] = True
    except Exception as e:  # report every failure as data; the test decides
        result.update(ok=False, error="%s: %s" % (type(e).__name__, e))
    result["warnings"] = list(collect.messages)
    print(json.dumps(result, default=str))
'''


def validate(paths):
    """gcloud's verdict on each YAML file, as a list of dicts (see _VALIDATOR)."""
    lib = os.path.join(sdk_root(), "lib")
    env = sdk_env(PYTHONPATH=os.pathsep.join([lib, os.path.join(lib, "third_party")]))
    proc = subprocess.run([bundled_python(), "-c", _VALIDATOR, *map(str, paths)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def static_handler_covering(handlers, relpath):
    """The first handler that would make ``relpath`` (relative to the app's
    root) a static file, which App Engine then keeps away from the app."""
    relpath = relpath.replace(os.sep, "/")
    for handler in handlers:
        static_dir = handler.get("static_dir")
        if static_dir is not None:
            folder = static_dir.strip("/")
            if folder in ("", ".") or relpath == folder or relpath.startswith(folder + "/"):
                return handler
        if handler.get("static_files") is not None:
            # appinfo: files whose path fully matches `upload` are static.
            if re.fullmatch(handler.get("upload") or "", relpath):
                return handler
    return None


def files_for_upload(root=ROOT):
    """What `gcloud app deploy` would upload from ``root`` (honours .gcloudignore)."""
    proc = subprocess.run([shutil.which("gcloud"), "meta", "list-files-for-upload", ".", "--quiet"],
                          cwd=root, env=sdk_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return sorted(line.strip() for line in proc.stdout.splitlines() if line.strip())


def stage_upload(files, dest, root=ROOT):
    """Lay out the upload set under ``dest`` as symlinks to the work tree, so
    a local run sees exactly the files a deploy would send."""
    for rel in files:
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.symlink(os.path.join(root, rel), target)


def _port_open(port):
    with contextlib.closing(socket.socket()) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def start_dev_appserver(app_yaml, env_vars, venv_dir, app_id="mobwrite-test", timeout=300):
    """dev_appserver.py under the SDK's bundled Python, every server on
    127.0.0.1 and a free port; ``env_vars`` reach the app through --env_var.

    dev_appserver builds a virtualenv from requirements.txt before it serves:
    ``venv_dir`` (--python_virtualenv_path) keeps it between runs, so later
    runs only confirm the requirements are satisfied."""
    port, admin_port, api_port = devservers.free_port(), devservers.free_port(), devservers.free_port()
    workdir = tempfile.mkdtemp(prefix="mobwrite-dev_appserver-")
    argv = [bundled_python(), dev_appserver_script(),
            "--host=127.0.0.1", "--port=%d" % port,
            "--admin_host=127.0.0.1", "--admin_port=%d" % admin_port,
            "--api_host=127.0.0.1", "--api_port=%d" % api_port,
            "--application=" + app_id,
            "--runtime_python_path=" + bundled_python(),
            "--python_virtualenv_path=" + venv_dir,
            # The app reaches Datastore itself through google-cloud-ndb; the
            # legacy bundled-API stubs are not used (and their emulator
            # bridge needs gRPC definitions this SDK does not ship).
            "--support_datastore_emulator=false",
            "--storage_path=" + os.path.join(workdir, "storage"),
            "--skip_sdk_update_check=true",
            "--automatic_restart=false",
            "--dev_appserver_log_level=info"]
    for key, value in env_vars.items():
        argv.append("--env_var=%s=%s" % (key, value))
    argv.append(str(app_yaml))
    env = sdk_env()
    for name in ("DATASTORE_EMULATOR_HOST", "DATASTORE_PROJECT_ID"):
        env.pop(name, None)  # only what --env_var passes reaches the app
    with open(os.path.join(workdir, "server.log"), "wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env, cwd=os.path.dirname(str(app_yaml)), start_new_session=True)
    server = devservers.Server("dev_appserver", process, "http://127.0.0.1:%d" % port, workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if _port_open(port):
            return server
        time.sleep(0.2)
    log_text = server.log()
    server.stop()
    raise RuntimeError("dev_appserver did not start: %s\n%s" % (" ".join(argv), log_text[-4000:]))


def python_version_of(python):
    return subprocess.run([python, "-c", "import sys; print('%d%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True).stdout.strip()


if __name__ == "__main__":  # python3 tests/appengine_support.py app.yaml cron.yaml index.yaml
    for item in validate(sys.argv[1:]):
        print(json.dumps(item, indent=1))
