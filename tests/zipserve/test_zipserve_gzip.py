"""gzip responses are the zip's own deflate stream, wrapped, never recompressed."""

import gzip
import zipfile
import zlib

import pytest
from zipserve_support import BIG_JS, SMALL_JS

from zipserve import conditions, gzipwrap


def raw_member_bytes(path, name):
    """The member's compressed bytes as they lie in the zip file."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        header = f.read(30)
        skip = int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
        f.seek(info.header_offset + 30 + skip)
        return f.read(info.compress_size)


@pytest.mark.parametrize("name,data", [("a.js", SMALL_JS), ("big.js", BIG_JS)])
def test_gzip_body_decompresses_to_exactly_the_identity_body(client, name, data):
    identity = client.get(f"/static/lib/{name}")
    gzipped = client.get(f"/static/lib/{name}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert identity.headers.get("Content-Encoding") is None
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert gzipped.headers["Vary"] == "Accept-Encoding"
    assert int(gzipped.headers["Content-Length"]) == len(gzipped.data) < len(identity.data)
    assert gzip.decompress(gzipped.data) == identity.data == data


def test_gzip_body_is_the_stored_stream_plus_header_and_trailer(client, sample_dir):
    body = client.get("/static/lib/big.js", headers={"Accept-Encoding": "gzip"}).data
    assert body[:2] == b"\x1f\x8b" and body[2] == 8
    assert body[10:-8] == raw_member_bytes(sample_dir / "lib.zip", "big.js")
    assert body[-8:] == (zlib.crc32(BIG_JS).to_bytes(4, "little") +
                         len(BIG_JS).to_bytes(4, "little"))


def test_gzip_spends_no_cpu_compressing(client, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("zipserve compressed something")

    monkeypatch.setattr(zlib, "compress", forbidden)
    monkeypatch.setattr(zlib, "compressobj", forbidden)
    monkeypatch.setattr(gzip, "compress", forbidden)
    body = client.get("/static/lib/big.js", headers={"Accept-Encoding": "gzip"}).data
    assert len(body) > 100_000


def test_large_gzip_bodies_are_streamed_in_pieces(app):
    member = app.extensions["zipserve"].archives["lib"].get("big.js")
    pieces = list(gzipwrap.body(member))
    assert len(pieces) > 3 and max(map(len, pieces)) <= gzipwrap.CHUNK
    assert gzip.decompress(b"".join(pieces)) == BIG_JS


@pytest.mark.parametrize("accept", ["", "identity", "gzip;q=0", "br", "*;q=0", "deflate"])
def test_identity_when_gzip_is_not_acceptable(client, accept):
    response = client.get("/static/lib/a.js", headers={"Accept-Encoding": accept})
    assert "Content-Encoding" not in response.headers
    assert response.data == SMALL_JS


@pytest.mark.parametrize("accept", ["gzip", "GZIP", "x-gzip", "*", "br;q=1, gzip;q=0.5",
                                    "deflate, gzip;q=1.0, *;q=0.5", "identity;q=0, *"])
def test_gzip_when_acceptable(client, accept):
    response = client.get("/static/lib/a.js", headers={"Accept-Encoding": accept})
    assert response.headers["Content-Encoding"] == "gzip"


def test_stored_members_are_never_gzipped(client):
    response = client.get("/static/lib/plain.js", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in response.headers and response.data == SMALL_JS


def test_accept_encoding_parse_is_memoised():
    conditions.accepts_gzip.cache_clear()
    for _ in range(3):
        conditions.accepts_gzip("gzip, deflate, br, zstd")
    info = conditions.accepts_gzip.cache_info()
    assert info.misses == 1 and info.hits == 2
