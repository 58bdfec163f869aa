"""``mobwrite``: command-line tools for a MobWrite gateway.

    mobwrite download URL DOC            print the document
    mobwrite upload URL DOC FILE         overwrite the document with FILE ("-" for stdin)
    mobwrite nullify URL DOC             delete the document
    mobwrite sync URL DOC FILE           merge FILE and the document both ways, keeping
                                         state beside it in FILE.mobwrite.json
    mobwrite loadtest URL --rate HZ --docs N --duration S
    mobwrite token DOC --right edit|view --ttl 7d [--prefix]
                                         mint a token (key from MOBWRITE_TOKEN_KEY);
                                         the other commands send one with --token
    mobwrite history URL DOC             list the document's snapshots
    mobwrite restore URL DOC SNAPSHOT    make a snapshot the document's text again

URL is the gateway (``http://host:8080/scripts/q.py``) or just the server
(``http://host:8080``, meaning its ``/scripts/q.py``). Talks HTTP with the
standard library only. Exit status: 0 done; 1 the operation failed (the
server refused the text, a file could not be read or written); 2 usage or a
malformed URL; 3 the server cannot be reached; 4 it answered with an HTTP
error; 5 its answer is not MobWrite. Errors are one line on stderr.
"""

import argparse
import sys
import time

from .commands import download, nullify, upload
from .files import read_text
from .history import history_lines, restore
from .loadtest import loadtest
from .syncfile import sync_file
from .token import add_parser as add_token_parser
from .token import run_token
from .transport import EXIT_FAILED, EXIT_USAGE, CliError, gateway_url


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
    for name in ("download", "upload", "nullify", "sync"):
        sub.choices[name].add_argument("--token", default="", help="a capability token for DOC")
    add_token_parser(sub)
    p = sub.add_parser("history", help="list the document's snapshots (id, time, size, who)")
    p.add_argument("url"), p.add_argument("doc")
    p = sub.add_parser("restore", help="make snapshot SNAPSHOT the document's text (everyone converges to it)")
    p.add_argument("url"), p.add_argument("doc"), p.add_argument("snapshot")
    return parser


def run_history(url, args):
    for line in history_lines(url, args.doc):
        print(line)


def run_restore(url, args):
    result = restore(url, args.doc, args.snapshot)
    print("restored #%d as snapshot #%s" % (result["restored"], result["snapshot"]))


def run_download(url, args):
    sys.stdout.write(download(url, args.doc, args.token))
    sys.stdout.flush()


def run_upload(url, args):
    upload(url, args.doc, read_text(args.file), args.token)


def run_nullify(url, args):
    nullify(url, args.doc, args.token)


def run_sync(url, args):
    while True:
        sync_file(url, args.doc, args.file, args.state, args.token)
        if not args.watch:
            return
        time.sleep(args.watch)


def run_loadtest(url, args):
    """Exit 1 when every request failed."""
    if args.rate > 10_000 or args.docs > 10_000 or args.duration > 86_400:
        raise CliError("rate, docs or duration out of range", EXIT_USAGE)
    summary = loadtest(url, args.rate, args.docs, args.duration, args.edit_prob, progress=not args.no_progress)
    if summary["requests"] and summary["errors"] == summary["requests"]:
        return EXIT_FAILED
    return None


COMMANDS = {"download": run_download, "upload": run_upload, "nullify": run_nullify,
            "sync": run_sync, "loadtest": run_loadtest, "history": run_history, "restore": run_restore}


def main(argv=None):
    """The console script: run one command; its exit status."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "token":  # offline: no URL
            return run_token(args) or 0
        return COMMANDS[args.command](gateway_url(args.url), args) or 0
    except CliError as exc:
        print("mobwrite: %s" % exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_FAILED

