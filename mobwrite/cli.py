"""``mobwrite``: command-line tools for a MobWrite gateway.

    mobwrite download URL DOC            print the document
    mobwrite upload URL DOC FILE         overwrite the document with FILE ("-" for stdin)
    mobwrite nullify URL DOC             delete the document
    mobwrite sync URL DOC FILE           merge FILE and the document both ways, keeping
                                         state beside it in FILE.mobwrite.json
    mobwrite loadtest URL --rate HZ --docs N --duration S

URL is the gateway (``http://host:8080/scripts/q.py``) or just the server
(``http://host:8080``, meaning its ``/scripts/q.py``). Talks HTTP with the
standard library only. Exit status: 0 done; 1 the operation failed (the
server refused the text, a file could not be read or written); 2 usage or a
malformed URL; 3 the server cannot be reached; 4 it answered with an HTTP
error; 5 its answer is not MobWrite. Errors are one line on stderr.
"""

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import secrets
import socket
import string
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from . import client as mclient
from . import protocol

DEFAULT_PATH = "/scripts/q.py"
TIMEOUT = 30
_LINE = re.compile(r"[A-Za-z]:")

EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_HTTP, EXIT_NOT_MOBWRITE = 1, 2, 3, 4, 5


class CliError(Exception):
    def __init__(self, message, code=EXIT_FAILED):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- talking to the gateway

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


def _unreachable(url, exc):
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        why = "connection refused"
    elif isinstance(reason, (socket.timeout, TimeoutError)):
        why = "timed out"
    elif isinstance(reason, socket.gaierror):
        why = "unknown host"
    else:
        why = str(reason) or reason.__class__.__name__
    return CliError("cannot reach %s: %s" % (url, why), EXIT_UNREACHABLE)


def check_answer(url, content_type, body):
    """The answer text, or CliError if it is not a MobWrite ``q=`` answer."""
    if not content_type.lower().startswith("text/plain"):
        raise CliError("%s did not answer like a MobWrite gateway (Content-Type %s)"
                       % (url, content_type or "missing"), EXIT_NOT_MOBWRITE)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError("%s did not answer like a MobWrite gateway (not UTF-8)" % url, EXIT_NOT_MOBWRITE) from None
    if text and not (text.endswith("\n\n") and all(_LINE.match(line) for line in text[:-2].split("\n"))):
        raise CliError("%s did not answer like a MobWrite gateway (%r...)" % (url, text[:40]), EXIT_NOT_MOBWRITE)
    return text


def exchange(url, request_text, timeout=TIMEOUT):
    """POST ``q=request_text`` to the gateway; the checked answer text."""
    body = urllib.parse.urlencode({"q": request_text}).encode("ascii")
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "mobwrite-cli"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            data = response.read()
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        detail = exc.read(200).decode("utf-8", "replace").strip().splitlines()
        raise CliError("%s answered HTTP %d %s%s" % (url, exc.code, exc.reason,
                                                     (": " + detail[0][:120]) if detail else ""),
                       EXIT_HTTP) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _unreachable(url, exc) from None
    return check_answer(url, content_type, data)


def new_user():
    return "cli-" + secrets.token_hex(6)


def _expect_block(url, answer, doc):
    if ("F:" not in answer and "f:" not in answer) or (":" + doc + "\n") not in answer:
        raise CliError("%s did not answer like a MobWrite gateway (no block for %r)" % (url, doc), EXIT_NOT_MOBWRITE)


# ---------------------------------------------------------------- commands

def download(url, doc):
    """The document's text ("" when it does not exist; like any MobWrite
    client, asking creates it empty)."""
    c = mclient.Client(new_user())
    c.share(doc, "")
    answer = exchange(url, c.request())
    _expect_block(url, answer, doc)
    c.receive(answer)
    return c.docs[doc].text


