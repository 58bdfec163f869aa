"""gunicorn hooks that make a worker kill itself at the worst moments, for
the fault runs in ``tools/faults.py``: ``gunicorn -c tools/fault_hooks.py``.

The kill switches live here, loaded into test servers only, never in
``mobwrite/``. Each is a probability:

- ``MOBWRITE_FAULT_KILL_AFTER_COMMIT``: after a sync whose transaction
  changed a text has committed, SIGKILL before the answer is written (the
  client sees a dropped connection and must resend what was applied).
- ``MOBWRITE_FAULT_KILL_IN_TRANSACTION``: inside an SQLite write
  transaction, after its writes and before its COMMIT.

Each is read from the environment, or, while the JSON file named by
``MOBWRITE_FAULT_CONTROL`` exists, from that file ({name: probability};
a name it leaves out is 0), which a run rewrites to arm and disarm the
hooks without restarting gunicorn. Every kill first appends
"MONOTONIC KIND PID" to the file named by ``MOBWRITE_FAULT_LOG``, so a run
can count them and time its recovery (``time.monotonic`` is one clock for
every process of the machine).
"""

import contextlib
import json
import os
import random
import signal
import time

KNOBS = ("MOBWRITE_FAULT_KILL_AFTER_COMMIT", "MOBWRITE_FAULT_KILL_IN_TRANSACTION")


class Odds:
    """The kill probabilities now: the control file's while it exists
    (read again whenever it is replaced), else the environment's."""

    def __init__(self, environ):
        self.env = {knob: float(environ.get(knob) or 0) for knob in KNOBS}
        self.path = environ.get("MOBWRITE_FAULT_CONTROL")
        self.stamp, self.values = None, self.env
        self.rng = random.Random()  # seeded from the OS in each worker: forked workers must not kill in step

    def roll(self, knob):
        """Whether to kill now, by ``knob``'s probability."""
        if self.path:
            try:
                info = os.stat(self.path)
                stamp = (info.st_ino, info.st_mtime_ns, info.st_size)  # the file is replaced, never edited
            except FileNotFoundError:
                stamp = None
            if stamp != self.stamp:
                self.stamp, self.values = stamp, self._read() if stamp else self.env
        odds = self.values.get(knob, 0.0)
        return odds > 0 and self.rng.random() < odds

    def _read(self):
        try:
            with open(self.path) as f:
                return {knob: float(value) for knob, value in json.load(f).items()}
        except (OSError, ValueError):
            return {}  # half a file or none: no kill this time; the next replacement is read again


def post_worker_init(worker):
    """Wrap the service and the SQLite store in this worker once its app is loaded."""
    odds = Odds(os.environ)
    _kill_after_commit(odds)
    _kill_in_transaction(odds)
    worker.log.info("fault hooks loaded: %s, control file %s", odds.env, odds.path)


def _kill_after_commit(odds):
    from mobwrite.service import SyncService

    sync = SyncService.sync

    def sync_then_maybe_die(self, actions, infos=None):
        outcome = sync(self, actions, infos)
        if outcome.texts and odds.roll("MOBWRITE_FAULT_KILL_AFTER_COMMIT"):  # committed; not answered yet
            _die("after-commit")
        return outcome

    SyncService.sync = sync_then_maybe_die


def _kill_in_transaction(odds):
    from mobwrite.stores.sqlite import SqliteStore

    transaction = SqliteStore.transaction

    @contextlib.contextmanager
    def transaction_that_may_die(self, immediate=False):
        with transaction(self, immediate) as db:
            before = db.total_changes
            yield db
            # The body has written and returned; the COMMIT is what ``transaction`` does next.
            if db.total_changes > before and db.in_transaction and odds.roll("MOBWRITE_FAULT_KILL_IN_TRANSACTION"):
                _die("in-transaction")

    SqliteStore.transaction = transaction_that_may_die


def _die(kind):
    path = os.environ.get("MOBWRITE_FAULT_LOG")
    if path:
        with open(path, "a") as log:
            log.write("%.6f %s %d\n" % (time.monotonic(), kind, os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)
