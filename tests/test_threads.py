"""One app serves many threads at once (gunicorn --threads): concurrent syncs
on different documents must not see each other's work in progress."""

import sys
import threading

import pytest


@pytest.fixture
def eager_thread_switches():
    """Switch threads every microsecond, not every 5 ms, so a race inside a
    short critical section actually shows."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)
def test_concurrent_syncs_in_one_process_keep_their_own_answers(app, eager_thread_switches):
    errors = []

    def user(n):
        client = app.test_client()
        doc, text = "doc%d" % n, "text of %d " % n * 20
        try:
            for version in range(40):
                answer = client.post("/sync", data={"q": "u:u%d\nf:%d:%s\nd:%d:%s\n\n" % (
                    n, version, doc, version, ("+" + text.replace(" ", "%20")) if version == 0 else "=%d" % len(text))})
                expected = "F:%d:%s\nd:%d:=%d\n\n" % (version + 1, doc, version, len(text))
                if answer.get_data(as_text=True) != expected:
                    errors.append((n, version, answer.get_data(as_text=True)[:80]))
                    return
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            errors.append((n, repr(exc)))

    threads = [threading.Thread(target=user, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
