"""The gateway's WSGI face: syncs answered in front of Flask.

A sync is small and frequent, and Flask's per-request machinery (contexts,
routing, Request and Response objects, signals) cost about as much as the
sync itself. Like zipserve's fast path, this sits in front of
``app.wsgi_app`` and answers the ordinary case: GET or POST on a gateway
path with a ``q`` or ``p`` field, a url-encoded (or no) body. Anything else
(no field: the 303; multipart; a body without a length or over the limit;
a form that does not decode) goes to Flask untouched, so every unusual
answer comes from one place. The answers are the blueprint's, byte for byte.
"""

import io

from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from . import forms, gateway
from .limits import RateLimited
from .stores import StoreUnavailable

_FORM = b"application/x-www-form-urlencoded"


class FastGateway:
    def __init__(self, service, app):
        self.service, self.app = service, app
        self.paths = frozenset(gateway.GATEWAY_PATHS)
        self.max_body = service.settings.max_body
        self.headers = {mimetype: gateway.answer_headers(service.settings, mimetype)
                        for _, mimetype, _ in gateway.TRANSPORTS}

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") not in self.paths or method not in ("GET", "POST"):
            return self.app(environ, start_response)
        body = b""
        if method == "POST":
            body = self._body(environ)
            if body is None:
                return self.app(environ, start_response)
        try:
            fields = forms.urlencoded(environ.get("QUERY_STRING", "").encode("latin-1"))
            if body:
                fields.update(forms.urlencoded(body))
        except (forms.FormError, UnicodeEncodeError):
            return self._to_flask(environ, start_response, body)
        for name, mimetype, render in gateway.TRANSPORTS:
            if name in fields:
                return self._sync(environ, start_response, fields[name], mimetype, render)
        return self._to_flask(environ, start_response, body)

    def _body(self, environ):
        """The url-encoded body, or None when Flask should read it itself."""
        kind = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower().encode("latin-1")
        length = environ.get("CONTENT_LENGTH", "")
        # isascii: str.isdigit() also takes "²" (int() refuses it) and "٣" (werkzeug does).
        if kind == b"multipart/form-data" or not (length.isascii() and length.isdigit()) or int(length) > self.max_body:
            return None
        body = environ["wsgi.input"].read(int(length)) if int(length) else b""
        if len(body) < int(length):  # the client stopped short: Flask refuses that (a 400), so must we
            environ["wsgi.input"] = io.BytesIO(body)
            return None
        return body

    def _sync(self, environ, start_response, text, mimetype, render):
        service = self.service
        try:
            lines = service.handle(text, gateway.client_ip_of(service.settings, environ))
        except StoreUnavailable as exc:
            gateway.log.warning("store unavailable: %s", exc)
            return gateway.error_response(ServiceUnavailable("the store is busy; retry"))(environ, start_response)
        except RateLimited as exc:
            gateway.log.warning("429: %s", exc)
            error = TooManyRequests(str(exc), retry_after=exc.retry_after)
            return gateway.error_response(error)(environ, start_response)
        data = render(lines).encode("utf-8")
        start_response("200 OK", self.headers[mimetype] + [("Content-Length", str(len(data)))])
        return [data]

    def _to_flask(self, environ, start_response, body):
        environ["wsgi.input"] = io.BytesIO(body)  # what we read, for Flask to read again
        environ["CONTENT_LENGTH"] = str(len(body))
        return self.app(environ, start_response)
