"""gunicorn hooks that make a worker kill itself at the worst moments, for
the fault runs in ``tools/faults.py``: ``gunicorn -c tools/fault_hooks.py``.

The kill switches live here, loaded into test servers only, never in
``mobwrite/``. Each is a probability read from the environment at worker
start:

- ``MOBWRITE_FAULT_KILL_AFTER_COMMIT``: after a sync whose transaction
  changed a text has committed, SIGKILL before the answer is written (the
  client sees a dropped connection and must resend what was applied).
- ``MOBWRITE_FAULT_KILL_IN_TRANSACTION``: inside an SQLite write
  transaction, after its writes and before its COMMIT.

Every kill first appends "MONOTONIC KIND PID" to the file named by
``MOBWRITE_FAULT_LOG``, so a run can count them and time its recovery
(``time.monotonic`` is one clock for every process of the machine). While
the file named by ``MOBWRITE_FAULT_DISARM`` exists, nothing is killed (a
run's quiet period).
"""

import contextlib
import os
import random
import signal
import time


def post_worker_init(worker):
    """Wrap the service (and the SQLite store) in this worker once its app is loaded."""
    after_commit = float(os.environ.get("MOBWRITE_FAULT_KILL_AFTER_COMMIT") or 0)
    in_transaction = float(os.environ.get("MOBWRITE_FAULT_KILL_IN_TRANSACTION") or 0)
    rng = random.Random()  # seeded from the OS in each worker: forked workers must not kill in step
    if after_commit > 0:
        _kill_after_commit(after_commit, rng)
    if in_transaction > 0:
        _kill_in_transaction(in_transaction, rng)
    worker.log.info("fault hooks: kill after commit %s, in an SQLite transaction %s", after_commit, in_transaction)


def _kill_after_commit(odds, rng):
    from mobwrite.service import SyncService

    sync = SyncService.sync

    def sync_then_maybe_die(self, actions, infos=None):
        outcome = sync(self, actions, infos)
        if outcome.texts and _armed(odds, rng):  # committed a changed text; the answer is not written yet
            _die("after-commit")
        return outcome

    SyncService.sync = sync_then_maybe_die


def _kill_in_transaction(odds, rng):
    from mobwrite.stores.sqlite import SqliteStore

    transaction = SqliteStore.transaction

    @contextlib.contextmanager
    def transaction_that_may_die(self, immediate=False):
        with transaction(self, immediate) as db:
            before = db.total_changes
            yield db
            # The body has written and returned; the COMMIT is what ``transaction`` does next.
            if db.total_changes > before and db.in_transaction and _armed(odds, rng):
                _die("in-transaction")

    SqliteStore.transaction = transaction_that_may_die


def _armed(odds, rng):
    disarm = os.environ.get("MOBWRITE_FAULT_DISARM")
    return rng.random() < odds and not (disarm and os.path.exists(disarm))


def _die(kind):
    path = os.environ.get("MOBWRITE_FAULT_LOG")
    if path:
        with open(path, "a") as log:
            log.write("%.6f %s %d\n" % (time.monotonic(), kind, os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)
