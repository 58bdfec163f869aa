"""Several gunicorn workers open a fresh SQLite file at once: none may fail
with "database is locked" (a worker that failed to boot stopped the whole
server). Processes, as gunicorn's workers are."""

import multiprocessing

from mobwrite.stores.sqlite import SqliteStore


def _open(path, start, errors):
    start.wait()
    try:
        SqliteStore(path).close()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        errors.put(repr(exc))


def test_workers_opening_a_new_file_at_once_all_start(tmp_path):
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for round_ in range(15):
        path = str(tmp_path / ("fresh%d.sqlite3" % round_))
        start = context.Barrier(4)
        workers = [context.Process(target=_open, args=(path, start, errors)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert all(worker.exitcode == 0 for worker in workers)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []
