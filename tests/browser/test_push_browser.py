"""Push wake-ups in real Chromium (issue 11), against the browser tests'
server (gunicorn's gevent workers on the embedded SQLite store): a
keystroke reaches a page that would otherwise not poll for a minute,
same-origin over XHR and cross-origin over script tags; and a page whose
wake-ups are lost still converges through its safety poll."""

import json
import time
import urllib.parse

from pages import bare_page

SLOW_POLLING = "mobwrite.minSync = 60000; mobwrite.maxSync = 60000; mobwrite.syncInterval = 60000;"


def waits_of(page):
    seen = []

    def on_request(request):
        parts = urllib.parse.urlsplit(request.url)
        if parts.path == "/scripts/wait":
            seen.append(request.method)

    page.on("request", on_request)
    return seen


def wait_push_on(page):
    page.wait_for_function("mobwrite.pushMode === 'on' && mobwrite.status === 'synced'", timeout=20_000)


def type_and_time(writer, reader, text):
    writer.click("#t")
    writer.keyboard.press("Control+End")
    started = time.monotonic()
    writer.keyboard.type(text)
    reader.wait_for_function("want => document.getElementById('t').value.endsWith(want)", arg=text, timeout=10_000)
    return time.monotonic() - started


def test_a_keystroke_wakes_a_page_that_polls_once_a_minute(site, open_page, doc_name):
    a = open_page(f"{site.url}/test/{doc_name}-a.html", html=bare_page(site.url, doc_name, SLOW_POLLING))
    b = open_page(f"{site.url}/test/{doc_name}-b.html", html=bare_page(site.url, doc_name, SLOW_POLLING))
    b_waits = waits_of(b)
    wait_push_on(a)
    wait_push_on(b)
    elapsed = type_and_time(a, b, "woken")
    assert elapsed < 5, elapsed  # polling alone: a minute
    assert b_waits and set(b_waits) == {"POST"}
    assert b.evaluate("details.some(d => d.push === 'on')")


def test_a_cross_origin_embed_waits_over_script_tags(site, other_origin, open_page, doc_name):
    home = open_page(f"{site.url}/test/{doc_name}.html", html=bare_page(site.url, doc_name, SLOW_POLLING))
    away = open_page(other_origin.serve(f"/{doc_name}-push.html", bare_page(site.url, doc_name, SLOW_POLLING)))
    away_waits = waits_of(away)
    wait_push_on(home)
    wait_push_on(away)
    assert type_and_time(home, away, "over scripts") < 5
    assert away_waits and set(away_waits) == {"GET"}


def test_lost_wake_ups_still_converge_through_the_safety_poll(site, browser, open_page, doc_name):
    # The reader's waits are all answered "nothing happened", as if every
    # wake-up for it were lost on the way; its safety poll remains. The
    # route is set before the page loads: a real wait sent before it would
    # be held at the gateway and wake the reader after all.
    settings = SLOW_POLLING + " mobwrite.pushSafetySync = 2000;"
    a = open_page(f"{site.url}/test/{doc_name}-a.html", html=bare_page(site.url, doc_name, settings))

    def lose(route):  # as a held wait that timed out with nothing new
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps({"push": True, "docs": {doc_name: "0"}, "woke": [], "timeout": 1}))

    reader = browser.new_context()
    try:
        reader.route("**/scripts/wait", lose)
        b = open_page(f"{site.url}/test/{doc_name}-b.html", context=reader, html=bare_page(site.url, doc_name, settings))
        wait_push_on(a)
        wait_push_on(b)
        # Type just after one of the reader's safety polls has been answered,
        # so that only the next one, 2 s on, can bring the text.
        with b.expect_response(lambda r: urllib.parse.urlsplit(r.url).path == "/scripts/q.py", timeout=10_000):
            pass
        elapsed = type_and_time(a, b, "found anyway")
        assert 1.0 < elapsed < 8, elapsed  # not a wake-up; the 2 s safety poll
    finally:
        reader.close()
