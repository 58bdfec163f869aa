"""History and presence cost no Datastore round trip on an idle poll or an
edit: RPCs counted (tools/rpccount, as bench/gateway.py counts them) with
both on and both off, same sequence, same run."""

import dataclasses

import pytest

from backends import make_settings, open_store
from main import create_app
from mobwrite.client import Client
from tools.rpccount import count_rpcs


def _counts(settings):
    """RPCs of (an edit, an idle poll) after a warm-up, by method."""
    store = open_store(settings)
    try:
        app = create_app(settings, store)
        http = app.test_client()
        rpcs = count_rpcs(app.extensions["mobwrite"].store)
        me = Client("ann")
        me.share("doc", "hello")
        me.request()  # presence-aware clients add p: lines; add one by hand below

        def sync():
            text = me.request().replace("\nd:", "\np:%7B%22name%22:%22Ann%22%7D\nd:", 1)
            me.receive(http.post("/scripts/q.py", data={"q": text}).get_data(as_text=True))

        for _ in range(3):
            sync()  # the view and the text exist, the caches are warm
        found = []
        for change in (" world", ""):
            me.docs["doc"].text += change
            rpcs.clear()
            sync()
            found.append(dict(rpcs))
        return found
    finally:
        store.close()


@pytest.mark.parametrize("backend", ["datastore", "datastore+redis", "datastore+memcached"])
def test_idle_poll_and_edit_cost_the_same_with_history_and_presence(backend, request, tmp_path):
    on = make_settings(backend, request, tmp_path, history=True, presence=True, presence_refresh=60.0)
    off = make_settings(backend, request, tmp_path, history=False, presence=False)
    edit_on, idle_on = _counts(on)
    edit_off, idle_off = _counts(off)
    assert edit_on == edit_off and idle_on == idle_off
    assert sum(idle_on.values()) <= 2 and edit_on.get("commit") == 1


def test_without_a_cache_a_presence_refresh_costs_a_lookup_and_a_commit(request, tmp_path):
    """The honest cost on Datastore with no shared cache (README, Presence):
    once per refresh interval per document and process, never per poll."""
    base = make_settings("datastore", request, tmp_path, history=False)
    edit_now, idle_now = _counts(dataclasses.replace(base, presence_refresh=0.0))
    edit_off, idle_off = _counts(dataclasses.replace(base, presence=False))
    assert idle_now.get("lookup", 0) == idle_off.get("lookup", 0) + 1
    assert idle_now.get("commit", 0) == idle_off.get("commit", 0) + 1
