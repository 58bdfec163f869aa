"""The request logic and its plain WSGI face.

ZipServe maps ``folder/member`` paths to archive members and answers GET and
HEAD: 200, 206, 304, 404, 405 or 416, never a 500 for anything a client
sends (a 503 if an archive breaks under it). ``respond`` is independent of
any framework; the blueprint module gives it a Flask face, and ``ZipServe``
itself is a WSGI app (or, given ``app=``, WSGI middleware in front of
another app, as WhiteNoise is).
"""

import dataclasses
import hashlib
import logging
import os
import threading
import zlib

from . import bodies, conditions, gzipwrap, headers, paths
from .archive import Archive
from .config import Config

log = logging.getLogger(__name__)

OK = "200 OK"
PARTIAL = "206 Partial Content"
NOT_MODIFIED = "304 Not Modified"
NOT_FOUND = "404 Not Found"
NOT_ALLOWED = "405 Method Not Allowed"
UNSATISFIABLE = "416 Range Not Satisfiable"
UNAVAILABLE = "503 Service Unavailable"


class ZipServe:
    """Serves the members of the configured archives.

    ``root`` resolves a relative ``config.directory``. As WSGI middleware
    (``app`` given) requests whose path starts with ``prefix`` are ours and
    the rest go to ``app``; as a plain WSGI app, PATH_INFO is the member path.
    """

    endpoint = None  # the Flask endpoint, once the blueprint is registered

    def __init__(self, config=None, root=None, app=None, prefix="/static/"):
        config = config or Config.from_env()
        self.config = config
        directory = config.directory
        if root is not None and not os.path.isabs(directory):
            directory = os.path.join(root, directory)
        self.directory = directory
        located = dataclasses.replace(config, directory=directory)
        self.archives = {name: Archive(name, located.parts(name, files))
                         for name, files in config.archives}
        self.common = headers.Common(config)
        self.app = app
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self._version = None if config.version == "auto" else config.version
        self._version_lock = threading.Lock()
        self._not_found = headers.error(self.common, NOT_FOUND, "Not found")
        self._unavailable = headers.error(self.common, UNAVAILABLE, "Archive unreadable; retry")
        self._not_allowed = headers.error(self.common, NOT_ALLOWED, "Method not allowed",
                                          [("Allow", headers.ALLOW)])

    # -- versions -----------------------------------------------------------

    @property
    def version(self):
        """The segment after ``v/`` under which responses are immutable.

        "auto" (the default) is a digest of every member's name, CRC and size,
        so it changes exactly when some served byte does; "" means none.
        """
        if self._version is None:
            with self._version_lock:
                if self._version is None:
                    self._version = self._digest()
        return self._version

    def _digest(self):
        digest = hashlib.sha256()
        for name in sorted(self.archives):
            members = self.archives[name].members()
            for member_name in sorted(members):
                m = members[member_name]
                digest.update(f"{name}/{member_name}\0{m.crc:08x}\0{m.size}\n".encode())
        return digest.hexdigest()[:12]

    def versioned(self, path):
        """``"dojo/dojo.js"`` -> ``"v/<version>/dojo/dojo.js"`` (as is if off)."""
        version = self.version
        if not version:
            return path
        return f"{self.config.version_segment}/{version}/{path}"

    # -- requests -----------------------------------------------------------

    def respond(self, method, path, environ):
        """Answer one request: (status, header list, body iterable or bytes).

        ``path`` is below the mount point, already percent-decoded once by
        the server ("dojo/dojo.js"); ``environ`` supplies the request headers
        under their WSGI names (HTTP_RANGE, ...). An archive that cannot be
        read any more (replaced or truncated under a running process) is a
        logged 503, not a crash.
        """
        try:
            return self._respond(method, path, environ)
        except (OSError, zlib.error):
            log.exception("zipserve: cannot read %r", path)
            return self._unavailable

    def _respond(self, method, path, environ):
        if method != "GET" and method != "HEAD":
            return self._not_allowed
        segments = paths.split(path)
        if segments is None:
            return self._not_found
        common = self.common.cached
        if segments[0] == self.config.version_segment and self.config.version:
            if len(segments) < 3:
                return self._not_found
            # A stale version still gets the current file, but only the
            # current version is cached forever.
            if segments[1] == self.version:
                common = self.common.immutable
            segments = segments[2:]
        archive = self.archives.get(segments[0])
        if archive is None or len(segments) < 2:
            return self._not_found
        member = archive.get("/".join(segments[1:]))
        if member is None:
            return self._not_found
        prep = headers.prepared(member)

        range_value = environ.get("HTTP_RANGE")
        if range_value is not None and not conditions.range_applies(environ, prep.etag,
                                                                    prep.last_modified):
            range_value = None
        use_gzip = (range_value is None and prep.gzip is not None
                    and conditions.accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")))
        etag = prep.etag_gzip if use_gzip else prep.etag
        if conditions.not_modified(environ, etag, member.mtime):
            return NOT_MODIFIED, (prep.gzip_304 if use_gzip else prep.identity_304) + common, b""

        if range_value is not None:
            span = conditions.parse_range(range_value, member.size)
            if span == conditions.UNSATISFIABLE:
                return headers.error(self.common, UNSATISFIABLE, "Range not satisfiable",
                                     [("Content-Range", f"bytes */{member.size}")])
            if span is not None:
                start, end = span
                part = prep.range_base + [
                    ("Content-Range", f"bytes {start}-{end - 1}/{member.size}"),
                    ("Content-Length", str(end - start))]
                body = b"" if method == "HEAD" else bodies.identity(member, start, end)
                return PARTIAL, part + common, body

        if use_gzip:
            body = b"" if method == "HEAD" else gzipwrap.body(member)
            return OK, prep.gzip + common, body
        body = b"" if method == "HEAD" else bodies.identity(member)
        return OK, prep.identity + common, body

    # -- WSGI ---------------------------------------------------------------

    def __call__(self, environ, start_response):
        raw = environ.get("PATH_INFO", "")
        if self.app is not None:
            if not raw.startswith(self.prefix):
                return self.app(environ, start_response)
            raw = raw[len(self.prefix):]
        else:
            raw = raw[1:] if raw.startswith("/") else raw
        try:
            # PEP 3333 hands the path over as latin-1 decoded bytes.
            path = raw.encode("latin-1").decode("utf-8")
        except UnicodeError:
            path = ""
        status, header_list, body = self.respond(environ.get("REQUEST_METHOD", "GET"),
                                                 path, environ)
        start_response(status, list(header_list))
        if isinstance(body, bytes):
            return [body]
        return body

    def close(self):
        """Close every archive (tests and benchmarks)."""
        for archive in self.archives.values():
            archive.close()
