"""Range requests: 206 for one satisfiable range, 416 when unsatisfiable."""

import pytest
from zipserve_support import BIG_JS, PNG, SMALL_JS

from zipserve import bodies


@pytest.mark.parametrize("name,data", [("a.js", SMALL_JS), ("img.png", PNG), ("big.js", BIG_JS),
                                       ("plain.js", SMALL_JS)])
@pytest.mark.parametrize("spec,start,end", [
    ("bytes=0-0", 0, 1),
    ("bytes=10-99", 10, 100),
    ("bytes=100-", 100, None),
    ("bytes=-50", -50, None),
    ("bytes=5-99999999", 5, None),
])
def test_range_206(client, name, data, spec, start, end):
    response = client.get(f"/static/lib/{name}", headers={"Range": spec, "Accept-Encoding": "gzip"})
    expected = data[start:end]
    assert response.status_code == 206
    assert response.data == expected
    first = start if start >= 0 else len(data) + start
    assert response.headers["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{len(data)}"
    assert response.headers["Content-Length"] == str(len(expected))
    assert "Content-Encoding" not in response.headers  # ranges address the identity bytes


def test_range_deep_inside_a_large_deflated_member(client):
    start = len(BIG_JS) - 200_000
    response = client.get("/static/lib/big.js", headers={"Range": f"bytes={start}-{start + 150_000}"})
    assert response.status_code == 206 and response.data == BIG_JS[start:start + 150_001]


def test_large_ranges_stream_in_bounded_pieces(app):
    member = app.extensions["zipserve"].archives["lib"].get("big.js")
    pieces = list(bodies.identity(member, 1000, len(BIG_JS) - 1000))
    assert len(pieces) > 3 and max(map(len, pieces)) <= bodies.CHUNK
    assert b"".join(pieces) == BIG_JS[1000:-1000]


@pytest.mark.parametrize("spec", ["bytes=999999-", "bytes=-0", f"bytes={len(SMALL_JS)}-"])
def test_unsatisfiable_range_416(client, spec):
    response = client.get("/static/lib/a.js", headers={"Range": spec})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(SMALL_JS)}"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_empty_member_range_416(client):
    response = client.get("/static/lib/empty.txt", headers={"Range": "bytes=0-"})
    assert response.status_code == 416 and response.headers["Content-Range"] == "bytes */0"


@pytest.mark.parametrize("spec", ["bytes=0-1,5-6", "items=0-5", "bytes=9-2", "bytes=x-y", "bytes=-"])
def test_unsupported_or_invalid_range_sends_it_whole(client, spec):
    response = client.get("/static/lib/a.js", headers={"Range": spec})
    assert response.status_code == 200 and response.data == SMALL_JS


def test_if_range_with_current_etag_or_date_honours_range(client):
    headers = client.get("/static/lib/a.js").headers
    for validator in (headers["ETag"], headers["Last-Modified"]):
        response = client.get("/static/lib/a.js", headers={"Range": "bytes=0-3", "If-Range": validator})
        assert response.status_code == 206 and response.data == SMALL_JS[:4]


def test_if_range_with_old_validator_sends_it_whole(client):
    response = client.get("/static/lib/a.js", headers={"Range": "bytes=0-3", "If-Range": '"old"'})
    assert response.status_code == 200 and response.data == SMALL_JS


def test_head_range(client):
    response = client.head("/static/lib/a.js", headers={"Range": "bytes=0-9"})
    assert response.status_code == 206 and response.data == b""
    assert response.headers["Content-Length"] == "10"
