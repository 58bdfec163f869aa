"""The history and presence HTTP API (issue 13): list, fetch, diff and
restore snapshots; count who is in documents.

    GET  /history/list?doc=NAME               JSON {"doc", "snapshots": [{id, time, size, users, note}], "size"}
    GET  /history/text?doc=NAME&id=N          the snapshot's text (text/plain)
    GET  /history/diff?doc=NAME&from=N&to=M   JSON [[op, text], ...] (op -1 delete, 0 keep, 1 insert);
                                              ``to`` omitted: the text as it is now
    POST /history/restore  doc=NAME id=N [name=WHO]   JSON {"restored": N, "snapshot": new id}
    GET  /presence?doc=A&doc=B                JSON {"A": people, ...} (at most 20 names)

Restoring runs an ``R:`` overwrite through the engine as a server-side
user inside a transaction, so every open client gets an ordinary delta
(its unsent edits merge as any edit does) and the restore is a snapshot
of its own, which can be restored away again.
"""

import json
import re
import time

from flask import Blueprint, Response, request
from werkzeug.exceptions import BadRequest, Forbidden, NotFound, ServiceUnavailable

from . import delta, forms, history, protocol, textcodec
from .protocol import Action
from .stores import StoreUnavailable

RESTORER = "~history"  # the server-side user a restore runs as; never a view that stays


def create_blueprint(service):
    bp = Blueprint("mobwrite_history", __name__)
    dmp = delta.make_dmp(service.settings.diff_timeout)

    @bp.before_request
    def utf8_only():
        # Bytes that are not UTF-8: werkzeug raises UnicodeDecodeError (a 500) for
        # a query string and drops a url-encoded body's fields; a 400, as forms.py says.
        raw = [request.query_string]
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            raw.append(request.get_data())
        try:
            for data in raw:
                data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise forms.FormError("the request is not valid UTF-8") from exc

    def store_call(fn, *args):
        try:
            return fn(*args)
        except StoreUnavailable as exc:
            raise ServiceUnavailable("the store is busy; retry") from exc

    @bp.route("/history/list")
    def list_snapshots():
        doc = _doc(service, "view")
        text = store_call(service.store.read, [], [doc])[1].get(doc)
        return _json({"doc": doc, "snapshots": store_call(service.store.history_list, doc),
                      "size": None if text is None else len(text)})

    @bp.route("/history/text")
    def snapshot_text():
        doc = _doc(service, "view")
        return Response(_snapshot(service, store_call, doc, "id").text, mimetype="text/plain")

    @bp.route("/history/diff")
    def diff():
        doc = _doc(service, "view")
        old = _snapshot(service, store_call, doc, "from").text
        if request.args.get("to", "now") == "now":
            new = store_call(service.store.read, [], [doc])[1].get(doc) or ""
        else:
            new = _snapshot(service, store_call, doc, "to").text
        diffs = dmp.diff_main(old, new)
        dmp.diff_cleanupSemantic(diffs)
        return _json([[op, text] for op, text in diffs])

    @bp.route("/history/restore", methods=["POST"])
    def restore_snapshot():
        doc = _doc(service, "edit")
        snap = _snapshot(service, store_call, doc, "id")
        who = (request.form.get("name") or "").strip()[:40] or "someone"
        store_call(restore, service, doc, snap, who)
        listed = store_call(service.store.history_list, doc)
        return _json({"restored": snap.seq, "snapshot": listed[-1]["id"] if listed else None})

    @bp.route("/presence")
    def presence_counts():
        if service.presence is None:
            raise NotFound("presence is off (MOBWRITE_PRESENCE)")
        docs = [d for d in request.args.getlist("doc")[:20] if protocol.valid_name(d)]
        now = time.time()
        found = {}
        for doc in docs:
            people = store_call(service.presence.people, doc, now)
            found[doc] = sorted(({"name": p["name"], "color": p["color"]} for p in people),
                                key=lambda p: (p["name"], p["color"]))
        return _json(found)

    return bp


def restore(service, doc, snap, who):
    """Make ``snap`` the document's text through the engine; a new snapshot notes it."""
    action = Action("R", RESTORER, doc, False, 0, 0, textcodec.encode(snap.text))

    def run(views, texts):
        outcome = service.engine.run([action], {}, texts)
        outcome.views.clear()  # the restorer keeps no view: nobody answers for it
        outcome.new_shadows.clear()
        outcome.lines.clear()
        return outcome

    recorder = history.Recorder(service.history, {doc: {who}}, note="restored #%d" % snap.seq)
    return service.store.transact([], [doc], run, history=recorder)


def _doc(service, right):
    if service.history is None:
        raise NotFound("history is off (MOBWRITE_HISTORY)")
    doc = request.values.get("doc", "")
    if not protocol.valid_name(doc):
        raise BadRequest("doc must be a document name (1 to 256 characters, no control characters)")
    if not may(service, right, doc):
        raise Forbidden("no %s right on this document" % right)
    return doc


def may(service, right, doc):
    """Listing and fetching need the view right, restoring the edit right.
    Open until access tokens (issue 12) land: then ask them here."""
    return True


def _snapshot(service, store_call, doc, field):
    raw = request.values.get(field, "")
    if not re.fullmatch(r"[1-9][0-9]{0,9}", raw):
        raise BadRequest("%s must be a snapshot id (a positive number)" % field)
    snap = store_call(service.store.history_get, doc, int(raw))
    if snap is None:
        raise NotFound("no snapshot %s of this document" % raw)
    return snap


def _json(value):
    response = Response(json.dumps(value, ensure_ascii=False), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
