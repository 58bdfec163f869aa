"""The one form the Datastore store's cache entries and decoded Lookups
share: a view as its Datastore version, state and shadow; a text as b"+"
and its UTF-8; a missing text as b"-". A change of form changes
``ENTRY_FORM``, and with it every entry's name, so old entries are never read.
"""

from ..engine import View
from .datastore_rpc import blob, string

ENTRY_FORM = "2"
NO_TEXT = b"-"


def entry(name, entity_pb, version):
    if name.startswith(("v:", "#v:")):
        if entity_pb is None:
            return None
        return b"%d\0" % version + blob(entity_pb, "state") + b"\0" + string(entity_pb, "shadow").encode("utf-8")
    return NO_TEXT if entity_pb is None else b"+" + string(entity_pb, "text").encode("utf-8")


def texts_of(wanted, view_names, text_name):
    """The text entries of the documents these views are of."""
    return [text_name(wanted[name][1][1]) for name in view_names if wanted[name][0] == "View"]


def committed_entries(wanted, entries, outcome, written):
    """What the cache may hold after ``outcome`` committed over ``entries``
    (``written``: the new versions of what the commit wrote)."""
    committed = dict(entries)
    for name, (kind, key) in wanted.items():
        if kind == "View":
            view = outcome.views.get(key)
            committed[name] = None if key in outcome.deleted_views else (
                encode_view(view, written[name]) if view is not None else entries[name])
        elif key in outcome.texts:
            text = outcome.texts[key]
            committed[name] = NO_TEXT if text is None else b"+" + text.encode("utf-8")
    return committed


def encode_view(view, version):
    # The version is digits and the state JSON, which escapes NUL: the first two NULs end them.
    return b"%d\0" % version + view.state().encode("utf-8") + b"\0" + view.shadow.encode("utf-8")


def version_of(raw):
    return int(raw[:raw.index(b"\0")])


def decode_view(raw):
    _, state, shadow = raw.split(b"\0", 2)
    return View.from_state(state.decode("utf-8"), shadow.decode("utf-8"))
