"""Precomputed response headers: per member once, per configuration once.

A request only picks a list and adds the shared ones; nothing here runs per
request except the few headers a 206 or 416 must carry.
"""

import email.utils

from . import gzipwrap, mime

TEXT = "text/plain; charset=utf-8"
ALLOW = "GET, HEAD"


def http_date(timestamp):
    """RFC 9110 IMF-fixdate, e.g. ``Sun, 06 Nov 1994 08:49:37 GMT``."""
    return email.utils.formatdate(timestamp, usegmt=True)


class Prepared:
    """The headers of one member's responses, built on first request.

    ``identity`` and ``gzip`` are the representation headers of a 200 (gzip
    is None when the member is stored, not deflated); ``*_304`` are what a
    304 repeats. Vary is sent only when a gzip representation exists.
    """

    __slots__ = ("content_type", "etag", "etag_gzip", "last_modified", "identity",
                 "gzip", "identity_304", "gzip_304", "range_base")

    def __init__(self, member):
        self.content_type = mime.content_type(member.name)
        tag = f"{member.crc:08x}-{member.size:x}"
        self.etag = f'"{tag}"'
        self.last_modified = http_date(member.mtime)
        vary = [("Vary", "Accept-Encoding")] if gzipwrap.can_wrap(member) else []
        validators = [("ETag", self.etag), ("Last-Modified", self.last_modified)]
        self.identity = [("Content-Type", self.content_type),
                         ("Content-Length", str(member.size))] + validators + vary
        self.identity_304 = validators + vary
        self.range_base = [("Content-Type", self.content_type)] + validators + vary
        if vary:
            self.etag_gzip = f'"{tag}-gzip"'
            gz_validators = [("ETag", self.etag_gzip), ("Last-Modified", self.last_modified)]
            self.gzip = [("Content-Type", self.content_type),
                         ("Content-Encoding", "gzip"),
                         ("Content-Length", str(gzipwrap.length(member)))] + gz_validators + vary
            self.gzip_304 = gz_validators + vary
        else:
            self.etag_gzip = self.gzip = self.gzip_304 = None


def prepared(member):
    """The member's Prepared headers, built once and kept on the member.

    Two threads racing here both build the same value; either assignment wins.
    """
    cached = member.cache
    if cached is None:
        cached = member.cache = Prepared(member)
    return cached


class Common:
    """Headers every response of one configuration shares."""

    def __init__(self, config):
        cors = [("Access-Control-Allow-Origin", config.cors_origin)] if config.cors_origin else []
        shared = [("Accept-Ranges", "bytes"), ("X-Content-Type-Options", "nosniff")] + cors
        self.cached = [("Cache-Control", f"public, max-age={config.max_age}")] + shared
        self.immutable = [("Cache-Control",
                           f"public, max-age={config.immutable_max_age}, immutable")] + shared
        self.error = [("Cache-Control", "no-cache"),
                      ("X-Content-Type-Options", "nosniff")] + cors


def error(common, status, reason, extra=()):
    """A short plain-text error: (status, headers, body)."""
    body = reason.encode("utf-8") + b"\n"
    headers = [("Content-Type", TEXT), ("Content-Length", str(len(body)))]
    return status, headers + list(extra) + common.error, body
