"""A page written only to the original MobWrite client's documented API
(demos/original.html: its setting names, share() of a form, onchange
handlers, a shareObj subclass registered in shareHandlers) runs unchanged
on our bundle in real Chromium, and two pages converge on every field.
Also: the landing page links every demo."""

import re
import zipfile

from pages import agree

SYNC_SECONDS = 30

# Everything the page shows, as plain values.
STATE = """() => {
  const $ = (id) => document.getElementById(id);
  return {
    title: $("title").textContent, body: $("body").value, what: $("what").value,
    start: $("start").value, end: $("end").value,
    startTime: $("startTime").value, endTime: $("endTime").value,
    allday: $("allday").checked, timesDisabled: $("startTime").disabled && $("endTime").disabled,
    timesState: $("timesState").textContent,
    show: (document.querySelector("input[name=show]:checked") || {}).value || "",
    guests: Array.from($("guests").selectedOptions, (o) => o.value),
    passcode: $("passcode").value, calendar: $("calendar").value,
    calendarShown: $("calendarShown").textContent,
  };
}"""


def open_compat(open_page, site, doc):
    page = open_page(f"{site.url}/static/mobwrite/demos/original.html?doc={doc}")
    page.wait_for_function("mobwrite.status === 'synced'", timeout=SYNC_SECONDS * 1000)
    return page


def doc_id(doc_name):
    return re.sub(r"[^\w-]", "-", doc_name)


def test_original_client_page_converges_on_every_field(site, open_page, doc_name):
    doc = doc_id(doc_name)
    a = open_compat(open_page, site, doc)
    b = open_compat(open_page, site, doc)
    # The original's settings took effect under their original names.
    assert a.evaluate("[mobwrite.minSync, mobwrite.maxSync, mobwrite.maxGetLength]") == [500, 4000, 1000]
    assert 500 <= a.evaluate("mobwrite.syncInterval") <= 4000
    # The form's fields are documents named by their ids, like the original's;
    # the two fields named "date" are two documents.
    shared = a.evaluate("Object.keys(mobwrite.shared).sort()")
    assert shared == sorted(["title", "body", "what", "start", "startTime", "end", "endTime", "allday",
                             "showBusy", "guests", "passcode", "calendar"]), shared

    a.locator("#title").press_sequentially("Team offsite")
    a.locator("#body").press_sequentially("Agenda: planning")
    a.locator("#what").press_sequentially("Offsite")
    a.fill("#start", "2024-05-01")
    a.fill("#end", "2024-05-03")
    a.fill("#startTime", "09:30")
    a.fill("#endTime", "17:00")
    a.check("#showFree")
    a.select_option("#guests", ["ann", "cy"])
    a.locator("#passcode").press_sequentially("hunter2")
    # A script sets the hidden field, and tells the client as a page would.
    a.evaluate("""() => { const c = document.getElementById("calendar");
                          c.value = "work"; c.dispatchEvent(new Event("change")); }""")
    want = {"title": "Team offsite", "body": "Agenda: planning", "what": "Offsite",
            "start": "2024-05-01", "end": "2024-05-03", "startTime": "09:30", "endTime": "17:00",
            "allday": False, "timesDisabled": False, "timesState": "shown", "show": "free",
            "guests": ["ann", "cy"], "passcode": "hunter2", "calendar": "work", "calendarShown": "work"}
    assert agree([a, b], STATE) == want  # b's onchange showed the hidden field's value

    # The all-day box: B's own onchange handler runs when A's click arrives.
    a.check("#allday")
    want.update(allday=True, timesDisabled=True, timesState="hidden")
    assert agree([a, b], STATE) == want

    # B edits; A follows. Both guests lists merge: A and B each add one.
    b.click("#body")
    b.keyboard.press("Control+End")
    b.keyboard.type(" and budget")
    b.check("#showBusy")
    b.fill("#end", "2024-05-04")
    b.fill("#passcode", "swordfish")
    b.uncheck("#allday")
    want.update(body="Agenda: planning and budget", show="busy", end="2024-05-04",
                passcode="swordfish", allday=False, timesDisabled=False, timesState="shown")
    assert agree([a, b], STATE) == want


