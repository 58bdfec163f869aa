"""Concurrent requests on a cold process: each zip is indexed once, and
positional reads keep bodies intact across threads."""

import gzip
import http.client
import threading
import time

from zipserve_support import BIG_JS, PNG, SMALL_JS, make_app, sample_config

from zipserve import archive as archive_module

TARGETS = [("/static/lib/a.js", SMALL_JS), ("/static/lib/big.js", BIG_JS),
           ("/static/lib/img.png", PNG), ("/static/parts/two.js", b"two();\n")]


def test_many_threads_one_index_and_correct_bodies(sample_dir, live_server, monkeypatch):
    indexed = []
    real_index = archive_module.Archive._index

    def counting_index(self, path, members):
        indexed.append(path)
        time.sleep(0.05)  # widen the window in which a second opener could slip in
        return real_index(self, path, members)

    monkeypatch.setattr(archive_module.Archive, "_index", counting_index)
    server = live_server(make_app(sample_config(sample_dir)))
    barrier = threading.Barrier(16)
    failures = []

    def worker(n):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        barrier.wait()
        for i in range(6):
            url, data = TARGETS[(n + i) % len(TARGETS)]
            headers = {"Accept-Encoding": "gzip"} if (n + i) % 2 else {}
            headers["Range"] = "bytes=1000-" if (n * i) % 5 == 4 and len(data) > 1000 else ""
            conn.request("GET", url, headers={k: v for k, v in headers.items() if v})
            response = conn.getresponse()
            body = response.read()
            if response.getheader("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            expected = data[1000:] if response.status == 206 else data
            if body != expected:
                failures.append((url, response.status))
        conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures
    assert sorted(p.rsplit("/", 1)[-1] for p in indexed) == ["lib.zip", "parts.1.zip", "parts.zip"]
