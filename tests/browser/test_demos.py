"""The demos in real headless Chromium, two browser contexts standing for two
people: the shared form (every kind of field), the spreadsheet, and the
embed page on another origin syncing through the p= script transport."""

import zipfile
from urllib.parse import parse_qs, urlsplit

# The origin embed.html names in its absolute URLs (the local dev server's).
DEV_ORIGIN = "http://127.0.0.1:8080"
from pages import agree


# Everything the form demo shows, as plain values.
FORM_STATE = """() => {
  const f = document.getElementById("demo").elements;
  return {
    notes: f.notes.value, title: f.title.value, secret: f.secret.value,
    token: f.token.value, tokenShown: document.getElementById("tokenShown").textContent,
    quantity: f.quantity.value, color: f.color.value,
    toppings: Array.from(f.toppings.selectedOptions, (o) => o.value),
    subscribe: f.subscribe.checked, size: f.size.value,
  };
}"""

# Every cell of the spreadsheet and its totals, by id.
SHEET_STATE = """() => {
  const state = {};
  for (const cell of document.querySelectorAll("#sheet tbody input")) {
    if (cell.value) state[cell.id] = cell.value;
  }
  for (const total of document.querySelectorAll("#sheet tfoot td")) state[total.id] = total.textContent;
  return state;
}"""


def carries_edit(line):
    """Whether a line's delta (or raw text) inserts or deletes anything."""
    return any(token[:1] in ("+", "-") for token in line.split(":", 2)[2].split("\t"))


def two_demos(open_page, url):
    """The demo at ``url`` in two browser contexts, and the POSTs the first sends."""
    a = open_demo(open_page, url)
    b = open_demo(open_page, url)
    requests = []
    a.on("request", lambda request: request.method == "POST" and requests.append(request))
    return a, b, requests


def open_demo(open_page, url):
    """A demo page in a browser context of its own, once it has shared."""
    page = open_page(url)
    page.wait_for_selector("body[data-ready]", state="attached", timeout=30_000)
    return page


def sent(requests):
    """(document name, line) for each line after an f: line in the q=
    POSTs among ``requests``: what the client sent for each document."""
    found = []
    for request in requests:
        body = parse_qs(request.post_data or "", keep_blank_values=True)
        name = None
        for line in "".join(body.get("q", [])).split("\n"):
            if line[:2] in ("f:", "F:"):
                name = line.split(":", 2)[2]
            elif name and line[1:2] == ":":
                found.append((name, line))
    return found


def test_form_syncs_every_kind_of_field(site, open_page, doc_name):
    url = f"{site.url}/static/mobwrite/demos/form.html?doc={doc_name}"
    a = open_demo(open_page, url)
    b = open_demo(open_page, url)

    # A fills in everything, the way a person would.
    a.locator("#notes").press_sequentially("Hello from A\nsecond line")
    a.locator("#title").press_sequentially("A's title")
    a.locator("#secret").press_sequentially("s3cret!")
    a.locator("#quantity").press_sequentially("42")
    a.select_option("#color", "blue")
    a.select_option("#toppings", ["olives", "onions"])
    a.check("#subscribe")
    a.check("input[name=size][value=large]")
    a.click("#newToken")
    token = a.input_value("#token")
    assert len(token) >= 4
    want = {"notes": "Hello from A\nsecond line", "title": "A's title", "secret": "s3cret!",
            "token": token, "tokenShown": token, "quantity": "42", "color": "blue",
            "toppings": ["olives", "onions"], "subscribe": True, "size": "large"}
    assert a.evaluate(FORM_STATE) == want
    assert agree([a, b], FORM_STATE) == want

    # Then B changes some of them and A follows.
    b.click("#notes")
    b.keyboard.press("Control+End")
    b.keyboard.type(" and B")
    b.fill("#title", "B's title")
    b.select_option("#color", "green")
    b.select_option("#toppings", ["cheese"])
    b.uncheck("#subscribe")
    b.check("input[name=size][value=small]")
    want.update(notes="Hello from A\nsecond line and B", title="B's title", color="green",
                toppings=["cheese"], subscribe=False, size="small")
    assert b.evaluate(FORM_STATE) == want
    assert agree([a, b], FORM_STATE) == want


def test_form_number_is_overwritten_not_merged(site, open_page, doc_name):
    a, b, requests = two_demos(open_page, f"{site.url}/static/mobwrite/demos/form.html?doc={doc_name}")
    quantity = "() => document.getElementById('quantity').value"

    a.fill("#quantity", "100")
    assert agree([a, b], quantity) == "100"
    # Both change it before either syncs. Merged, "100" -> "150" and
    # "100" -> "200" would give "250"; overwritten, the last writer wins.
    a.fill("#quantity", "150")
    b.fill("#quantity", "200")
    assert agree([a, b], quantity) in ("150", "200")
    # On the wire: a number goes as D (overwrite), text as d (merge). (An
    # idle poll of the still empty field may go as d: it changes nothing.)
    lines = [line for name, line in sent(requests)
             if name == f"form:{doc_name}:quantity" and carries_edit(line)]
    assert any(line.startswith("D:") for line in lines), lines
    assert not any(line.startswith("d:") for line in lines), lines
    notes = [line for name, line in sent(requests)
             if name == f"form:{doc_name}:notes" and line[0] in "dD"]  # not the joining r:
    assert notes and all(line.startswith("d:") for line in notes), notes


