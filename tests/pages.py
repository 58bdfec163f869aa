"""Helpers for browser tests that watch several pages sync."""

import json
import time


def bare_page(script_origin, doc, settings=""):
    """A page with one shared textarea, our client from ``script_origin``,
    ``settings`` (JS) run before sharing; it records each status onStatus
    changes to in ``window.statuses`` (a push mode change repeats the
    status) and every call's detail in ``window.details``."""
    return f"""<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<textarea id="t"></textarea>
<script src="{script_origin}/static/mobwrite/mobwrite.js"></script>
<script>
{settings}
window.statuses = [];
window.details = [];
mobwrite.onStatus(function (s, d) {{
  if (statuses[statuses.length - 1] !== s) statuses.push(s);
  details.push(d);
}});
mobwrite.share({{name: {json.dumps(doc)}, element: document.getElementById("t")}});
</script>"""


def agree(pages, state, timeout=30):
    """What the JS function ``state`` returns on every page once all pages
    return the same. Each round asks every page to sync now rather than
    wait for its timer; two pages must agree, so this polls from here."""
    deadline = time.monotonic() + timeout
    while True:
        values = [page.evaluate(state) for page in pages]
        if all(value == values[0] for value in values):
            return values[0]
        assert time.monotonic() < deadline, f"the pages never agreed: {values}"
        for page in pages:
            page.evaluate("mobwrite.syncNow()")
        pages[0].wait_for_timeout(250)