def upload(url, doc, text):
    c = mclient.Client(new_user())
    shared = c.share(doc, text, merge=False)
    shared.delta_ok = False  # send the whole text: R:0:TEXT, which overwrites the master
    answer = exchange(url, c.request())
    _expect_block(url, answer, doc)
    c.receive(answer)
    refused = any(line[:2] in ("r:", "R:") for line in answer.split("\n"))  # a raw dump: not taken
    if refused or shared.text != protocol.normalize_newlines(text):
        raise CliError("the server did not take the text (%d characters; over its MOBWRITE_MAX_CHARS?)"
                       % len(text))


def nullify(url, doc):
    exchange(url, "u:%s\nn:%s\n\n" % (new_user(), doc))


class SyncState:
    """What ``sync`` keeps beside FILE between runs (FILE.mobwrite.json)."""

    FIELDS = ("user", "url", "doc", "shadow", "client_version", "server_version", "edit_stack")

    def __init__(self, path):
        self.path = path

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise CliError("cannot read %s: %s" % (self.path, exc)) from None
        if not isinstance(data, dict) or any(k not in data for k in self.FIELDS):
            raise CliError("%s is not a mobwrite sync state (delete it to start over)" % self.path)
        return data

    def save(self, data):
        _write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=0))


def _write_atomic(path, text):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CliError("cannot write %s: %s" % (path, exc)) from None


