"""The one HTTP transport between the command-line tools and a gateway:
check the URL, POST ``q=`` on a keep-alive connection, check that the answer
is MobWrite, and turn every failure into a CliError carrying the exit status.
Standard library only."""

import http.client
import re
import socket
import urllib.parse

DEFAULT_PATH = "/scripts/q.py"
TIMEOUT = 30
_LINE = re.compile(r"[A-Za-z]:")

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_HTTP, EXIT_NOT_MOBWRITE = 1, 2, 3, 4, 5


class CliError(Exception):
    """A failure to report as one line on stderr, with its exit status.
    ``kind`` is a short label the load tester counts failures by."""

    def __init__(self, message, code=EXIT_FAILED, kind=None):
        super().__init__(message)
        self.code = code
        self.kind = kind or message[:60]


def gateway_url(url):
    """Check and complete URL: http(s), a host, and the gateway path."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port  # raises on a bad port
    except ValueError as exc:
        raise CliError("bad URL %r: %s" % (url, exc), EXIT_USAGE) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CliError("bad URL %r: expected http://HOST[:PORT][/PATH]" % url, EXIT_USAGE)
    if port == 0:
        raise CliError("bad URL %r: port 0" % url, EXIT_USAGE)
    path = parts.path if parts.path not in ("", "/") else DEFAULT_PATH
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def unreachable(url, exc):
    """The CliError for a connection that failed: refused, timed out, unknown host..."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        why = "connection refused"
    elif isinstance(reason, (socket.timeout, TimeoutError)):
        why = "timed out"
    elif isinstance(reason, socket.gaierror):
        why = "unknown host"
    else:
        why = str(reason) or reason.__class__.__name__
    return CliError("cannot reach %s: %s" % (url, why), EXIT_UNREACHABLE, "cannot reach (%s)" % why)


def http_error(url, status, reason, body):
    """The CliError for an answer other than 200, with the first line of its body."""
    detail = body[:200].decode("utf-8", "replace").strip().splitlines()
    return CliError("%s answered HTTP %d %s%s" % (url, status, reason, (": " + detail[0][:120]) if detail else ""),
                    EXIT_HTTP, "HTTP %d" % status)


def not_mobwrite(url, why):
    return CliError("%s did not answer like a MobWrite gateway (%s)" % (url, why), EXIT_NOT_MOBWRITE, "not MobWrite")


def check_answer(url, content_type, body):
    """The answer text, or CliError if it is not a MobWrite ``q=`` answer."""
    if not content_type.lower().startswith("text/plain"):
        raise not_mobwrite(url, "Content-Type %s" % (content_type or "missing"))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise not_mobwrite(url, "not UTF-8") from None
    if text and not (text.endswith("\n\n") and all(_LINE.match(line) for line in text[:-2].split("\n"))):
        raise not_mobwrite(url, "%r..." % text[:40])
    return text


class Connection:
    """A keep-alive HTTP connection to one gateway URL (reopened when the
    server closes it); ``post`` sends ``q=TEXT`` and returns the checked answer."""

    def __init__(self, url, timeout=TIMEOUT):
        parts = urllib.parse.urlsplit(url)
        self.kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self.host, self.port = parts.hostname, parts.port
        self.path = parts.path + ("?" + parts.query if parts.query else "")
        self.url, self.timeout, self.conn = url, timeout, None

    def post(self, text):
        if self.conn is None:
            self.conn = self.kind(self.host, self.port, timeout=self.timeout)
        body = urllib.parse.urlencode({"q": text}).encode("ascii")
        try:
            self.conn.request("POST", self.path, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "mobwrite-cli"})
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise unreachable(self.url, exc) from None
        if response.will_close:
            self.close()
        if response.status != 200:
            raise http_error(self.url, response.status, response.reason, data)
        return check_answer(self.url, response.headers.get("Content-Type", ""), data)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def exchange(url, request_text, timeout=TIMEOUT):
    """POST ``q=request_text`` once on a fresh connection; the checked answer text."""
    with Connection(url, timeout) as conn:
        return conn.post(request_text)
