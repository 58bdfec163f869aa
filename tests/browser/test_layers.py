"""The editor on its Dojo build layer, in real Chromium: a cold load
fetches the layer and the flattened theme instead of Dojo's modules one by
one, the page works, and a page needing modules outside the layer still
gets them from the unbuilt packages."""

from urllib.parse import quote, urlsplit


def test_the_editor_loads_as_one_layer_on_a_cold_cache(open_page, site, doc_name):
    paths = []
    page = open_page("about:blank")
    page.on("request", lambda r: paths.append(urlsplit(r.url).path))
    page.goto(f"{site.url}/static/mobwrite/editor.html?doc={quote(doc_name)}")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=30_000)
    # Not "networkidle": the page holds a push wait open (issue 11). Quiet
    # means half a second without a new static fetch.
    count = -1
    while count != len(paths):
        count = len(paths)
        page.wait_for_timeout(500)
    static = [p for p in paths if p.startswith("/static/")]
    assert "/static/mobwrite/layer/pages.js" in static
    assert "/static/mobwrite/layer/claro.css" in static
    # Of unbuilt Dojo, only the loader itself (and an image, not a module).
    modules = [p for p in static if p.endswith(".js") and p.startswith(("/static/dojo/", "/static/dijit/"))]
    assert set(modules) <= {"/static/dojo/dojo.js", "/static/dijit/nls/loading.js"}, modules
    assert len(static) <= 12, static  # unlayered, it is about 170
    # The widgets came up: the share dialog opens, styled by the flattened theme.
    page.click("#share")
    page.wait_for_selector(".dijitDialog", state="visible")
    assert page.eval_on_selector(".dijitDialogTitleBar", "e => getComputedStyle(e).backgroundImage") != "none"
    page.type("#text", "typed on the layer")
    page.wait_for_function("document.getElementById('status').dataset.status === 'synced'")


def test_modules_outside_the_layer_still_load_unbuilt(open_page, site):
    # The form demo requires dijit/TitlePane, which the layer does not carry.
    paths = []
    page = open_page("about:blank")
    page.on("request", lambda r: paths.append(urlsplit(r.url).path))
    page.goto(f"{site.url}/static/mobwrite/demos/form.html")
    page.wait_for_selector("body[data-ready]", state="attached", timeout=30_000)
    assert "/static/dijit/TitlePane.js" in paths
    assert page.is_visible(".dijitTitlePane")
