"""Real headless Chromium loads a Dijit page out of the zips (the landing
page, index.html: it needs no sync gateway), from our own origin and from a
page on another origin, with no console error."""

import time
import zipfile

from zipserve_support import make_app
from flask import Flask, Response

from zipserve import Config

class PageLog:
    """What a page did: console errors, script errors, failed requests and
    every response from the zip server."""

    def __init__(self, page, zip_origin):
        self.errors = []
        self.responses = {}
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url} {r.failure}"))

        def on_response(response):
            if response.url.startswith(zip_origin):
                self.responses[response.url] = response

        page.on("response", on_response)


def index_html(built_dir):
    with zipfile.ZipFile(built_dir / "mobwrite.zip") as zf:
        return zf.read("index.html").decode()


def zip_server(built_dir, live_server, **overrides):
    return live_server(make_app(Config(directory=str(built_dir), **overrides)))


def other_origin_page(live_server, zip_url, html):
    """A second server, another origin, serving the page with a <base> that
    points its relative URLs (Dojo, style sheets) at the zip server."""
    page = html.replace("<head>", f'<head>\n<base href="{zip_url}/static/mobwrite/index.html">', 1)
    assert page.count(zip_url) == 1
    app = Flask("other_origin")

    @app.route("/embed.html")
    def embed():
        return Response(page, content_type="text/html; charset=utf-8")

    return live_server(app)


def load(browser, url, zip_origin, wait_ready=True):
    page = browser.new_page()
    log = PageLog(page, zip_origin)
    page.goto(url)
    if wait_ready:
        page.wait_for_selector("body[data-ready]", timeout=30_000, state="attached")
    return page, log


def check_rendered(page, log):
    assert log.errors == []
    assert page.evaluate("require('dijit/registry').length") >= 3  # the name box and two buttons
    # Widgets whose templates came through dojo/text! are in the DOM, styled by claro.
    assert page.locator("#open").evaluate("n => !!n.closest('.dijitButton')")
    assert page.locator(".dijitValidationTextBox").bounding_box()["width"] > 100
    assert page.locator("#open").evaluate("n => getComputedStyle(n.closest('.dijitButtonNode')).borderRadius") != "0px"
    # Open with no name: the box says so in a dijit/Tooltip, one more template.
    page.locator("#open").click()
    page.wait_for_selector(".dijitTooltip", state="visible", timeout=10_000)
    assert log.errors == []
    statuses = {url: r.status for url, r in log.responses.items()}
    assert statuses and set(statuses.values()) <= {200, 304}, statuses
    templates = [u for u in statuses if "/templates/" in u and u.endswith(".html")]
    assert templates, "no template was fetched through dojo/text!"
    return statuses, templates


def test_dijit_page_from_our_origin(browser, built, live_server):
    server = zip_server(built[0], live_server)
    page, log = load(browser, f"{server.url}/static/mobwrite/index.html", server.url)
    statuses, _ = check_rendered(page, log)
    assert len(statuses) > 100  # unbuilt Dojo: one request per module
    dojo = log.responses[f"{server.url}/static/dojo/dojo.js"]
    assert dojo.header_value("content-encoding") == "gzip"  # Chromium took the wrapped stream
    page.close()


def test_dijit_page_on_another_origin(browser, built, live_server):
    server = zip_server(built[0], live_server)
    other = other_origin_page(live_server, server.url, index_html(built[0]))
    assert other.url != server.url
    page, log = load(browser, f"{other.url}/embed.html", server.url)
    _, templates = check_rendered(page, log)
    # The templates were cross-origin XHRs, allowed by our CORS header.
    response = log.responses[templates[0]]
    assert response.request.resource_type == "xhr"
    assert response.header_value("access-control-allow-origin") == "*"
    page.close()


def test_another_origin_fails_without_the_cors_header(browser, built, live_server):
    """The control: the same page breaks when zipserve sends no CORS header,
    so the test above passes because of that header."""

    server = zip_server(built[0], live_server, cors_origin="")
    other = other_origin_page(live_server, server.url, index_html(built[0]))
    page, log = load(browser, f"{other.url}/embed.html", server.url, wait_ready=False)
    deadline = time.monotonic() + 20
    while not log.errors and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert any("CORS" in e or "Access-Control-Allow-Origin" in e for e in log.errors), log.errors
    assert page.get_attribute("body", "data-ready") is None
    page.close()
