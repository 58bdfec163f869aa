"""The HTTP face of the sync service: form fields in, answer text out.

Everything protocol-shaped happens in ``service``; this module only decodes
the form, picks the transport (``q=`` plain text or ``p=`` JSONP), and turns
bad HTTP input into short 4xx answers.
"""

import hmac
import logging
import re
import time
import urllib.parse

from flask import Blueprint, Response, redirect, request
from werkzeug.sansio import multipart
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, ServiceUnavailable

from . import buffers, protocol
from .engine import Engine
from .service import Limits, SyncService
from .stores import StoreUnavailable, open_store

log = logging.getLogger("mobwrite.gateway")
GATEWAY_PATHS = ("/scripts/q.py", "/sync")

def create_blueprint(settings, store=None):
    """The gateway, the cleanup endpoint and the landing page, over ``store``."""
    store = store or open_store(settings)
    service = SyncService(
        store,
        Engine(settings.max_chars, settings.diff_timeout),
        Limits(settings.buffer_max_fragments, settings.buffer_max_bytes, settings.timeout_buffer),
        buffers.for_settings(settings),
    )
    bp = Blueprint("mobwrite", __name__)
    bp.service = service

    def gateway():
        fields = _form_fields()
        for name, mimetype, render in (("q", "text/plain", protocol.format_answer),
                                       ("p", "text/javascript", protocol.format_jsonp)):
            if name in fields:
                try:
                    lines = service.handle(fields[name])
                except StoreUnavailable as exc:
                    log.warning("store unavailable: %s", exc)
                    raise ServiceUnavailable("the store is busy; retry") from exc
                response = Response(render(lines), mimetype=mimetype)
                response.headers["Cache-Control"] = "no-store"
                response.headers["X-Content-Type-Options"] = "nosniff"
                if settings.cors_origin:
                    response.headers["Access-Control-Allow-Origin"] = settings.cors_origin
                return response
        return redirect(settings.editor_url, code=303)

    for path in GATEWAY_PATHS:
        bp.add_url_rule(path, "gateway", gateway, methods=["GET", "POST"])

    @bp.route("/cron/cleanup", methods=["GET", "POST"])
    def cleanup():
        if not _may_clean_up(settings):
            raise Forbidden("cleanup is for App Engine cron or the admin token")
        now = time.time()
        counts = store.cleanup(now - settings.timeout_view, now - settings.timeout_text,
                               now - settings.timeout_buffer)
        log.info("cleanup deleted %s", counts)
        return Response(" ".join("%s=%d" % kv for kv in sorted(counts.items())) + "\n",
                        mimetype="text/plain")

    @bp.route("/")
    def landing():
        return redirect(settings.editor_url, code=302)

    return bp


def _form_fields():
    """The query string and a form body, decoded once and strictly: a field
    that is not UTF-8, or a broken %-escape, is a 400, never replacement
    characters or a guess."""
    fields = _urlencoded(request.query_string)
    if request.method == "POST":
        body = request.get_data(cache=False)
        if request.mimetype == "multipart/form-data":
            fields.update(_multipart(body, request.mimetype_params.get("boundary", "")))
        else:
            fields.update(_urlencoded(body))
    return fields


_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def _urlencoded(raw):
    if _BAD_ESCAPE.search(raw):
        raise BadRequest("the form has a broken %-escape")
    try:
        return dict(urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                           encoding="utf-8", errors="strict"))
    except UnicodeDecodeError as exc:
        raise BadRequest("the request is not valid UTF-8") from exc


def _multipart(body, boundary):
    """Text fields of a multipart body, from their raw bytes (werkzeug's own
    form parsing would replace bad UTF-8 rather than refuse it)."""
    if not boundary:
        raise BadRequest("multipart form without a boundary")
    decoder = multipart.MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=None)
    decoder.receive_data(body)
    decoder.receive_data(None)
    fields, name, chunks = {}, None, []
    while True:
        try:
            event = decoder.next_event()
        except ValueError as exc:
            raise BadRequest("malformed multipart form") from exc
        if isinstance(event, multipart.Field):
            name, chunks = event.name, []
        elif isinstance(event, multipart.File):
            name = None
        elif isinstance(event, multipart.Data) and name is not None:
            chunks.append(event.data)
            if not event.more_data:
                try:
                    fields[name] = b"".join(chunks).decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise BadRequest("the request is not valid UTF-8") from exc
        elif isinstance(event, (multipart.Epilogue, multipart.NeedData)):
            return fields


def _may_clean_up(settings):
    # App Engine strips X-Appengine-Cron from outside requests; elsewhere anyone could send it.
    if settings.on_app_engine and request.headers.get("X-Appengine-Cron") == "true":
        return True
    token = settings.admin_token
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(supplied.encode(), token.encode())


def install_error_handlers(app):
    """Short plain-text reasons for every HTTP error, never an HTML page."""

    @app.errorhandler(HTTPException)
    def http_error(exc):
        response = exc.get_response()
        reason = "no such path" if exc.code == 404 else exc.description
        response.set_data("%d %s: %s\n" % (exc.code, exc.name, reason))
        response.mimetype = "text/plain"
        return response

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unexpected error")
        return Response("500 Internal Server Error\n", status=500, mimetype="text/plain")