def test_passwords_overwrite_and_multiple_selects_merge(site, open_page, doc_name):
    doc = doc_id(doc_name)
    a = open_compat(open_page, site, doc)
    b = open_compat(open_page, site, doc)
    requests = []
    a.on("request", lambda r: r.method == "POST" and requests.append(r.post_data or ""))
    a.locator("#passcode").press_sequentially("abc")
    a.select_option("#guests", ["bob"])
    assert agree([a, b], STATE)["passcode"] == "abc"
    # Both change both before either syncs: the select keeps both choices
    # (merged, as the original), the password is one writer's (overwritten).
    # (With push a change goes out 50 ms after it; here both wait for syncNow.)
    for page in (a, b):
        page.evaluate("mobwrite.syncOnEdit = false")
    a.fill("#passcode", "abcX")
    b.fill("#passcode", "Yabc")
    a.select_option("#guests", ["ann", "bob"])
    b.select_option("#guests", ["bob", "di"])
    a.evaluate("mobwrite.syncNow()")
    b.evaluate("mobwrite.syncNow()")
    state = agree([a, b], STATE)
    assert state["passcode"] in ("abcX", "Yabc"), state
    assert state["guests"] == ["ann", "bob", "di"], state
    from urllib.parse import parse_qs
    sent = "".join(parse_qs(body).get("q", [""])[0] for body in requests)
    assert re.search(rf"f:\d+:{doc}_passcode\nD:", sent), sent  # D: overwrite


def test_a_shareobj_subclass_of_the_page_syncs_through_its_own_methods(site, open_page, doc_name):
    doc = doc_id(doc_name)
    a = open_compat(open_page, site, doc)
    b = open_compat(open_page, site, doc)
    assert a.evaluate("mobwrite.shared.title instanceof mobwrite.shareObj")
    assert a.evaluate("mobwrite.shared.body instanceof mobwrite.shareObj")  # ours are shareObjs too
    # Merged through the subclass's getClientText/setClientText (patchClientText
    # inherited from shareObj): both ends' words stay.
    a.locator("#title").press_sequentially("Left")
    assert agree([a, b], STATE)["title"] == "Left"
    a.click("#title")
    a.keyboard.press("End")
    a.keyboard.type(" end")
    b.evaluate("""() => { const t = document.getElementById("title"); t.textContent = "The " + t.textContent; }""")
    assert agree([a, b], STATE)["title"] == "The Left end"
    # The state fields of the original shareObj are there and current.
    fields = a.evaluate("""() => { const o = mobwrite.shared.title;
        return [o.file, o.shadowText, o.clientVersion > 0, o.serverVersion > 0, Array.isArray(o.editStack),
                o.mergeChanges, typeof o.syncText(), typeof o.dmp.diff_main]; }""")
    assert fields == ["title", "The Left end", True, True, True, True, "string", "function"]


def test_nullify_all_deletes_the_documents_and_unshares(site, open_page, doc_name):
    doc = doc_id(doc_name)
    a = open_compat(open_page, site, doc)
    a.locator("#what").press_sequentially("to be deleted")
    a.wait_for_function("mobwrite.status === 'synced'")
    requests = []
    a.on("request", lambda r: r.method == "POST" and requests.append(r.post_data or ""))
    a.evaluate("mobwrite.nullifyAll = true; mobwrite.syncNow()")
    a.wait_for_function("Object.keys(mobwrite.shared).length === 0", timeout=10_000)
    from urllib.parse import parse_qs
    sent = "".join(parse_qs(body).get("q", [""])[0] for body in requests)
    assert f"N:{doc}_what\n" in sent, sent
    # A fresh page finds the field empty: the document is gone.
    b = open_compat(open_page, site, doc)
    b.wait_for_timeout(1000)
    assert b.input_value("#what") == ""


def test_the_landing_page_links_every_demo(site, open_page, built):
    with zipfile.ZipFile(built[0] / "mobwrite.zip") as zf:
        demos = {n for n in zf.namelist() if re.fullmatch(r"demos/[^/]+\.html", n)}
    assert "demos/original.html" in demos
    page = open_page(f"{site.url}/static/mobwrite/index.html")
    links = set(page.eval_on_selector_all("a[href^='demos/']", "els => els.map(e => e.getAttribute('href'))"))
    assert links == demos
