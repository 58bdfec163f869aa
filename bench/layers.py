"""Cold load of the editor: with the Dojo build layer (what editor.html
ships) against the same page on unbuilt Dojo, in one run, in real headless
Chromium (Debian's, driven by Playwright) through gunicorn.

    python3 -m bench.layers            # 9 cold loads of each, about 1 minute
    python3 -m bench.layers --runs 3

Each load is a new browser context, so its cache is empty. The unlayered
page is editor.html as served, with its two layer lines swapped back to
what the page had before the layer: dijit's claro.css (28 @imports) and no
layer script, so the loader fetches each module, template and nls bundle
on its own. Both variants go through the same route handler, and run in
turns (layered, unlayered, layered, ...) so that machine noise hits both.

- requests: every request the page makes until the editor is usable
  (the sync requests to the gateway are not counted: they are the same).
- ms to usable: performance.now() when the page sets body[data-ready],
  after the widgets are parsed and the text is shared.

Figures are medians over the runs: the machine is noisy.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mobwrite import devservers  # noqa: E402  (after the path fix)

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# The two lines of editor.html that the layer changed, and what they were.
LAYER_CSS = '<link rel="stylesheet" href="layer/claro.css">'
UNBUILT_CSS = '<link rel="stylesheet" href="../dijit/themes/claro/claro.css">'
LAYER_SCRIPT = '<script src="layer/pages.js"></script>'

# Notes the moment the page marks itself ready, without polling.
READY_PROBE = """
new MutationObserver(function (records, observer) {
  if (document.body && document.body.dataset.ready) {
    window.__readyAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {attributes: true, subtree: true, attributeFilter: ["data-ready"]});
"""


def unlayered(html):
    assert LAYER_CSS in html and LAYER_SCRIPT in html, "editor.html no longer has its layer lines"
    return html.replace(LAYER_CSS, UNBUILT_CSS).replace(LAYER_SCRIPT + "\n", "")


def cold_load(browser, url, layered):
    """(requests, ms to usable) for one load in a fresh context."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.add_init_script(READY_PROBE)
        requests = []
        page.on("request", lambda r: "/scripts/q.py" not in r.url and requests.append(r.url))

        def serve_page(route):
            answer = route.fetch()
            body = answer.text()
            route.fulfill(response=answer, body=body if layered else unlayered(body))

        page.route("**/static/mobwrite/editor.html*", serve_page)
        page.goto(url)
        page.wait_for_function("window.__readyAt !== undefined", timeout=60_000, polling=50)
        ready = page.evaluate("window.__readyAt")
        # Requests the page starts while finishing up count too.
        page.wait_for_load_state("networkidle")
        return len(requests), ready
    finally:
        context.close()


def run(runs):
    out = tempfile.mkdtemp(prefix="bench-layers-")
    subprocess.run(["bash", os.path.join(ROOT, "build_zips.sh")], check=True,
                   env=dict(os.environ, ZIPSERVE_DIR=out), stdout=subprocess.DEVNULL)
    db = os.path.join(out, "mobwrite.sqlite3")
    server = devservers.start_gunicorn({"MOBWRITE_STORE": "sqlite", "MOBWRITE_SQLITE_PATH": db,
                                        "ZIPSERVE_DIR": out}, workers=2, threads=4)
    from playwright.sync_api import sync_playwright

    results = {True: [], False: []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=LAUNCH_ARGS)
            url = f"{server.address}/static/mobwrite/editor.html?doc=bench-layers"
            for layered in (True, False):  # warm the server's zip reads, not the browser
                cold_load(browser, url, layered)
            for _ in range(runs):
                for layered in (True, False):
                    results[layered].append(cold_load(browser, url, layered))
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(out, ignore_errors=True)

    print(f"editor.html, cold cache, {runs} loads each, medians; gunicorn 2 workers x 4 threads; "
          f"Chromium {shutil.which('chromium')}")
    line = "{:<26} {:>9} {:>15}"
    print(line.format("variant", "requests", "ms to usable"))
    medians = {}
    for layered, name in ((True, "layered (build layer)"), (False, "unlayered (unbuilt Dojo)")):
        reqs = statistics.median(r for r, _ in results[layered])
        ms = statistics.median(t for _, t in results[layered])
        medians[layered] = (reqs, ms)
        print(line.format(name, f"{reqs:.0f}", f"{ms:,.0f}"))
    (lr, lm), (ur, um) = medians[True], medians[False]
    print(f"layered: {ur / lr:.1f}x fewer requests, {um / lm:.1f}x faster to usable")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="cold loads of each variant")
    run(parser.parse_args(argv).runs)


if __name__ == "__main__":
    main()
