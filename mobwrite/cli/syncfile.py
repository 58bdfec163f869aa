"""``mobwrite sync``: a local file kept in step with a document across runs,
with the client's state in a sidecar (FILE.mobwrite.json)."""

import json
import sys

from .. import client as mclient
from .commands import new_user, round_trip
from .files import read_text, write_atomic
from .transport import CliError


class SyncState:
    """What ``sync`` keeps beside FILE between runs (FILE.mobwrite.json)."""

    FIELDS = ("user", "url", "doc", "shadow", "client_version", "server_version", "edit_stack")

    def __init__(self, path):
        self.path = path

    def load(self):
        """The kept state, or None before the first run."""
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
        write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=0))


def _restore(shared, state):
    """Put the kept shadow and versions back, or (first run) ask to join
    with the whole text: ``r:0:TEXT``."""
    if state is None:
        shared.delta_ok = False
        return
    shared.shadow = state["shadow"]
    shared.client_version = state["client_version"]
    shared.server_version = state["server_version"]
    shared.edit_stack = [tuple(e) for e in state["edit_stack"]]


def _state_of(client, shared, url, doc):
    return {"user": client.user, "url": url, "doc": doc, "shadow": shared.shadow,
            "client_version": shared.client_version, "server_version": shared.server_version,
            "edit_stack": [list(e) for e in shared.edit_stack]}


def sync_file(url, doc, path, state_path=None, token=""):
    """One sync of FILE with DOC. The first run joins the document (``r:``:
    the file's text becomes the document only if it does not exist yet; else
    the file takes the document's text, and a non-empty file that differed is
    kept as FILE.mobwrite-conflict). Later runs send the edits made to FILE
    since the last run as a delta against the kept shadow and merge the
    server's edits into FILE: both ways, as a browser client does. True when
    FILE changed."""
    state_file = SyncState(state_path or path + ".mobwrite.json")
    state = state_file.load()
    local = read_text(path, missing_ok=True)
    existed = local is not None
    local = local or ""
    if state is not None and (state["url"] != url or state["doc"] != doc):
        raise CliError("%s belongs to %s on %s; delete it to sync with %s on %s"
                       % (state_file.path, state["doc"], state["url"], doc, url))
    c = mclient.Client(state["user"] if state else new_user())
    shared = c.share(doc, local, token=token)
    _restore(shared, state)
    round_trip(url, c, doc)
    if state is None and existed and local and shared.text != local:
        write_atomic(path + ".mobwrite-conflict", local)
        print("mobwrite: %s took the document's text; its previous text is in %s.mobwrite-conflict"
              % (path, path), file=sys.stderr)
    if shared.text != local or not existed:
        write_atomic(path, shared.text)
    state_file.save(_state_of(c, shared, url, doc))
    return shared.text != local
