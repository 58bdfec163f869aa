"""Private documents in real Chromium (issue 12): the editor's share dialog
makes a "can edit" and a "can view" link; the viewer, in the editor and in a
page on another origin (script transport), sees edits live, shows read-only,
and whatever it types is put back."""

import uuid
from urllib.parse import quote

import pytest

from mobwrite.access import TokenKeys
from tools import devservers

KEY = "browser-access-key"
TIMEOUT_MS = 30_000

EMBED = """<!DOCTYPE html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>viewer</title></head><body>
<textarea id="text"></textarea><span id="status"></span>
<script src="%(site)s/static/mobwrite/mobwrite.js"></script>
<script>
mobwrite.token = %(token)s;
mobwrite.onStatus(function (s) { document.getElementById("status").dataset.status = s; });
mobwrite.share({name: %(doc)s, element: document.getElementById("text")});
</script></body></html>"""


@pytest.fixture(scope="module")
def private_site(built, tmp_path_factory):
    db = tmp_path_factory.mktemp("access_store") / "mobwrite.sqlite3"
    server = devservers.start_gunicorn({"MOBWRITE_STORE": "sqlite", "MOBWRITE_SQLITE_PATH": str(db),
                                        "ZIPSERVE_DIR": str(built[0]), "MOBWRITE_ACCESS": "tokens",
                                        "MOBWRITE_TOKEN_PREFIXES": "private", "MOBWRITE_TOKEN_KEY": KEY},
                                       workers=2, threads=4)
    yield server.address
    server.stop()


def wait_value(page, expected):
    try:
        _wait_value(page, expected)
    except Exception:
        raise AssertionError("%r != %r" % (page.input_value("#text"), expected))


def _wait_value(page, expected):
    page.wait_for_function("([v]) => { mobwrite.syncNow(); return document.getElementById('text').value === v; }",
                           arg=[expected], timeout=TIMEOUT_MS, polling=300)


def test_edit_and_view_links_across_origins(private_site, other_origin, open_page):
    doc = "private/" + uuid.uuid4().hex[:8]
    keys = TokenKeys(KEY)
    editor_url = "%s/static/mobwrite/editor.html?doc=%s" % (private_site, quote(doc, safe=""))
    editor = open_page(editor_url + "#token=" + keys.mint(doc, "edit", 600))
    editor.wait_for_selector("body[data-ready]", state="attached", timeout=TIMEOUT_MS)
    editor.fill("#text", "hello from the editor")
    editor.wait_for_selector('#status[data-status="synced"]', timeout=TIMEOUT_MS)

    editor.click("#share")
    editor.wait_for_selector("#share-view:not([hidden])", timeout=TIMEOUT_MS)
    edit_link = editor.input_value("#share-url")
    view_link = editor.input_value("#share-view-url")
    assert edit_link == editor.url
    view_token = view_link.split("#token=", 1)[1]
    assert view_link.startswith(editor_url + "#token=") and keys.verify(view_token).right == "view"
    editor.click("#share-dialog .dijitDialogCloseIcon")
    editor.wait_for_selector("#share-dialog", state="hidden", timeout=TIMEOUT_MS)

    viewer = open_page(view_link)
    viewer.wait_for_selector('#status[data-status="readonly"]', timeout=TIMEOUT_MS)
    wait_value(viewer, "hello from the editor")
    assert viewer.eval_on_selector("#text", "el => el.readOnly")
    assert viewer.text_content("#status") == "read-only"

    embed = open_page(other_origin.serve("/viewer-%s.html" % uuid.uuid4().hex[:6], EMBED % {
        "site": private_site, "token": '"%s"' % view_token, "doc": '"%s"' % doc}))
    embed.wait_for_selector('#status[data-status="readonly"]', state="attached", timeout=TIMEOUT_MS)
    wait_value(embed, "hello from the editor")

    # Edits reach both viewers live.
    editor.fill("#text", "hello from the editor, again")
    wait_value(viewer, "hello from the editor, again")
    wait_value(embed, "hello from the editor, again")

    # A viewer's typing (forced past readOnly, as a script could) is put back.
    embed.evaluate("""() => { const t = document.getElementById('text');
        t.readOnly = false; t.value = 'vandalised'; t.dispatchEvent(new Event('input')); }""")
    wait_value(embed, "hello from the editor, again")
    editor.wait_for_timeout(1500)
    assert editor.input_value("#text") == "hello from the editor, again"


def test_without_a_token_the_editor_says_no_access(private_site, open_page):
    doc = "private/" + uuid.uuid4().hex[:8]
    page = open_page("%s/static/mobwrite/editor.html?doc=%s" % (private_site, quote(doc, safe="")))
    page.wait_for_selector('#status[data-status="noaccess"]', timeout=TIMEOUT_MS)
    assert page.text_content("#status").startswith("no access")
    assert page.eval_on_selector("#text", "el => el.readOnly")
