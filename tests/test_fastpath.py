"""The gateway's fast path (mobwrite/fastpath.py, in front of Flask) gives
the blueprint's answers byte for byte: status, headers and body, for the
bad-input table and for thousands of lossy syncs, with the fast path on in
one app and off in the other."""

import dataclasses

import pytest

from main import create_app
from mobwrite.config import Settings
from simulation import simulate
from test_bad_input import HTTP_CASES


def _apps(**overrides):
    settings = Settings(store="memory", diff_timeout=0, log_level="ERROR", **overrides)
    return (create_app(settings).test_client(),
            create_app(dataclasses.replace(settings, fast_path=False)).test_client())


def _whole(response):
    return response.status, list(response.headers.items()), response.get_data()


@pytest.mark.parametrize("name, overrides, call, status, check", HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_bad_input_answers_match(name, overrides, call, status, check):
    fast, flask = _apps(**overrides)
    assert _whole(call(fast)) == _whole(call(flask))


@pytest.mark.parametrize("seed", [1, 2])
def test_lossy_syncs_match(seed):
    fast, flask = _apps()
    seen = []

    def sync(text):
        # Alternate transports and methods, so every decoding path is exercised.
        kind = len(seen) % 4
        field = "p" if kind == 3 else "q"
        request = (lambda c: c.get("/sync", query_string={field: text})) if kind in (1, 3) else \
            (lambda c: c.post("/scripts/q.py", data={field: text}))
        got, expected = _whole(request(fast)), _whole(request(flask))
        assert got == expected
        seen.append(got)
        if field == "p":  # the simulated client reads q= answers; ask again over q= on both
            got, expected = _whole(fast.post("/sync", data={"q": text})), _whole(flask.post("/sync", data={"q": text}))
            assert got == expected
        return got[2].decode("utf-8")

    simulate(sync, seed, users=4, steps=300)
    assert len(seen) > 250


def test_the_fast_path_answers_without_flask():
    """A sync never reaches Flask's request handling when the fast path is on."""
    fast, _ = _apps()
    app = fast.application
    reached = []
    app.before_request(lambda: reached.append(1))
    assert fast.post("/scripts/q.py", data={"q": "u:a\nf:0:d\nd:0:+Hi\n\n"}).status_code == 200
    assert reached == []
    assert fast.get("/scripts/q.py").status_code == 303  # no field: Flask's redirect
    assert reached == [1]
