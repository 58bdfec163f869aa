"""The cleanup endpoint: who may trigger it, and what it deletes."""

import dataclasses
import time

from main import create_app


def _app(settings, store, **changes):
    return create_app(dataclasses.replace(settings, **changes), store).test_client()


def test_cleanup_refuses_strangers(settings, store):
    client = _app(settings, store, admin_token="s3cret")
    assert client.get("/cron/cleanup").status_code == 403
    assert client.get("/cron/cleanup", headers={"Authorization": "Bearer wrong"}).status_code == 403
    # Off App Engine anyone could send the cron header, so it counts for nothing.
    assert client.get("/cron/cleanup", headers={"X-Appengine-Cron": "true"}).status_code == 403


def test_cleanup_needs_a_configured_token(settings, store):
    client = _app(settings, store, admin_token="")
    assert client.get("/cron/cleanup", headers={"Authorization": "Bearer "}).status_code == 403


def test_app_engine_cron_header_counts_on_app_engine(settings, store):
    client = _app(settings, store, on_app_engine=True)
    response = client.get("/cron/cleanup", headers={"X-Appengine-Cron": "true"})
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "buffers=0 snapshots=0 texts=0 views=0\n"


def test_cleanup_deletes_idle_views_then_unviewed_texts(settings, store):
    client = _app(settings, store, admin_token="s3cret")
    sync = lambda q: client.post("/sync", data={"q": q}).get_data(as_text=True)
    sync("u:ann\nf:0:old\nd:0:+kept until idle\n\n")
    sync("u:ann\nf:0:fresh\nd:0:+busy\n\n")
    token = {"Authorization": "Bearer s3cret"}
    assert client.get("/cron/cleanup", headers=token).get_data(as_text=True) == "buffers=0 snapshots=0 texts=0 views=0\n"

    # With timeouts of zero everything is idle: views go first, then their texts.
    idle = _app(settings, store, admin_token="s3cret", timeout_view=-1, timeout_text=-1)
    time.sleep(0.01)
    assert idle.get("/cron/cleanup", headers=token).get_data(as_text=True) == "buffers=0 snapshots=0 texts=2 views=2\n"
    assert store.read([("ann", "old")], ["old", "fresh"]) == ({}, {})


def test_a_text_with_a_live_view_is_kept(settings, store):
    client = _app(settings, store, admin_token="s3cret", timeout_text=-1)
    client.post("/sync", data={"q": "u:ann\nf:0:doc\nd:0:+still open\n\n"})
    time.sleep(0.01)
    response = client.get("/cron/cleanup", headers={"Authorization": "Bearer s3cret"})
    assert response.get_data(as_text=True) == "buffers=0 snapshots=0 texts=0 views=0\n"
    assert store.read([], ["doc"])[1] == {"doc": "still open"}
