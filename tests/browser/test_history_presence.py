"""History and presence in real Chromium: two editors see each other in the
presence list; one deletes everything, the other restores from the history
panel, and both show the restored text; a closed page leaves the list at
once. Screenshots of both go to docs/ with MOBWRITE_SCREENSHOT=1."""

import os
import shutil
import uuid
from urllib.parse import quote

from test_editor import REPO, SYNC_TIMEOUT_MS, converge, png_size, type_at, wait_ready

PEOPLE = """(names) => {
  const here = Array.from(document.querySelectorAll("#people .person"), (n) => n.textContent).sort();
  if (JSON.stringify(here) === JSON.stringify(names)) return true;
  mobwrite.syncNow();
  return false;
}"""

SHOWS = """(want) => {
  if (document.getElementById("text").value === want) return true;
  mobwrite.syncNow();
  return false;
}"""


def _editor(open_page, site, doc, name, context=None):
    page = open_page(f"{site.url}/static/mobwrite/editor.html?doc={quote(doc, safe='')}&name={name}", context,
                     viewport={"width": 1100, "height": 640})
    wait_ready(page)
    return page


def _people(page, names):
    page.wait_for_function(PEOPLE, arg=sorted(names), timeout=SYNC_TIMEOUT_MS, polling=500)


def _keep(shot, name):
    assert png_size(shot)[0] > 300
    if os.environ.get("MOBWRITE_SCREENSHOT") == "1":
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, REPO / "docs" / name)


def test_presence_then_delete_everything_and_restore_from_the_panel(open_page, site, tmp_path):
    doc_name = f"Team notes {uuid.uuid4().hex[:6]}"  # reads well in README's screenshots
    ann = _editor(open_page, site, doc_name, "Ann")
    bob = _editor(open_page, site, doc_name, "Bob")
    _people(ann, ["Bob"])
    _people(bob, ["Ann"])

    type_at(ann, "start", "Minutes: ship the history panel on Friday.")
    assert "Friday" in converge([ann, bob])
    ann.screenshot(path=str(tmp_path / "presence.png"))
    _keep(tmp_path / "presence.png", "presence.png")

    bob.click("#text")                     # the damage: everything gone
    bob.keyboard.press("Control+A")
    bob.keyboard.press("Delete")
    assert converge([ann, bob]) == ""

    ann.click("#history")
    ann.wait_for_function("""() => document.getElementById("history-preview").value.includes("Friday")""",
                          timeout=SYNC_TIMEOUT_MS)
    assert "Friday" in ann.inner_text("#history-diff")  # a deletion, against the empty text now
    ann.screenshot(path=str(tmp_path / "history.png"))
    _keep(tmp_path / "history.png", "history-panel.png")
    ann.click("#history-restore")
    ann.wait_for_function("""() => /^Restored|failed/.test(document.getElementById("history-note").textContent)""",
                          timeout=SYNC_TIMEOUT_MS)
    assert ann.inner_text("#history-note").startswith("Restored"), ann.inner_text("#history-note")
    # Both pages agree on the empty text until a sync brings the restore:
    # wait for it on each, then for the two to settle.
    for page in (ann, bob):
        page.wait_for_function(SHOWS, arg="Minutes: ship the history panel on Friday.", timeout=SYNC_TIMEOUT_MS,
                               polling=500)
    assert converge([ann, bob]) == "Minutes: ship the history panel on Friday."

    # The landing page's recent list (this browser context's) counts who is in.
    landing = open_page(f"{site.url}/static/mobwrite/index.html", bob.context)
    landing.wait_for_function("""() => (document.querySelector("#recent .here") || {}).textContent === " · 2 here" """,
                              timeout=SYNC_TIMEOUT_MS)
    landing.close()

    bob.close()                            # pagehide: its beacon says Bob is gone
    _people(ann, [])
