"""One test per response header zipserve sets."""

import calendar
import email.utils
import zipfile
import zlib

from zipserve_support import BIG_JS, CSS, DATE, MEMBERS, NO_EXT, PNG, SMALL_JS, make_app, sample_config

import zipserve
from zipserve import mime


def test_content_type_of_text_has_utf8_charset(client):
    assert client.get("/static/lib/a.js").headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert client.get("/static/lib/themes/claro.css").headers["Content-Type"] == "text/css; charset=utf-8"


def test_content_type_of_binary_has_no_charset(client):
    assert client.get("/static/lib/img.png").headers["Content-Type"] == "image/png"


def test_content_type_of_a_file_without_extension_is_text(client):
    assert client.get("/static/lib/zoneinfo/africa").headers["Content-Type"] == "text/plain; charset=utf-8"


def test_content_type_comes_from_our_table_not_the_hosts(monkeypatch):
    import mimetypes

    monkeypatch.setitem(mimetypes.types_map, ".js", "application/x-bogus")
    assert mime.content_type("x/y.js") == "text/javascript; charset=utf-8"
    assert mime.content_type("x/y.weird-thing") == "application/octet-stream"
    assert mime.content_type("x/.js") == "text/plain; charset=utf-8"  # a dot file has no extension


def test_content_length_is_the_identity_size(client):
    for name, (data, _) in MEMBERS.items():
        response = client.get(f"/static/lib/{name}")
        assert response.headers["Content-Length"] == str(len(data)), name
        assert response.data == data, name


def test_etag_is_the_members_crc_and_size(client):
    response = client.get("/static/lib/a.js")
    assert response.headers["ETag"] == f'"{zlib.crc32(SMALL_JS):08x}-{len(SMALL_JS):x}"'


def test_etag_differs_between_gzip_and_identity(client):
    plain = client.get("/static/lib/a.js").headers["ETag"]
    gzipped = client.get("/static/lib/a.js", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    assert plain != gzipped and gzipped.startswith(plain[:-1])


def test_last_modified_is_the_members_date(client):
    response = client.get("/static/lib/a.js")
    expected = email.utils.formatdate(calendar.timegm(DATE), usegmt=True)
    assert response.headers["Last-Modified"] == expected == "Thu, 04 Mar 2021 05:06:08 GMT"


def test_cache_control_max_age_is_configurable(sample_dir):
    client = make_app(sample_config(sample_dir, max_age=123)).test_client()
    assert client.get("/static/lib/a.js").headers["Cache-Control"] == "public, max-age=123"


def test_cache_control_default_from_environment(sample_dir, monkeypatch):
    monkeypatch.setenv("ZIPSERVE_DIR", str(sample_dir))
    monkeypatch.setenv("ZIPSERVE_ARCHIVES", "lib")
    monkeypatch.setenv("ZIPSERVE_MAX_AGE", "77")
    app = make_app(None)
    assert app.test_client().get("/static/lib/a.js").headers["Cache-Control"] == "public, max-age=77"


def test_versioned_prefix_is_immutable(app):
    client = app.test_client()
    server = app.extensions["zipserve"]
    url = "/static/" + server.versioned("lib/a.js")
    assert url.startswith("/static/v/") and len(server.version) == 12
    response = client.get(url)
    assert response.status_code == 200 and response.data == SMALL_JS
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_stale_version_is_served_but_not_immutable(client):
    response = client.get("/static/v/000000000000/lib/a.js")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_auto_version_changes_when_content_changes(sample_dir):
    before = zipserve.ZipServe(sample_config(sample_dir)).version
    from zipserve_support import write_zip

    changed = dict(MEMBERS, **{"a.js": (SMALL_JS + b"//\n", zipfile.ZIP_DEFLATED)})
    write_zip(sample_dir / "lib.zip", changed)
    after = zipserve.ZipServe(sample_config(sample_dir)).version
    assert before != after


def test_explicit_version_and_no_version(sample_dir):
    client = make_app(sample_config(sample_dir, version="rel42")).test_client()
    assert "immutable" in client.get("/static/v/rel42/lib/a.js").headers["Cache-Control"]
    client = make_app(sample_config(sample_dir, version="")).test_client()
    assert client.get("/static/v/rel42/lib/a.js").status_code == 404


def test_template_helper_gives_the_versioned_url(app):
    with app.test_request_context():
        rendered = app.jinja_env.from_string("{{ zipserve_url('lib/a.js') }}").render()
    version = app.extensions["zipserve"].version
    assert rendered == f"/static/v/{version}/lib/a.js"
    assert app.test_client().get(rendered).data == SMALL_JS


def test_cors_origin_defaults_to_star(client):
    assert client.get("/static/lib/a.js").headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/static/lib/missing.js").headers["Access-Control-Allow-Origin"] == "*"


def test_cors_origin_configurable_and_can_be_turned_off(sample_dir, monkeypatch):
    client = make_app(sample_config(sample_dir, cors_origin="https://example.org")).test_client()
    assert client.get("/static/lib/a.js").headers["Access-Control-Allow-Origin"] == "https://example.org"
    monkeypatch.setenv("ZIPSERVE_CORS_ORIGIN", "")
    monkeypatch.setenv("ZIPSERVE_DIR", str(sample_dir))
    monkeypatch.setenv("ZIPSERVE_ARCHIVES", "lib")
    client = make_app(None).test_client()
    assert "Access-Control-Allow-Origin" not in client.get("/static/lib/a.js").headers


def test_vary_only_when_a_gzip_representation_exists(client):
    assert client.get("/static/lib/a.js").headers["Vary"] == "Accept-Encoding"
    assert "Vary" not in client.get("/static/lib/img.png").headers
    assert "Vary" not in client.get("/static/lib/plain.js").headers


def test_accept_ranges_and_nosniff(client):
    headers = client.get("/static/lib/a.js").headers
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_head_has_the_get_headers_and_no_body(client):
    for name in ("a.js", "img.png", "big.js"):
        for accept in ("", "gzip"):
            get = client.get(f"/static/lib/{name}", headers={"Accept-Encoding": accept})
            head = client.head(f"/static/lib/{name}", headers={"Accept-Encoding": accept})
            assert head.status_code == 200 and head.data == b""
            assert dict(head.headers) == dict(get.headers)


def test_headers_are_computed_once_per_member(app):
    client = app.test_client()
    client.get("/static/lib/a.js")
    member = app.extensions["zipserve"].archives["lib"].get("a.js")
    prepared = member.cache
    assert prepared is not None
    client.get("/static/lib/a.js", headers={"Accept-Encoding": "gzip"})
    assert member.cache is prepared


def test_every_fixture_member_round_trips(client):
    for name, data in (("big.js", BIG_JS), ("img.png", PNG), ("zoneinfo/africa", NO_EXT),
                       ("themes/claro.css", CSS), ("empty.txt", b"")):
        assert client.get(f"/static/lib/{name}").data == data
