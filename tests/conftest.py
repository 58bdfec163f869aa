"""Fixtures: real services on free loopback ports, and the gateway on every
store backend (memory, sqlite, Datastore emulator with no cache, Redis and
memcached)."""

import shutil

import pytest

from backends import BACKENDS, make_settings, open_store
from builds import run_build
from main import create_app
from tools import devservers

# The files that take longest (`--durations`), longest first. pytest-xdist
# hands whole files out in collection order (pyproject.toml turns off its
# reordering by test count, which put these few-test files last), so the
# two workers start on them and the short files fill in around them
# instead of one worker running a long file alone at the end.
SLOWEST_FILES = ("test_bench.py", "test_bench_sync.py", "test_faults.py", "test_bench_browser.py",
                 "test_multiprocess.py", "test_merge.py", "test_appengine.py", "test_bench_push.py",
                 "test_datastore_reconnect.py", "test_store_equivalence.py", "test_cache_outage.py")


def pytest_collection_modifyitems(items):
    rank = {name: place for place, name in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOWEST_FILES)))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def datastore_emulator(monkeypatch_session):
    server = devservers.start_datastore_emulator()
    monkeypatch_session.setenv("DATASTORE_EMULATOR_HOST", server.address)
    monkeypatch_session.setenv("DATASTORE_PROJECT_ID", "mobwrite-test")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server():
    server = devservers.start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def memcached_server():
    server = devservers.start_memcached()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright: one per session,
    since Playwright's sync API allows one driver per thread."""
    from playwright.sync_api import sync_playwright

    path = shutil.which("chromium")
    assert path, "Debian's chromium is required: apt-get install -y chromium"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The zips build_zips.sh makes from this checkout, built once per
    session: (their folder, the summary the build printed)."""
    out = tmp_path_factory.mktemp("static_build")
    return out, run_build(out)


@pytest.fixture(scope="session")
def monkeypatch_session():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def settings(backend, request, tmp_path):
    return make_settings(backend, request, tmp_path)


@pytest.fixture
def store(settings):
    store = open_store(settings)
    yield store
    store.close()


@pytest.fixture
def app(settings, store):
    return create_app(settings, store)


@pytest.fixture
def sync(app):
    """Send one request over q= (POST) and return the answer text."""
    client = app.test_client()

    def send(text):
        response = client.post("/scripts/q.py", data={"q": text})
        assert response.status_code == 200, response.data
        return response.get_data(as_text=True)

    return send
