"""The HTTP face of the sync service: routes only.

Everything protocol-shaped happens in ``service``; this module picks the
transport (``q=`` plain text or ``p=`` JSONP) from the decoded form, guards
the cleanup endpoint, and turns bad HTTP input into short 4xx answers.
"""

import hmac
import logging

from flask import Blueprint, Response, redirect, request
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, ServiceUnavailable, TooManyRequests

from . import protocol, push, serving
from .access import TokenError
from .forms import form_fields
from .limits import RateLimited
from .stores import StoreUnavailable

log = logging.getLogger("mobwrite.gateway")
GATEWAY_PATHS = ("/scripts/q.py", "/sync")
TRANSPORTS = (("q", "text/plain", protocol.format_answer), ("p", "text/javascript", protocol.format_jsonp))
# Beside each gateway path, so a client finds it as new URL("wait", gateway).
WAIT_PATHS = ("/scripts/wait", "/wait")
WAIT_TRANSPORTS = (("q", "application/json", push.format_json), ("p", "text/javascript", push.format_jsonp))


def create_blueprint(service):
    """The gateway, the cleanup endpoint and the landing page, over ``service``."""
    settings = service.settings
    bp = Blueprint("mobwrite", __name__)

    def gateway():
        fields = form_fields()
        for name, mimetype, render in TRANSPORTS:
            if name in fields:
                return _answer(service, fields[name], mimetype, render)
        return redirect(settings.editor_url, code=303)

    for path in GATEWAY_PATHS:
        bp.add_url_rule(path, "gateway", gateway, methods=["GET", "POST"])

    def wait():  # issue 11: push wake-ups, mobwrite/push.py
        fields = form_fields()
        for name, mimetype, render in WAIT_TRANSPORTS:
            if name in fields:
                try:
                    answer = service.wait(fields[name], serving.hangup_watch(request.environ))
                except push.WaitError as exc:
                    raise BadRequest(str(exc)) from exc
                return Response(render(answer), headers=answer_headers(settings, mimetype))
        raise BadRequest("a wait needs q= (JSON answer) or p= (script answer)")

    for path in WAIT_PATHS:
        bp.add_url_rule(path, "wait", wait, methods=["GET", "POST"])

    @bp.route("/cron/cleanup", methods=["GET", "POST"])
    def cleanup():
        if not _may_clean_up(settings):
            raise Forbidden("cleanup is for App Engine cron or the admin token")
        try:
            counts = service.cleanup()
        except StoreUnavailable as exc:
            raise ServiceUnavailable("the store is busy; retry") from exc
        log.info("cleanup deleted %s", counts)
        return Response(" ".join("%s=%d" % kv for kv in sorted(counts.items())) + "\n",
                        mimetype="text/plain")

    @bp.route("/admin/token", methods=["POST"])
    def mint_token():  # issue 12: guarded like /cron/cleanup (the admin token)
        if not _may_clean_up(settings):
            raise Forbidden("minting tokens needs the admin token")
        return Response(_mint(service, form_fields()) + "\n", mimetype="text/plain",
                        headers={"Cache-Control": "no-store"})

    @bp.route("/token/view", methods=["POST"])
    def view_token():  # issue 12: whoever may edit may hand out read-only links
        keys = service.guard.keys if service.guard else None
        token = keys.view_of(form_fields().get("token", "")) if keys else None
        if token is None:
            raise Forbidden("a view link needs a valid edit token")
        return Response(token + "\n", mimetype="text/plain", headers={"Cache-Control": "no-store"})

    @bp.route("/")
    def landing():
        return redirect(settings.editor_url, code=302)

    return bp


def _answer(service, text, mimetype, render):
    try:
        lines = service.handle(text, client_ip(service.settings))
    except StoreUnavailable as exc:
        log.warning("store unavailable: %s", exc)
        raise ServiceUnavailable("the store is busy; retry") from exc
    except RateLimited as exc:
        log.warning("429: %s", exc)
        raise TooManyRequests(str(exc), retry_after=exc.retry_after) from exc
    return Response(render(lines), headers=answer_headers(service.settings, mimetype))


def answer_headers(settings, mimetype):
    """A sync answer's headers but its length (sent last, as werkzeug does)."""
    headers = [("Content-Type", mimetype + "; charset=utf-8"), ("Cache-Control", "no-store"),
               ("X-Content-Type-Options", "nosniff")]
    if settings.cors_origin:
        headers.append(("Access-Control-Allow-Origin", settings.cors_origin))
    return headers


def client_ip(settings):
    return client_ip_of(settings, request.environ)


def client_ip_of(settings, environ):
    """The client's address: on App Engine the first X-Forwarded-For entry
    (its front end sets it), elsewhere the socket's peer (the header is forgeable)."""
    if settings.on_app_engine:
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        if forwarded:
            return forwarded
    return environ.get("REMOTE_ADDR") or ""


def _mint(service, fields):
    keys = service.guard.keys if service.guard else None
    if keys is None:
        raise ServiceUnavailable("no MOBWRITE_TOKEN_KEY is set")
    try:
        ttl = float(fields.get("ttl") or 86400)
        return keys.mint(fields.get("doc", ""), fields.get("right", "edit"), ttl, fields.get("prefix") == "1")
    except (TokenError, ValueError, OverflowError) as exc:
        raise BadRequest(str(exc)) from exc


def _may_clean_up(settings):
    # App Engine strips X-Appengine-Cron from outside requests; elsewhere anyone could send it.
    if settings.on_app_engine and request.headers.get("X-Appengine-Cron") == "true":
        return True
    token = settings.admin_token
    supplied = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(supplied.encode(), token.encode())


def error_response(exc):
    """An HTTP error as a short plain-text answer: code, name and reason."""
    response = exc.get_response()
    reason = "no such path" if exc.code == 404 else exc.description
    response.set_data("%d %s: %s\n" % (exc.code, exc.name, reason))
    response.mimetype = "text/plain"
    return response


def install_error_handlers(app):
    """Short plain-text reasons for every HTTP error, never an HTML page."""

    app.register_error_handler(HTTPException, error_response)

    @app.errorhandler(Exception)
    def unexpected(exc):
        log.exception("unexpected error")
        return Response("500 Internal Server Error\n", status=500, mimetype="text/plain")
