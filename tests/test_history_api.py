"""History and presence through the app on every backend: list, fetch,
diff and restore over HTTP; a restore while two clients edit; a restore of
a restore; presence appearing and leaving; the cron pruning."""

import json
import time

import pytest

from main import create_app
from mobwrite import textcodec
from mobwrite.client import Client
from mobwrite.history import DAY


def _exchange(http, client):
    response = http.post("/scripts/q.py", data={"q": client.request()})
    assert response.status_code == 200, response.data
    client.receive(response.get_data(as_text=True))
    return response.get_data(as_text=True)


def _converge(http, *clients):
    for _ in range(4):
        for client in clients:
            _exchange(http, client)
    texts = {c.user: c.docs["doc"].text for c in clients}
    assert len(set(texts.values())) == 1, texts
    return next(iter(texts.values()))


def _snapshots(http):
    response = http.get("/history/list?doc=doc")
    assert response.status_code == 200, response.data
    return response.get_json()["snapshots"]


def test_restore_while_two_clients_edit_keeps_their_unsent_edits(app):
    http = app.test_client()
    ann, bob = Client("ann"), Client("bob")
    ann.share("doc", "The quick brown fox.")
    bob.share("doc")
    assert _converge(http, ann, bob) == "The quick brown fox."
    bob.docs["doc"].text = ""                      # bob deletes everything
    _exchange(http, bob)
    listed = _snapshots(http)
    assert [s["size"] for s in listed] == [20, 0]  # the text before the damage, then the damage
    good = listed[0]["id"]
    assert http.get("/history/text?doc=doc&id=%d" % good).get_data(as_text=True) == "The quick brown fox."
    assert http.get("/history/diff?doc=doc&from=%d" % good).get_json() == [[-1, "The quick brown fox."]]

    ann.docs["doc"].text += " Jumps."              # unsent edits on both sides
    bob.docs["doc"].text = "Oops"
    response = http.post("/history/restore", data={"doc": "doc", "id": str(good), "name": "Cy"})
    assert response.status_code == 200, response.data
    restored = response.get_json()
    text = _converge(http, ann, bob)
    assert "The quick brown fox. Jumps." in text and "Oops" in text  # nothing acknowledged was lost
    listed = _snapshots(http)
    assert listed[-1]["id"] == restored["snapshot"] and listed[-1]["note"] == "restored #%d" % good
    assert listed[-1]["users"] == ["Cy"]

    # Restoring the damage again (a restore of a restore) is just as possible.
    empty = [s["id"] for s in listed if s["size"] == 0][0]
    assert http.post("/history/restore", data={"doc": "doc", "id": str(empty)}).status_code == 200
    assert _converge(http, ann, bob) == ""


@pytest.mark.parametrize("backend", ["memory"])
def test_bad_history_requests_get_short_answers(app):
    http = app.test_client()
    assert http.get("/history/list").status_code == 400
    assert http.get("/history/list?doc=%01").status_code == 400
    assert http.get("/history/text?doc=doc&id=x").status_code == 400
    assert http.get("/history/text?doc=doc&id=0").status_code == 400
    assert http.get("/history/text?doc=doc&id=%C2%B2").status_code == 400
    assert http.get("/history/text?doc=doc&id=7").status_code == 404
    assert http.post("/history/restore", data={"doc": "doc", "id": "7"}).status_code == 404
    assert http.get("/history/restore?doc=doc&id=1").status_code == 405
    assert http.get("/history/list?doc=doc").get_json() == {"doc": "doc", "snapshots": [], "size": None}


@pytest.mark.parametrize("backend", ["memory"])
def test_history_off_means_not_found(settings, store):
    import dataclasses
    http = create_app(dataclasses.replace(settings, history=False), store).test_client()
    assert http.get("/history/list?doc=doc").status_code == 404


@pytest.mark.parametrize("backend", ["memory", "sqlite", "datastore"])
def test_cron_prunes_old_snapshots(app, settings):
    http = app.test_client()
    ann = Client("ann")
    ann.share("doc", "one")
    _exchange(http, ann)
    service = app.extensions["mobwrite"]
    assert service.cleanup(now=time.time())["snapshots"] == 0
    assert service.cleanup(now=time.time() + 91 * DAY)["snapshots"] == 1
    assert _snapshots(http) == []


def _presence_request(user, doc, info, version=0):
    payload = textcodec.encode(json.dumps(info))
    return "u:%s\nf:0:%s\np:%s\nd:%d:\n\n" % (user, doc, payload, version)


def _who(answer):
    lines = [line for line in answer.split("\n") if line.startswith("w:")]
    assert len(lines) == 1, answer
    return json.loads(textcodec.decode(lines[0][2:]))


@pytest.mark.parametrize("backend", ["sqlite", "datastore", "datastore+redis", "datastore+memcached"])
def test_presence_appears_and_leaves(app):
    http = app.test_client()

    def send(text):
        return http.post("/scripts/q.py", data={"q": text}).get_data(as_text=True)

    first = send(_presence_request("ann", "doc", {"name": "Ann", "color": "#c00", "caret": 3}))
    assert _who(first) == {"doc": "doc", "people": []}
    seen = _who(send(_presence_request("bob", "doc", {"name": "Bob", "color": "teal"})))["people"]
    assert [(p["name"], p["color"], p["caret"]) for p in seen] == [("Ann", "#c00", 3)]
    # An original client sends no p: line: it is present (unnamed), and gets no w: line.
    assert "w:" not in send("u:old\nf:0:doc\nd:0:\n\n")
    # Ann's page goes: its beacon says so and she is gone at once.
    send("u:ann\nf:1:doc\np:%s\n\n" % textcodec.encode('{"gone":1}'))
    names = sorted(p["name"] for p in _who(send(_presence_request("bob", "doc", {"name": "Bob"}, 1)))["people"])
    assert names == [""]  # only the original client is left
    assert http.get("/presence?doc=doc&doc=other").get_json() == {
        "doc": [{"name": "", "color": ""}, {"name": "Bob", "color": ""}], "other": []}


@pytest.mark.parametrize("backend", ["memory", "datastore+redis"])
def test_presence_times_out(settings, store):
    import dataclasses
    http = create_app(dataclasses.replace(settings, presence_timeout=0.5, presence_refresh=0.1), store).test_client()
    http.post("/scripts/q.py", data={"q": _presence_request("ann", "doc", {"name": "Ann"})})
    time.sleep(0.6)
    answer = http.post("/scripts/q.py", data={"q": _presence_request("bob", "doc", {"name": "Bob"})})
    assert _who(answer.get_data(as_text=True))["people"] == []
