"""Helpers of the zipserve tests: the sample archive's contents, zips made
with the standard library, Flask apps and live servers."""

import random
import threading
import zipfile

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

import zipserve
from zipserve import Config


# Members of the sample archive "lib" (lib.zip) and how each is stored.
SMALL_JS = ("define([], function(){ return 'hello from a.js'; });\n" * 40).encode()
CSS = b".claro .x { color: red; }\n" * 30
NO_EXT = b"Zone\tAfrica/Abidjan\t-0:16:08\t-\tLMT\t1912\n" * 20


# ~1.2 MB of hex digits: deflates to about half, well over the 256 KiB below
# which bodies are sent in one piece.
BIG_JS = b"var big = '" + random.Random(7).randbytes(600_000).hex().encode() + b"';\n"
PNG = b"\x89PNG\r\n\x1a\n" + random.Random(1).randbytes(5000)  # incompressible
MEMBERS = {
    "a.js": (SMALL_JS, zipfile.ZIP_DEFLATED),
    "themes/claro.css": (CSS, zipfile.ZIP_DEFLATED),
    "big.js": (BIG_JS, zipfile.ZIP_DEFLATED),
    "img.png": (PNG, zipfile.ZIP_STORED),
    "zoneinfo/africa": (NO_EXT, zipfile.ZIP_DEFLATED),
    "empty.txt": (b"", zipfile.ZIP_STORED),
    "plain.js": (SMALL_JS, zipfile.ZIP_STORED),
}
DATE = (2021, 3, 4, 5, 6, 8)  # every member's date in lib.zip
SECRET = b"TOP SECRET: outside every archive\n"


def write_zip(path, members, date=DATE):
    """A zip made with the standard library (not our builder)."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, (data, method) in members.items():
            info = zipfile.ZipInfo(name, date_time=date)
            info.compress_type = method
            zf.writestr(info, data)



def sample_config(sample_dir, **overrides):
    fields = dict(directory=str(sample_dir), archives=(("lib", ()), ("parts", ())))
    fields.update(overrides)
    return Config(**fields)


def make_app(config):
    app = Flask(__name__)  # keeps Flask's own /static/<path:filename> rule
    app.register_blueprint(zipserve.create_blueprint(config), url_prefix="/static")
    return app


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass  # hundreds of lines per page load otherwise


class LiveServer:
    """A threaded Werkzeug server for ``app`` on a free 127.0.0.1 port."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True,
                                  request_handler=QuietHandler)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

