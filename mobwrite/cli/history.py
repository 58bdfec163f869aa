"""``mobwrite history URL DOC`` and ``mobwrite restore URL DOC SNAPSHOT``:
the server's history API (mobwrite/historyapi.py) from the command line."""

import datetime
import json
import urllib.error
import urllib.parse
import urllib.request

from .transport import TIMEOUT, CliError, http_error, not_mobwrite, unreachable


def _call(gateway, path, query=None, form=None):
    parts = urllib.parse.urlsplit(gateway)
    url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, urllib.parse.urlencode(query or {}), ""))
    data = urllib.parse.urlencode(form).encode("ascii") if form is not None else None
    req = urllib.request.Request(url, data=data, headers={"User-Agent": "mobwrite-cli"})
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT) as response:
            body = response.read()
    except urllib.error.HTTPError as exc:
        raise http_error(url, exc.code, exc.reason, exc.read()) from None
    except (OSError, urllib.error.URLError) as exc:
        raise unreachable(url, exc) from None
    try:
        return json.loads(body)
    except ValueError:
        raise not_mobwrite(url, "not JSON") from None


def _when(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def history_lines(gateway, doc):
    """One line per snapshot, oldest first: id, time, size, who, note."""
    listed = _call(gateway, "/history/list", {"doc": doc})["snapshots"]
    return ["%5d  %s  %7d chars  %s%s" % (s["id"], _when(s["time"]), s["size"], ", ".join(s["users"]) or "-",
                                          "  (%s)" % s["note"] if s["note"] else "") for s in listed]


def restore(gateway, doc, snapshot, name="mobwrite-cli"):
    if not snapshot.isdigit():
        raise CliError("SNAPSHOT must be a snapshot id from `mobwrite history`", 2)
    return _call(gateway, "/history/restore", form={"doc": doc, "id": snapshot, "name": name})
