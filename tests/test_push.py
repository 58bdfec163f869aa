"""Push wake-ups (issue 11): the wait request's answers and refusals, the
hub's rules (one's own edit wakes no one, a stale token wakes at once), and
wake-ups across two gunicorn processes on SQLite and on Datastore + Redis,
with Redis stopped and restarted under a held wait."""

import socket
import subprocess
import threading
import time
import uuid

import pytest
import requests

from main import create_app
from mobwrite import push
from mobwrite.config import Settings
from mobwrite.stores.wakes import MemoryWakes
from tools import devservers


@pytest.fixture
def client():
    return create_app(Settings(store="memory", push_waiters=10, push_timeout=2)).test_client()


def wait(client, lines, field="q"):
    return client.post("/wait", data={field: lines})


@pytest.mark.parametrize("lines, reason", [
    ("u:me\nf:bad token!:doc\n", "f:WAKE:DOC"),
    ("u:me\nf:nocolon\n", "f:WAKE:DOC"),
    ("u:me\n" + "".join("f::d%d\n" % i for i in range(51)), "more than 50"),
    ("f::doc\n", "names a user"),
    ("u:me\n", "names a user"),
    ("u:me\nf::doc\nd:1:=3\n", "only u:, t: and f:"),
    ("u:me\nf::\x01\n", "not valid"),
])
def test_a_malformed_wait_is_a_400_at_once(client, lines, reason):
    started = time.monotonic()
    answer = wait(client, lines)
    assert answer.status_code == 400 and reason in answer.get_data(as_text=True)
    assert time.monotonic() - started < 1


def test_a_wait_without_q_or_p_is_a_400(client):
    assert client.get("/wait").status_code == 400


def test_the_first_wait_answers_at_once_with_tokens(client):
    answer = wait(client, "u:me\nf::fresh\n").get_json()
    assert answer == {"push": True, "docs": {"fresh": push.NOTHING_YET}, "woke": [], "timeout": 2}


def test_a_script_answer_is_one_call_that_no_name_can_end(client):
    body = client.get("/scripts/wait", query_string={"p": "u:me\nf::</script><b>\u2028\n"}).get_data(as_text=True)
    assert body.startswith("mobwrite.wakeup(") and body.endswith(");") and body.count(";") == 1
    assert "</" not in body and "\u2028" not in body


def test_push_turned_off_says_poll_for_an_hour():
    app = create_app(Settings(store="memory", push=False))
    assert wait(app.test_client(), "u:me\nf::d\n").get_json() == {"push": False, "retry": push.RETRY_NEVER}


def test_under_threads_push_is_off_by_default():
    app = create_app(Settings(store="memory"))  # not under the gevent worker
    assert wait(app.test_client(), "u:me\nf::d\n").get_json()["push"] is False


def held(hub, wants, user, out):
    thread = threading.Thread(target=lambda: out.append(hub.wait(wants, user, timeout=3)))
    thread.start()
    time.sleep(0.2)
    return thread


def test_someone_elses_edit_wakes_and_ones_own_does_not():
    hub = push.Hub(MemoryWakes(), max_waiters=10)
    tokens = hub.wait({"d": ""}, "me")["docs"]
    mine, theirs = [], []
    t1, t2 = held(hub, tokens, "me", mine), held(hub, tokens, "you", theirs)
    hub.publish({"d": "me"})
    t2.join(timeout=1)
    assert theirs and theirs[0]["woke"] == ["d"]
    assert not mine  # still held: my own sync brought everything before my edit
    hub.publish({"d": "you"})
    t1.join(timeout=1)
    assert mine[0]["woke"] == ["d"]


def test_a_stale_token_wakes_at_once_and_a_full_hub_says_poll():
    hub = push.Hub(MemoryWakes(), max_waiters=1)
    tokens = hub.wait({"d": ""}, "me")["docs"]
    hub.publish({"d": "you"})
    started = time.monotonic()
    assert hub.wait(tokens, "me", timeout=3)["woke"] == ["d"] and time.monotonic() - started < 1
    out = []
    thread = held(hub, {"d": "x"}, "a", out)  # "x" is stale too: answered at once
    thread.join()
    assert out.pop()["woke"] == ["d"]
    fresh = hub.wait({"d": ""}, "me")["docs"]
    thread = held(hub, fresh, "a", out)
    assert hub.wait(fresh, "b") == {"push": False, "retry": push.RETRY_BUSY}
    hub.release_all()
    thread.join()


def test_a_private_document_is_not_watched_without_a_token():
    settings = Settings(store="memory", access="tokens", token_key="k" * 32, push_waiters=10, push_timeout=1)
    answer = wait(create_app(settings).test_client(), "u:me\nf::secret\n").get_json()
    assert answer["denied"] == ["secret"] and answer["docs"] == {}


# -- across processes ----------------------------------------------------------

def start_gateways(env):
    return [devservers.start_gunicorn(env, workers=2, args=["-k", "gevent", "--graceful-timeout", "1"])
            for _ in range(2)]


