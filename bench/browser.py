"""Propagation latency: from a keystroke in one browser to the other, in
real headless Chromium (Debian's, driven by Playwright) through gunicorn on
the embedded SQLite store.

    python3 -m bench.browser            # about 7 minutes
    python3 -m bench.browser --quick    # about 2.5 minutes

Two browser contexts open the same bare page (one shared textarea, the
client loaded from /static/mobwrite/mobwrite.js on the gateway's origin).

- typing: context A replays the start of a real editing trace
  (sveltecomponent, ../shared/traces) at 5 keystrokes a second, each
  keystroke setting the textarea's text and firing 'input' as typing does;
  B only watches. A keystroke's latency is the time from it until B's
  textarea first holds that keystroke's text or a later one. Measured with
  the default interval (minSync 1 s) and with minSync 250 ms.
- idle: both pages sit idle until their interval has grown to maxSync
  (10 s), then A makes one keystroke at a random point of B's cycle;
  repeated.
- baseline: one sync request's round trip as the browser times it
  (Resource Timing), in the same run; latencies are also given as
  multiples of it.

Figures are medians (and p90) over keystrokes: the machine is noisy.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

if __package__ in (None, ""):  # run as a file: the project root first (its zipserve, not bench's)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import traces  # noqa: E402  (after the path fix)
from bench.common import ROOT, ensure_zips, percentile  # noqa: E402
from tools import devservers  # noqa: E402

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]

PAGE = """<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<textarea id="t"></textarea>
<script src="/static/mobwrite/mobwrite.js"></script>
<script>
mobwrite.minSync = %(min)d;
var box = document.getElementById("t");
window.seen = [];      // [time, text] each time a remote change lands
box.addEventListener("mobwrite:change", function () { seen.push([Date.now(), box.value]); });
window.typed = [];     // time of each keystroke replayed here
window.replay = function (texts, gap) {
  return new Promise(function (done) {
    var i = 0;
    var timer = setInterval(function () {
      box.value = texts[i];
      typed.push(Date.now());
      box.dispatchEvent(new Event("input", {bubbles: true}));
      if (++i === texts.length) { clearInterval(timer); done(); }
    }, gap);
  });
};
window.roundTrips = function () {
  return performance.getEntriesByType("resource")
    .filter(function (e) { return e.name.indexOf("/scripts/q.py") >= 0; })
    .map(function (e) { return e.duration; });
};
mobwrite.share({name: %(doc)s, element: box});
</script>"""


class Pair:
    """Two browser contexts on one document, on the page above."""

    def __init__(self, browser, site, doc, min_sync):
        html = PAGE % {"min": min_sync, "doc": json.dumps(doc)}
        url = f"{site}/bench/{doc}.html"
        self.contexts = [browser.new_context() for _ in range(2)]
        self.pages = []
        for context in self.contexts:
            page = context.new_page()
            page.route(url, lambda route: route.fulfill(body=html, content_type="text/html"))
            page.goto(url)
            page.wait_for_function("mobwrite.status === 'synced'", timeout=30_000)
            self.pages.append(page)

    def close(self):
        for context in self.contexts:
            context.close()

    def latencies(self, texts, gap_ms):
        """Replay ``texts`` in A; the latency of each keystroke as B saw it, in ms."""
        a, b = self.pages
        start = len(a.evaluate("typed"))
        a.evaluate("([texts, gap]) => replay(texts, gap)", [texts, gap_ms])
        b.wait_for_function("want => document.getElementById('t').value === want",
                            arg=texts[-1], timeout=120_000)
        typed = a.evaluate("typed")[start:]
        index = {text: i for i, text in enumerate(texts)}  # a repeated text counts as its last keystroke
        arrivals = [(t, index[v]) for t, v in b.evaluate("seen") if v in index]
        out = []
        for k, at in enumerate(typed):
            shown = [t for t, j in arrivals if j >= k and t >= at]
            if shown:
                out.append(min(shown) - at)
        return out


def run(keystrokes, idle_repeats, idle_wait, zips):
    """Both scenarios and the baseline; prints the table. ``idle_wait``: the
    seconds both pages sit idle before each idle keystroke (plus up to 40 %
    more, jittered); ``zips``: the folder of the zips the page's client
    comes from (built if missing)."""
    ensure_zips(zips)
    trace = traces.load("sveltecomponent")
    texts = list(trace.keystroke_texts(limit=keystrokes))
    db = os.path.join(tempfile.mkdtemp(prefix="bench-browser-"), "mobwrite.sqlite3")
    server = devservers.start_gunicorn({"MOBWRITE_STORE": "sqlite", "MOBWRITE_SQLITE_PATH": db,
                                        "ZIPSERVE_DIR": zips},
                                       workers=2, threads=4)
    from playwright.sync_api import sync_playwright

    results = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=LAUNCH_ARGS)
            round_trips = []
            for min_sync in (1000, 250):
                pair = Pair(browser, server.address, f"typing-{min_sync}-{time.time_ns()}", min_sync)
                pair.latencies(texts[:5], 200)  # warm up: both intervals at minSync
                results[f"typing, minSync {min_sync} ms"] = pair.latencies(texts[5:], 200)
                round_trips += pair.pages[0].evaluate("roundTrips()")
                pair.close()
            pair = Pair(browser, server.address, f"idle-{time.time_ns()}", 1000)
            idle = []
            base = pair.pages[0].input_value("#t")
            jitter = random.Random(7)
            for i in range(idle_repeats):
                # From 1 s, +0.9 s a quiet sync (the original's curve) reaches
                # maxSync (10 s) after ten syncs, ~55 s; the jitter
                # keeps the keystroke from landing at the same point of B's cycle.
                time.sleep(idle_wait + jitter.uniform(0, idle_wait * 0.4))
                idle += pair.latencies([base + "x" * (i + 1)], 1)
            results["idle pages, one keystroke"] = idle
            round_trips += pair.pages[0].evaluate("roundTrips()")
            pair.close()
            browser.close()
    finally:
        server.stop()

    rtt = statistics.median(round_trips)
    print(f"trace: sveltecomponent, first {keystrokes} keystrokes at 5/s; "
          f"gunicorn 2 workers x 4 threads, sqlite; Chromium {shutil.which('chromium')}")
    print(f"baseline: one sync round trip, median {rtt:.1f} ms over {len(round_trips)} requests\n")
    line = "{:<28} {:>6} {:>10} {:>10} {:>12}"
    print(line.format("scenario", "n", "p50 ms", "p90 ms", "p50 / RTT"))
    for name, values in results.items():
        p50 = statistics.median(values)
        print(line.format(name, len(values), f"{p50:,.0f}", f"{percentile(values, 0.9):,.0f}",
                          f"{p50 / rtt:,.0f}x"))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer keystrokes and idle repeats")
    parser.add_argument("--keystrokes", type=int, help="trace keystrokes typed (default 200; quick 60; at least 6)")
    parser.add_argument("--idle-repeats", type=int, help="idle keystrokes (default 5; quick 2)")
    parser.add_argument("--idle-wait", type=float, default=60,
                        help="seconds idle before each (default 60: the interval grows by a tenth per quiet sync, as the original's)")
    parser.add_argument("--zips", default=os.environ.get("ZIPSERVE_DIR") or os.path.join(ROOT, "static_build"))
    args = parser.parse_args(argv)
    keystrokes = args.keystrokes or (60 if args.quick else 200)
    if keystrokes < 6 or args.idle_wait < 0:
        parser.error("--keystrokes must be 6 or more (5 warm up) and --idle-wait not negative")
    run(keystrokes, args.idle_repeats or (2 if args.quick else 5), args.idle_wait, os.path.abspath(args.zips))


if __name__ == "__main__":
    main()