def _read_text(path, missing_ok=False):
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise CliError("cannot read %s: no such file" % path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError("cannot read %s: %s" % (path, exc)) from None


def sync_file(url, doc, path, state_path=None):
    """One sync of FILE with DOC. The first run joins the document (``r:``:
    the file's text becomes the document only if it does not exist yet; else
    the file takes the document's text, and a non-empty file that differed is
    kept as FILE.mobwrite-conflict). Later runs send the edits made to FILE
    since the last run as a delta against the kept shadow and merge the
    server's edits into FILE: both ways, as a browser client does."""
    state_file = SyncState(state_path or path + ".mobwrite.json")
    state = state_file.load()
    local = _read_text(path, missing_ok=True)
    existed = local is not None
    local = local or ""
    if state is not None and (state["url"] != url or state["doc"] != doc):
        raise CliError("%s belongs to %s on %s; delete it to sync with %s on %s"
                       % (state_file.path, state["doc"], state["url"], doc, url))
    c = mclient.Client(state["user"] if state else new_user())
    shared = c.share(doc, local)
    if state is None:
        shared.delta_ok = False  # r:0:TEXT
    else:
        shared.shadow = state["shadow"]
        shared.client_version = state["client_version"]
        shared.server_version = state["server_version"]
        shared.edit_stack = [tuple(e) for e in state["edit_stack"]]
    answer = exchange(url, c.request())
    _expect_block(url, answer, doc)
    c.receive(answer)
    if state is None and existed and local and shared.text != local:
        _write_atomic(path + ".mobwrite-conflict", local)
        print("mobwrite: %s took the document's text; its previous text is in %s.mobwrite-conflict"
              % (path, path), file=sys.stderr)
    if shared.text != local or not existed:
        _write_atomic(path, shared.text)
    state_file.save({"user": c.user, "url": url, "doc": doc, "shadow": shared.shadow,
                     "client_version": shared.client_version, "server_version": shared.server_version,
                     "edit_stack": [list(e) for e in shared.edit_stack]})
    return shared.text != local


# ---------------------------------------------------------------- loadtest

class _Connection:
    """A keep-alive HTTP connection (reopened when the server closes it)."""

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
            self.conn.request("POST", self.path, body=body,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise _unreachable(self.url, exc) from None
        if response.will_close:
            self.close()
        if response.status != 200:
            raise CliError("HTTP %d" % response.status, EXIT_HTTP)
        return check_answer(self.url, response.headers.get("Content-Type", ""), data)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal,
    a line every few seconds otherwise)."""

    def __init__(self, total, stream=None, width=30):
        self.total, self.stream, self.width = total, stream or sys.stderr, width
        self.tty = self.stream.isatty()
        self.last = 0.0

    def update(self, done, note, force=False):
        now = time.monotonic()
        if not force and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        frac = min(1.0, done / self.total) if self.total else 1.0
        filled = int(frac * self.width)
        line = "[%s%s] %3d%% %s" % ("#" * filled, "." * (self.width - filled), frac * 100, note)
        self.stream.write(("\r" + line + "\033[K") if self.tty else line + "\n")
        self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _percentile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def loadtest(url, rate, docs, duration, edit_prob=0.25, users_per_doc=2, seed=None, out=None, progress=True):
    """Open-loop load: ``rate`` syncs per second spread over ``docs`` documents
    (``users_per_doc`` users each); a sync carries a small edit with
    ``edit_prob``. Latency counts from when the sync was due, so a slow server
    shows as latency rather than as a quietly lower rate."""
    out = out or sys.stdout
    rng = random.Random(seed)
    tag = secrets.token_hex(4)
    users = []
    for d in range(docs):
        for u in range(users_per_doc):
            c = mclient.Client("load-%s-%d-%d" % (tag, d, u))
            c.share("load-%s-%d" % (tag, d), "")
            users.append(c)
    # One probe first: an unreachable or foreign server is one clear error, not a table of failures.
    probe = _Connection(url)
    try:
        probe.post("u:%s\nf:0:load-%s-probe\nd:0:\n\n" % (users[0].user, tag))
    finally:
        probe.close()
    n_threads = min(len(users), 64, max(1, int(rate * 0.5) + 1))
    lock = threading.Lock()
    stats = {"requests": 0, "errors": 0, "late": 0, "edits": 0}
    latencies, error_kinds = [], {}
    started = time.monotonic()
    interval = 1.0 / rate
    total = int(rate * duration)

    def worker(k):
        conn = _Connection(url)
        mine = users[k::n_threads]
        wrng = random.Random(rng.random())
        i = k
        try:
            while i < total:
                due = started + i * interval
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -1.0:
                    with lock:
                        stats["late"] += 1
                c = mine[(i // n_threads) % len(mine)]
                shared = next(iter(c.docs.values()))
                edited = wrng.random() < edit_prob
                if edited:
                    at = wrng.randint(0, len(shared.text))
                    shared.text = shared.text[:at] + "".join(wrng.choice(string.ascii_lowercase)
                                                             for _ in range(wrng.randint(1, 6))) + shared.text[at:]
                try:
                    c.receive(conn.post(c.request()))
                    ok, kind = True, None
                except CliError as exc:
                    ok, kind = False, str(exc).split(":")[0][:60]
                done = time.monotonic()
                with lock:
                    stats["requests"] += 1
                    if ok:
                        latencies.append(done - due)
                        stats["edits"] += edited
                    else:
                        stats["errors"] += 1
                        error_kinds[kind] = error_kinds.get(kind, 0) + 1
                i += n_threads
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(n_threads)]
    for t in threads:
        t.start()
    bar = Progress(duration) if progress else None
    while any(t.is_alive() for t in threads):
        time.sleep(0.1)
        if bar:
            with lock:
                lat = sorted(latencies[-500:])
                note = "%5.1fs  %d req  %d err  p50 %s" % (
                    time.monotonic() - started, stats["requests"], stats["errors"],
                    "%.1fms" % (1000 * _percentile(lat, 0.5)) if lat else "-")
            bar.update(min(duration, time.monotonic() - started), note)
        if time.monotonic() - started > duration + TIMEOUT + 5:
            break
    elapsed = time.monotonic() - started
    if bar:
        bar.update(duration, "%5.1fs  %d req  %d err" % (elapsed, stats["requests"], stats["errors"]), force=True)
        bar.close()
    lat = sorted(latencies)
    ms = lambda v: "-" if v is None else "%.1f ms" % (1000 * v)  # noqa: E731
    rows = [("requests", str(stats["requests"])),
            ("errors", str(stats["errors"]) + ("  (%s)" % ", ".join("%s: %d" % kv for kv in error_kinds.items())
                                                if error_kinds else "")),
            ("edits", str(stats["edits"])),
            ("rate", "%.1f/s asked, %.1f/s done" % (rate, stats["requests"] / elapsed if elapsed else 0)),
            ("latency p50", ms(_percentile(lat, 0.50))),
            ("latency p99", ms(_percentile(lat, 0.99))),
            ("latency max", ms(lat[-1] if lat else None)),
            ("duration", "%.1f s, %d docs, %d users" % (elapsed, docs, len(users)))]
    width = max(len(k) for k, _ in rows)
    print("%-*s  %s" % (width, "loadtest", url), file=out)
    print("-" * (width + 2 + 30), file=out)
    for k, v in rows:
        print("%-*s  %s" % (width, k, v), file=out)
    summary = dict(stats, p50=_percentile(lat, 0.5), p99=_percentile(lat, 0.99), seconds=elapsed)
    return summary


# ---------------------------------------------------------------- main

def _positive(kind):
    def convert(raw):
        value = kind(raw)
        if value <= 0:
            raise argparse.ArgumentTypeError("must be positive")
        return value
    return convert


def build_parser():
    parser = argparse.ArgumentParser(prog="mobwrite", description=__doc__.split("\n\n")[0],
                                     epilog="URL: the gateway, e.g. http://127.0.0.1:8080/scripts/q.py "
                                            "(a bare server URL means its /scripts/q.py)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("download", help="print the document")
    p.add_argument("url"), p.add_argument("doc")
    p = sub.add_parser("upload", help="overwrite the document with FILE ('-' for stdin)")
    p.add_argument("url"), p.add_argument("doc"), p.add_argument("file")
    p = sub.add_parser("nullify", help="delete the document")
    p.add_argument("url"), p.add_argument("doc")
    p = sub.add_parser("sync", help="merge FILE and the document both ways (state in FILE.mobwrite.json)")
    p.add_argument("url"), p.add_argument("doc"), p.add_argument("file")
    p.add_argument("--state", help="where to keep the sync state (default FILE.mobwrite.json)")
    p.add_argument("--watch", type=_positive(float), metavar="SECONDS",
                   help="keep syncing every SECONDS until interrupted")
    p = sub.add_parser("loadtest", help="open-loop load with a progress bar, then a summary")
    p.add_argument("url")
    p.add_argument("--rate", type=_positive(float), default=10.0, help="syncs per second (default 10)")
    p.add_argument("--docs", type=_positive(int), default=5, help="documents (default 5)")
    p.add_argument("--duration", type=_positive(float), default=10.0, help="seconds (default 10)")
    p.add_argument("--edit-prob", type=float, default=0.25, help="chance a sync carries an edit (default 0.25)")
    p.add_argument("--no-progress", action="store_true")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        url = gateway_url(args.url)
        if args.command == "download":
            text = download(url, args.doc)
            sys.stdout.write(text)
            sys.stdout.flush()
        elif args.command == "upload":
            upload(url, args.doc, _read_text(args.file))
        elif args.command == "nullify":
            nullify(url, args.doc)
        elif args.command == "sync":
            while True:
                sync_file(url, args.doc, args.file, args.state)
                if not args.watch:
                    break
                time.sleep(args.watch)
        elif args.command == "loadtest":
            if args.rate > 10_000 or args.docs > 10_000 or args.duration > 86_400:
                raise CliError("rate, docs or duration out of range", EXIT_USAGE)
            summary = loadtest(url, args.rate, args.docs, args.duration, args.edit_prob,
                               progress=not args.no_progress)
            if summary["requests"] and summary["errors"] == summary["requests"]:
                return EXIT_FAILED
    except CliError as exc:
        print("mobwrite: %s" % exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
