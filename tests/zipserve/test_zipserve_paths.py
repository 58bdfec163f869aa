"""Non-canonical paths answer 404 without touching an archive, and nothing
outside the configured archives is ever opened."""

import socket
import sys

import pytest
from zipserve_support import SMALL_JS, make_app, sample_config

from zipserve import ZipServe, paths

# Request targets exactly as sent on the wire (the server decodes them once).
CORPUS = [
    "/static/../secret.txt",
    "/static/lib/../../secret.txt",
    "/static/lib/../lib/a.js",
    "/static/lib/./a.js",
    "/static/./lib/a.js",
    "/static/lib/.",
    "/static/lib/..",
    "/static/lib/...",
    "/static/lib/.hidden",
    "/static/%2e%2e/secret.txt",
    "/static/lib/%2e%2e/%2e%2e/secret.txt",
    "/static/lib/%2E%2E%2F%2E%2E%2Fsecret.txt",
    "/static/lib/..%2f..%2fsecret.txt",
    "/static/lib%2f..%2f..%2fsecret.txt",
    "/static/lib/%252e%252e/%252e%252e/secret.txt",
    "/static/lib/%252e%252e%252f%252e%252e%252fsecret.txt",
    "/static/lib/%25252e%25252e/secret.txt",
    "/static/lib/a%252ejs",
    "/static/lib/%c0%ae%c0%ae/secret.txt",
    "/static/lib/%e0%80%ae%e0%80%ae/secret.txt",
    "/static/lib/%ef%bc%8e%ef%bc%8e/secret.txt",
    "/static/lib/%u002e%u002e/secret.txt",
    "/static/lib/%ff",
    "/static//lib/a.js",
    "/static/lib//a.js",
    "/static/lib/themes//claro.css",
    "/static/lib/a.js/",
    "/static/lib/%2fetc%2fpasswd",
    "/static/lib//etc/passwd",
    "/static/lib/%2F%2Fetc/passwd",
    "/static/lib\\a.js",
    "/static/lib%5ca.js",
    "/static/lib/%5c..%5c..%5csecret.txt",
    "/static/lib/..\\..\\secret.txt",
    "/static/lib/a.js%00",
    "/static/lib/a.js%00.png",
    "/static/lib/%00/a.js",
    "/static/lib/a.js%2500",
    "/static/lib/a.js%0a",
    "/static/lib/a.js%20",
    "/static/lib/%20a.js",
    "/static/lib/a.js;.png",
    "/static/lib/a.js%3b.png",
    "/static/lib/a.js%3f.png",
    "/static/lib/a.js%23",
    "/static/v/x/../lib/a.js",
    "/static/v//lib/a.js",
    "/static/v/%2e%2e/lib/a.js",
    "/static/lib/../secret.txt",
    "/static/lib/%2e%2e%2fsecret.txt",
]
# Canonical, but naming what is not a member of a configured archive.
ABSENT = [
    "/static/secret.txt",
    "/static/lib/secret.txt",
    "/static/parts/secret.txt",
    "/static/stray/stray.js",
    "/static/stray.zip",
]


class OpenRecorder:
    """Records every file the interpreter opens while ``recording`` (one
    audit hook for the whole session: hooks cannot be removed)."""

    installed = None

    def __init__(self):
        self.recording = False
        self.events = []
        sys.addaudithook(self.hook)

    def hook(self, event, args):
        if self.recording and event in ("open", "os.listdir", "os.scandir"):
            path = str(args[0]) if args else ""
            if not path.endswith((".py", ".pyc", ".so")):  # lazy imports are not serving
                self.events.append((event, path))

    @classmethod
    def get(cls):
        if cls.installed is None:
            cls.installed = cls()
        return cls.installed


def raw_get(port, target):
    """Send ``target`` byte for byte (no client-side normalising); -> (status, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                     .encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_canonical_paths_unit():
    assert paths.split("dojo/dojo.js") == ["dojo", "dojo.js"]
    assert paths.split("dijit/form/nls/zh-tw/ComboBox.js") == ["dijit", "form", "nls", "zh-tw", "ComboBox.js"]
    assert paths.split("dojox/date/zoneinfo/africa") is not None
    for bad in ("", "a//b", "a/", "/a", "a/../b", "a/./b", "..", "a/.b", "a\\b", "a\x00b",
                "a%2e", "a b", "a\nb", "a/\u0131", "x" * 2000):
        assert paths.split(bad) is None, repr(bad)


def test_traversal_corpus_decoded_once_is_404_in_respond(sample_dir):
    from urllib.parse import unquote

    server = ZipServe(sample_config(sample_dir))
    for target in CORPUS:
        path = unquote(target, errors="replace")[len("/static/"):]
        status, _, _ = server.respond("GET", path, {})
        assert status.startswith("404"), target
    assert not any(a.is_open for a in server.archives.values())
    for target in ABSENT:
        assert server.respond("GET", target[len("/static/"):], {})[0].startswith("404"), target
    assert server.respond("GET", "lib/a.js", {})[0].startswith("200")


@pytest.mark.parametrize("fast", [True, False], ids=["fast-path", "flask-route"])
def test_traversal_corpus_over_a_real_server_is_404_and_opens_nothing(sample_dir, live_server, fast):
    recorder = OpenRecorder.get()
    server = live_server(make_app(sample_config(sample_dir, fast_path=fast)))
    archives = server.server.app.extensions["zipserve"].archives
    raw_get(server.port, "/warm-up")  # the server's own lazy set-up
    recorder.events.clear()
    recorder.recording = True
    try:
        results = {target: raw_get(server.port, target) for target in CORPUS}
    finally:
        recorder.recording = False
    wrong = {t: s for t, (s, _) in results.items() if s != 404}
    assert not wrong, wrong
    assert not any(b"SECRET" in body for _, body in results.values())
    assert recorder.events == []  # no file opened, not even an archive
    assert not any(a.is_open for a in archives.values())

    # Absent names open the configured archives (to look) and nothing else.
    recorder.recording = True
    try:
        results = {target: raw_get(server.port, target) for target in ABSENT}
    finally:
        recorder.recording = False
    assert all(status == 404 and b"SECRET" not in body for status, body in results.values())
    opened = {path.rsplit("/", 1)[-1] for event, path in recorder.events if event == "open"}
    assert opened <= {"lib.zip", "parts.zip", "parts.1.zip"}, recorder.events
    for archive in archives.values():
        archive.close()

    # The recorder does see opens: a canonical request opens lib.zip, only it.
    recorder.events.clear()
    recorder.recording = True
    try:
        status, body = raw_get(server.port, "/static/lib/a.js")
    finally:
        recorder.recording = False
    assert status == 200 and body == SMALL_JS
    opened = [path for event, path in recorder.events if event == "open"]
    assert opened and all(p.endswith("lib.zip") for p in opened), recorder.events


@pytest.mark.parametrize("name", ["../x.js", "a/../../x.js", "/abs.js", "dir/", "a\\b.js", ".hidden"])
def test_odd_member_names_inside_a_zip_are_never_served(tmp_path, name):
    import zipfile

    with zipfile.ZipFile(tmp_path / "lib.zip", "w") as zf:
        zf.writestr("ok.js", "ok")
        zf.writestr(zipfile.ZipInfo(name), "odd")
    client = make_app(sample_config(tmp_path, archives=(("lib", ()),))).test_client()
    members = client.application.extensions["zipserve"].archives["lib"].members()
    assert list(members) == ["ok.js"]
