"""Methods, missing members, archives from configuration, and the two faces
(Flask blueprint and WSGI app/middleware)."""

import http.client
import zipfile

import pytest
from zipserve_support import SMALL_JS, make_app, sample_config, write_zip
from flask import Flask
from werkzeug.test import Client

import zipserve
from zipserve import ZipServe


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "BREW"])
def test_other_methods_are_405_with_allow(client, method):
    response = client.open("/static/lib/a.js", method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.data == b"Method not allowed\n"


def test_405_even_for_paths_that_do_not_exist(client):
    response = client.post("/static/nothing/here")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"


def test_405_over_a_real_socket_with_an_unknown_method(app, live_server):
    server = live_server(app)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("BREW", "/static/lib/a.js")
    response = conn.getresponse()
    assert response.status == 405 and response.getheader("Allow") == "GET, HEAD"
    assert response.read() == b"Method not allowed\n"


@pytest.mark.parametrize("path", [
    "/static/lib/missing.js", "/static/lib/themes", "/static/lib/themes/", "/static/lib",
    "/static/lib/", "/static/", "/static/nope/a.js", "/static/lib/A.JS", "/static/v/",
])
def test_missing_members_and_folders_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.data == b"Not found\n"


def test_only_configured_archives_are_served(client, sample_dir):
    assert (sample_dir / "stray.zip").exists()
    assert client.get("/static/stray/stray.js").status_code == 404


def test_archive_names_can_map_to_other_files(sample_dir):
    config = sample_config(sample_dir, archives=(("js", ("lib.zip",)),))
    client = make_app(config).test_client()
    assert client.get("/static/js/a.js").data == SMALL_JS
    assert client.get("/static/lib/a.js").status_code == 404


def test_archives_from_the_environment(sample_dir, monkeypatch):
    monkeypatch.setenv("ZIPSERVE_DIR", str(sample_dir))
    monkeypatch.setenv("ZIPSERVE_ARCHIVES", "js=lib.zip, parts")
    client = make_app(None).test_client()
    assert client.get("/static/js/a.js").data == SMALL_JS
    assert client.get("/static/parts/two.js").data == b"two();\n"


def test_split_archive_serves_members_of_every_part(client):
    assert client.get("/static/parts/one.js").data == b"one();\n"  # the first part wins
    assert client.get("/static/parts/two.js").data == b"two();\n"


def test_missing_zip_file_answers_404_not_500(tmp_path):
    client = make_app(sample_config(tmp_path, archives=(("lib", ()),))).test_client()
    assert client.get("/static/lib/a.js").status_code == 404


def test_corrupt_zip_file_answers_404_not_500(tmp_path):
    (tmp_path / "lib.zip").write_bytes(b"PK\x03\x04 this is not a zip")
    client = make_app(sample_config(tmp_path, archives=(("lib", ()),))).test_client()
    assert client.get("/static/lib/a.js").status_code == 404


def test_encrypted_or_other_methods_are_skipped(tmp_path):
    write_zip(tmp_path / "lib.zip", {"ok.js": (b"ok", zipfile.ZIP_DEFLATED),
                                     "bz.js": (b"bz" * 100, zipfile.ZIP_BZIP2)})
    client = make_app(sample_config(tmp_path, archives=(("lib", ()),))).test_client()
    assert client.get("/static/lib/ok.js").data == b"ok"
    assert client.get("/static/lib/bz.js").status_code == 404


def test_archive_is_opened_once_and_lazily(app):
    server = app.extensions["zipserve"]
    archive = server.archives["lib"]
    assert not archive.is_open
    client = app.test_client()
    client.get("/static/lib/a.js")
    index = archive.members()
    client.get("/static/lib/img.png")
    assert archive.members() is index


def test_blueprint_wins_over_flasks_own_static_route(tmp_path, sample_dir):
    static = tmp_path / "app" / "static"
    (static / "lib").mkdir(parents=True)
    (static / "lib" / "a.js").write_text("from the folder")
    flask_app = Flask("demo", root_path=str(tmp_path / "app"))
    assert flask_app.static_folder  # Flask's own /static/<path:filename> exists
    config = sample_config(sample_dir, fast_path=False)  # the route itself must win
    flask_app.register_blueprint(zipserve.create_blueprint(config), url_prefix="/static")
    assert flask_app.test_client().get("/static/lib/a.js").data == SMALL_JS


def test_relative_directory_is_taken_from_the_app_root(tmp_path, sample_dir):
    root = sample_dir.parent
    flask_app = Flask("demo", root_path=str(root))
    config = sample_config(sample_dir, directory="static")
    flask_app.register_blueprint(zipserve.create_blueprint(config), url_prefix="/static")
    assert flask_app.test_client().get("/static/lib/a.js").data == SMALL_JS


def test_other_routes_of_the_app_are_untouched(app):
    @app.route("/hello")
    def hello():
        return "hi"

    client = app.test_client()
    assert client.get("/hello").data == b"hi"
    assert client.post("/hello").status_code == 405  # Flask's, not ours


@pytest.mark.parametrize("fast", [True, False])
def test_fast_path_skips_flask_and_the_route_does_not(sample_dir, fast, monkeypatch):
    if not fast:
        monkeypatch.setenv("ZIPSERVE_FAST_PATH", "0")
    monkeypatch.setenv("ZIPSERVE_DIR", str(sample_dir))
    monkeypatch.setenv("ZIPSERVE_ARCHIVES", "lib")
    flask_app = make_app(None)
    seen = []
    flask_app.before_request(lambda: seen.append(1))
    client = flask_app.test_client()
    assert client.get("/static/lib/a.js").data == SMALL_JS
    assert client.get("/static//lib/a.js").status_code == 404
    assert len(seen) == (0 if fast else 2)
    with flask_app.test_request_context():
        assert flask_app.url_for("zipserve.member", subpath="lib/a.js") == "/static/lib/a.js"


def test_plain_wsgi_app(sample_dir):
    client = Client(ZipServe(sample_config(sample_dir)))
    response = client.get("/lib/a.js")
    assert response.status_code == 200 and response.data == SMALL_JS
    assert client.get("/lib/../lib/a.js").status_code == 404


def test_wsgi_middleware_passes_other_paths_on(sample_dir):
    def inner(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"inner:" + environ["PATH_INFO"].encode()]

    client = Client(ZipServe(sample_config(sample_dir), app=inner, prefix="/static/"))
    assert client.get("/static/lib/a.js").data == SMALL_JS
    assert client.get("/elsewhere").data == b"inner:/elsewhere"
    assert client.get("/static/lib/nope").status_code == 404


def test_config_rejects_bad_names():
    with pytest.raises(ValueError):
        zipserve.Config(archives=(("../x", ()),))
    with pytest.raises(ValueError):
        zipserve.Config(archives=(("v", ()),))
    with pytest.raises(ValueError):
        zipserve.Config(archives=(("a", ()), ("a", ())))


def test_archive_truncated_under_a_running_server_is_503_not_500(app, sample_dir):
    client = app.test_client()
    assert client.get("/static/lib/a.js").status_code == 200  # the index is built
    with open(sample_dir / "lib.zip", "r+b") as f:
        f.truncate(100)
    response = client.get("/static/lib/img.png")
    assert response.status_code == 503
    assert response.data == b"Archive unreadable; retry\n"
