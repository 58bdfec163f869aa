"""The sync path's Datastore calls as protobuf over HTTP/1.1.

Datastore serves its v1 API over gRPC and over HTTP, where a request can be
the same protobuf bytes (``Content-Type: application/x-protobuf``, as
google-cloud-datastore's HTTP mode sends them). Chosen by
``MOBWRITE_DATASTORE_TRANSPORT=http``; it costs this process less CPU than
gRPC, most under the gevent worker (figures: README, "Datastore round
trips"). Connections are kept alive in a small pool; under gunicorn's
gevent worker the patched sockets let other requests run while one waits.
ndb keeps its own gRPC channel for the rest.
"""

import http.client
import select
import ssl
import threading

from google.api_core import exceptions as api_exceptions
from google.protobuf.message import DecodeError
from google.rpc import status_pb2

KEEP_IDLE = 16  # connections kept open between calls; more are closed after use


class HttpCalls:
    """``calls[name](request) -> response`` for Lookup, Commit and Rollback on
    one project, over pooled HTTP/1.1 connections to ``host`` (TLS when
    ``secure``), with ``credentials``' token on every call when given."""

    def __init__(self, host, secure, credentials, project, database, methods, user_agent, timeout):
        self.host, self.secure, self.credentials, self.timeout = host, secure, credentials, timeout
        self.tls = ssl.create_default_context() if secure else None
        self.paths = {name: "/v1/projects/%s:%s" % (project, name) for name in methods}
        self.url_base = "%s://%s" % ("https" if secure else "http", host)
        params = "project_id=" + project + ("&database_id=" + database if database else "")
        self.headers = {"Content-Type": "application/x-protobuf", "User-Agent": user_agent,
                        "x-goog-api-client": user_agent, "x-goog-request-params": params}
        self.idle, self.lock = [], threading.Lock()
        self.auth_request = None
        self.calls = {name: self._method(name, response) for name, (_, response) in methods.items()}

    def _method(self, name, response_class):
        def call(request):
            content = self.post(name, request.SerializeToString())
            try:
                return response_class.FromString(content)
            except DecodeError as exc:  # a 200 that is not Datastore's answer (a proxy's page)
                raise api_exceptions.ServiceUnavailable("Datastore's answer does not parse: %r" % content[:200]) from exc
        return call

    def post(self, name, body):
        """The answer's body to ``body`` posted to method ``name``; any failure
        as google.api_core's exception for it (the store makes those 503s)."""
        headers = self._authorized(name)
        connection = self._connection()
        try:
            connection.request("POST", self.paths[name], body, headers)
            answer = connection.getresponse()
            content = answer.read()
        except TimeoutError as exc:
            connection.close()
            raise api_exceptions.DeadlineExceeded("Datastore did not answer in %ss" % self.timeout) from exc
        except (OSError, http.client.HTTPException) as exc:
            # Not retried: a Commit may have landed, and a Lookup that began a
            # transaction would leave it holding its locks. The client resends.
            connection.close()
            raise api_exceptions.ServiceUnavailable("Datastore connection failed: %r" % exc) from exc
        if answer.will_close:
            connection.close()
        else:
            self._keep(connection)
        if answer.status != 200:
            raise _error(answer.status, content)
        return content

    def _authorized(self, name):
        if self.credentials is None:
            return self.headers
        headers = dict(self.headers)
        if self.auth_request is None:
            from google.auth.transport.requests import Request  # only where there is a token to fetch
            self.auth_request = Request()
        try:  # refreshes the token when it has expired
            self.credentials.before_request(self.auth_request, "POST", self.url_base + self.paths[name], headers)
        except Exception as exc:
            raise api_exceptions.ServiceUnavailable("Datastore credentials: %s" % exc) from exc
        return headers

    def _connection(self):
        while True:
            with self.lock:
                connection = self.idle.pop() if self.idle else None
            if connection is None:
                if self.secure:
                    return http.client.HTTPSConnection(self.host, timeout=self.timeout, context=self.tls)
                return http.client.HTTPConnection(self.host, timeout=self.timeout)
            if not _dropped(connection):
                return connection
            connection.close()

    def _keep(self, connection):
        with self.lock:
            if len(self.idle) < KEEP_IDLE:
                self.idle.append(connection)
                return
        connection.close()

    def close(self):
        with self.lock:
            idle, self.idle = self.idle, []
        for connection in idle:
            connection.close()


def _dropped(connection):
    """True if the server has closed a kept-alive connection (or sent
    something unasked): an idle connection has nothing to read."""
    if connection.sock is None:
        return True
    try:
        readable, _, _ = select.select([connection.sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _error(status, content):
    """Datastore's error answer (a google.rpc.Status) as the exception its
    gRPC code names; anything else (a proxy's page) by its HTTP status."""
    try:
        detail = status_pb2.Status.FromString(content)
    except DecodeError:
        detail = None
    if detail is not None and detail.code:
        return api_exceptions.from_grpc_status(detail.code, detail.message or "HTTP %d" % status)
    return api_exceptions.from_http_status(status, "HTTP %d from Datastore: %r" % (status, content[:200]))
