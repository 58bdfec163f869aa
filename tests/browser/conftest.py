"""Fixtures for the browser tests: the app under gunicorn on the embedded
SQLite store, a second server on another origin that stands for a
third-party site, and pages whose errors fail the test. The browser
(Debian's Chromium, driven by Playwright) and the built zips are
tests/conftest.py's."""

import re
import threading
import uuid

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from tools import devservers


@pytest.fixture(scope="session")
def site(built, tmp_path_factory):
    """The whole app (gateway and zipserve) under gunicorn as production
    runs it: two gevent worker processes (push wake-ups on), so a page's
    requests land on either."""
    db = tmp_path_factory.mktemp("browser_store") / "mobwrite.sqlite3"
    server = devservers.start_gunicorn({"MOBWRITE_STORE": "sqlite", "MOBWRITE_SQLITE_PATH": str(db),
                                        "ZIPSERVE_DIR": str(built[0])}, workers=2,
                                       args=["-k", "gevent", "--graceful-timeout", "2"])
    server.url = server.address
    yield server
    server.stop()


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args):
        pass


class OtherOrigin:
    """A plain HTTP server on another port (so another origin) serving pages
    given as text: what a third-party site embedding our client looks like."""

    def __init__(self):
        self.pages = {}
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def app(self, environ, start_response):
        body = self.pages.get(environ["PATH_INFO"])
        if body is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    def serve(self, path, html):
        """Serve ``html`` at ``path``; returns its absolute URL."""
        self.pages[path] = html.encode("utf-8")
        return self.url + path

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def other_origin():
    server = OtherOrigin()
    yield server
    server.stop()


class PageErrors:
    """Everything pages reported as going wrong: console errors, uncaught
    exceptions and failed requests, less what a test said to expect."""

    def __init__(self):
        self.errors = []

    # A held push wait is cut by the page itself when its documents change
    # or it is left (issue 11): that abort is the client working, not failing.
    EXPECTED = (r"/wait(\?\S*)? net::ERR_ABORTED$",)

    def watch(self, page, allow):
        def add(text):
            if not any(re.search(pattern, text) for pattern in (*allow, *self.EXPECTED)):
                self.errors.append(f"{page.url}: {text}")

        page.on("console", lambda m: m.type == "error" and add(m.text))
        page.on("pageerror", lambda e: add(str(e)))
        page.on("requestfailed", lambda r: add(f"failed {r.url} {r.failure}"))


@pytest.fixture
def open_page(browser):
    """``open_page(url, context=None, html=None, allow=())``: a page, in a new
    browser context unless one is given. With ``html``, the browser itself
    answers ``url`` with that page (any origin, no server needed). Console
    errors, page errors and failed requests fail the test at teardown,
    except those matching a regex in ``allow``."""
    contexts = []
    watcher = PageErrors()

    def open_(url, context=None, html=None, allow=(), **context_options):
        if context is None:
            context = browser.new_context(**context_options)
            contexts.append(context)
        page = context.new_page()
        watcher.watch(page, allow)
        if html is not None:
            page.route(url, lambda route: route.fulfill(body=html, content_type="text/html; charset=utf-8"))
        page.goto(url)
        return page

    yield open_
    # Errors first: closing a page with a sync in flight is no error.
    errors = list(watcher.errors)
    for context in contexts:
        context.close()
    assert errors == [], "\n".join(errors)


@pytest.fixture
def doc_name(request):
    """A document name no other test uses."""
    return f"{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