def test_spreadsheet_syncs_cells_and_totals(site, open_page, doc_name):
    a, b, requests = two_demos(open_page, f"{site.url}/static/mobwrite/demos/spreadsheet.html?doc={doc_name}")
    assert a.text_content("#totalA") == "0"

    for cell, value in [("A1", "10"), ("A2", "32"), ("B1", "1.5"), ("E8", "7")]:
        a.locator(f"#{cell}").press_sequentially(value)
    want = {"A1": "10", "A2": "32", "B1": "1.5", "E8": "7",
            "totalA": "42", "totalB": "1.5", "totalC": "0", "totalD": "0", "totalE": "7"}
    assert a.evaluate(SHEET_STATE) == want
    assert agree([a, b], SHEET_STATE) == want

    # B changes a cell: A's cell and A's total (worked out locally) follow.
    b.fill("#A2", "2")
    want.update(A2="2", totalA="12")
    assert agree([a, b], SHEET_STATE) == want
    # One document per cell, and the totals are nobody's document.
    cells = {f"sheet:{doc_name}:{column}{row}" for column in "ABCDE" for row in range(1, 9)}
    assert {name for name, _ in sent(requests)} == cells


def five_kb_of_text():
    """Whole lines (no surrogate pair cut in two) of text that needs
    encoding: non-ASCII, an emoji, and the characters URLs treat specially."""
    lines, size, i = [], 0, 0
    while size < 5 * 1024:
        line = f"{i:03d} Grüße & 50% + €5 — a #hash?=yes; 🙂 text to paste\n"
        lines.append(line)
        size += len(line)
        i += 1
    return "".join(lines)


def test_embed_on_another_origin_syncs_by_script_transport(site, other_origin, built,
                                                           open_page, doc_name):
    with zipfile.ZipFile(built[0] / "mobwrite.zip") as zf:
        html = zf.read("demos/embed.html").decode("utf-8")
    # Only the snippet's absolute URLs name our server: swap in this one.
    assert html.count(DEV_ORIGIN) == 3
    embed_url = other_origin.serve("/embed.html", html.replace(DEV_ORIGIN, site.url))
    assert not embed_url.startswith(site.url)

    # Start from a blank page so the listener sees every request.
    a = open_page("about:blank")
    requests = []
    a.on("request", lambda request: requests.append(request))
    a.goto(f"{embed_url}?doc={doc_name}")
    a.wait_for_selector("body[data-ready]", state="attached", timeout=30_000)
    b = open_demo(open_page, f"{site.url}/static/mobwrite/editor.html?doc={doc_name}")
    text_of = "() => document.getElementById('text').value"

    text = five_kb_of_text()
    a.click("#text")
    a.keyboard.insert_text(text)  # what a paste does
    assert agree([a, b], text_of, timeout=60) == text

    # And back: the editor's edit reaches the embed through p= answers.
    b.click("#text")
    b.keyboard.press("Control+End")
    b.keyboard.type("Edited in the editor.")
    assert agree([a, b], text_of) == text + "Edited in the editor."
    a.wait_for_selector("#status[data-status=synced]", state="attached", timeout=30_000)

    # Every request to our server but the static files was a sync, sent to
    # the gateway beside the script the page loaded, or a push wait beside
    # that (issue 11): the embed holds its wake-up channel over script tags.
    gateway, waits = f"{site.url}/scripts/q.py", f"{site.url}/scripts/wait"
    calls = [r for r in requests if r.url.startswith(site.url) and "/static/" not in r.url]
    syncs = [r for r in calls if r.url.split("?")[0] == gateway]
    assert syncs and all(r.url.split("?")[0] in (gateway, waits) for r in calls), [r.url for r in calls]
    assert any(r.url.split("?")[0] == waits for r in calls) and a.evaluate("mobwrite.pushMode") == "on"
    values = []
    for request in calls:
        query = parse_qs(urlsplit(request.url).query, keep_blank_values=True)
        assert request.method == "GET" and list(query) == ["p"], request.url
        values += query["p"]
    # The 5 KB paste could not fit one URL: it went as b: fragments.
    assert any(value.startswith("b:") for value in values), values[:5]
    # Nothing of ours went by q= (XHR POST) from the other origin.
    for request in requests:
        assert "q" not in parse_qs(urlsplit(request.url).query), request.url
        assert "q" not in parse_qs(request.post_data or ""), request.url
