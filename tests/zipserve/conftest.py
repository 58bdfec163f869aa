"""Fixtures for zipserve: small zips made in temp folders, Flask apps and
real HTTP servers on free loopback ports (the real build is tests/conftest.py's).
Plain helpers and data live in zipserve_support.py."""

import shutil
import zipfile

import pytest
from zipserve_support import (MEMBERS, SECRET, LiveServer, make_app, sample_config,
                              write_zip)


@pytest.fixture(scope="session")
def _sample_template(tmp_path_factory):
    static = tmp_path_factory.mktemp("template") / "static"
    static.mkdir()
    write_zip(static / "lib.zip", MEMBERS)
    write_zip(static / "parts.zip", {"one.js": (b"one();\n", zipfile.ZIP_DEFLATED)})
    write_zip(static / "parts.1.zip", {"two.js": (b"two();\n", zipfile.ZIP_DEFLATED),
                                        "one.js": (b"shadowed();\n", zipfile.ZIP_DEFLATED)})
    write_zip(static / "stray.zip", {"stray.js": (b"stray();\n", zipfile.ZIP_DEFLATED)})
    (static / "secret.txt").write_bytes(SECRET)
    return static


@pytest.fixture
def sample_dir(tmp_path, _sample_template):
    """static/ with lib.zip, a split archive parts.zip + parts.1.zip, a zip
    nobody configured, and a secret file beside and above them."""
    static = tmp_path / "static"
    shutil.copytree(_sample_template, static)
    (tmp_path / "secret.txt").write_bytes(SECRET)
    return static


@pytest.fixture(params=[True, False], ids=["fast-path", "flask-route"])
def app(request, sample_dir):
    """The sample app, through both faces: ZipServe in front of Flask's
    wsgi_app (the default) and the blueprint's Flask route."""
    return make_app(sample_config(sample_dir, fast_path=request.param))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server():
    """Start servers with ``live_server(app)``; all are stopped afterwards."""
    started = []

    def start(app):
        server = LiveServer(app)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