def woken_across(gateways, doc):
    a, b = (g.address for g in gateways)
    tokens = requests.post(a + "/wait", data={"q": "u:A\nf::%s\n" % doc}, timeout=10).json()["docs"]
    lines = "u:A\n" + "".join("f:%s:%s\n" % (w, d) for d, w in tokens.items())
    out = []
    thread = threading.Thread(target=lambda: out.append(
        requests.post(a + "/wait", data={"q": lines}, timeout=40).json()))
    thread.start()
    time.sleep(0.5)
    started = time.monotonic()
    sync = requests.post(b + "/sync", data={"q": "u:B\nf:0:%s\nR:0:%s\n\n" % (doc, uuid.uuid4().hex)}, timeout=10)
    assert sync.status_code == 200
    thread.join(timeout=35)
    return out[0], time.monotonic() - started


@pytest.fixture(params=["sqlite", "datastore+redis", "datastore+memcached"])
def backend_env(request, tmp_path):
    if request.param == "sqlite":
        return {"MOBWRITE_STORE": "sqlite", "MOBWRITE_SQLITE_PATH": str(tmp_path / "push.sqlite3")}
    emulator = request.getfixturevalue("datastore_emulator")
    env = {"MOBWRITE_STORE": "datastore", "DATASTORE_EMULATOR_HOST": emulator.address,
           "DATASTORE_PROJECT_ID": "mobwrite-test", "GOOGLE_CLOUD_PROJECT": "mobwrite-test",
           "MOBWRITE_DATASTORE_NAMESPACE": "push" + uuid.uuid4().hex[:6]}
    if request.param == "datastore+redis":
        env["REDIS_CACHE_URL"] = request.getfixturevalue("redis_server").address
    else:
        env["MEMCACHED_HOSTS"] = request.getfixturevalue("memcached_server").address
    return env


def test_an_edit_on_one_gateway_wakes_a_wait_on_the_other(backend_env):
    gateways = start_gateways(backend_env)
    try:
        answer, elapsed = woken_across(gateways, "across-" + uuid.uuid4().hex[:6])
        assert answer["push"] is True and len(answer["woke"]) == 1 and elapsed < 2, (answer, elapsed)
    finally:
        for g in gateways:
            g.stop()


def test_redis_down_means_poll_and_back_means_push(tmp_path):
    port = devservers.free_port()
    argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    redis_server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=tmp_path)
    assert wait_until(lambda: devservers.port_open(port))
    env = {"MOBWRITE_STORE": "sqlite", "MOBWRITE_SQLITE_PATH": str(tmp_path / "push.sqlite3"),
           "REDIS_CACHE_URL": "redis://127.0.0.1:%d/0" % port,
           "MOBWRITE_RATE_IP": "0", "MOBWRITE_RATE_USER": "0", "MOBWRITE_RATE_DOC_EDITS": "0"}
    gateways = start_gateways(env)
    url = gateways[0].address + "/wait"
    try:
        assert woken_across(gateways, "before")[0]["woke"]
        redis_server.terminate()
        redis_server.wait()
        # Down: every wait says "poll" (at once, never a 500 or a hang).
        assert wait_until(lambda: requests.post(url, data={"q": "u:A\nf::d\n"}, timeout=5).json()["push"] is False)
        redis_server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, cwd=tmp_path)
        # Back: the subscriptions return and wake-ups with them.
        assert wait_until(lambda: all(requests.post(g.address + "/wait", data={"q": "u:A\nf::d\n"}, timeout=5)
                                      .json()["push"] for g in gateways for _ in range(4)), seconds=30)
        assert woken_across(gateways, "after")[0]["woke"]
    finally:
        for g in gateways:
            g.stop()
        redis_server.terminate()


def wait_until(check, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (requests.RequestException, ValueError):
            pass
        time.sleep(0.3)
    return False


def test_a_page_that_leaves_frees_its_place_at_once(tmp_path):
    # One place for a held wait: taken by a connection that then closes, as
    # a tab does when it is left. The next wait must be held, not told to poll.
    env = {"MOBWRITE_STORE": "sqlite", "MOBWRITE_SQLITE_PATH": str(tmp_path / "push.sqlite3"),
           "MOBWRITE_PUSH_WAITERS": "1", "MOBWRITE_PUSH_TIMEOUT": "20"}
    server = devservers.start_gunicorn(env, workers=1, args=["-k", "gevent", "--graceful-timeout", "1"])
    try:
        url = server.address + "/wait"
        tokens = requests.post(url, data={"q": "u:A\nf::left\n"}, timeout=10).json()["docs"]
        body = "q=" + requests.utils.quote("u:A\nf:%s:left\n" % tokens["left"])
        host, port = server.address.split("//")[1].split(":")
        tab = socket.create_connection((host, int(port)))
        tab.sendall(("POST /wait HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: %d\r\n\r\n%s" % (len(body), body)).encode())
        time.sleep(1)
        # While the tab holds the place, a second page is told to poll...
        assert requests.post(url, data={"q": "u:B\nf:%s:left\n" % tokens["left"]}, timeout=10).json()["push"] is False
        tab.close()
        # ...and once it has gone, the place is free again: the wait is held.
        time.sleep(0.5)
        started = time.monotonic()
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.post(url, data={"q": "u:B\nf:%s:left\n" % tokens["left"]}, timeout=(5, 2))
        assert time.monotonic() - started >= 2
    finally:
        server.stop()
