"""``mobwrite loadtest``: open-loop load on a gateway, a progress bar on
stderr while it runs, then a summary table on stdout."""

import dataclasses
import random
import secrets
import string
import sys
import threading
import time

from .. import client as mclient
from .transport import TIMEOUT, CliError, Connection, exchange

MAX_THREADS = 64


class Progress:
    """A one-line progress bar on stderr (redrawn in place on a terminal,
    a line every few seconds otherwise)."""

    def __init__(self, total, stream=None, width=30):
        self.total, self.stream, self.width = total, stream or sys.stderr, width
        self.tty = self.stream.isatty()
        self.last = 0.0

    def update(self, done, note, force=False):
        now = time.monotonic()
        if not force and now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        frac = min(1.0, done / self.total) if self.total else 1.0
        filled = int(frac * self.width)
        line = "[%s%s] %3d%% %s" % ("#" * filled, "." * (self.width - filled), frac * 100, note)
        self.stream.write(("\r" + line + "\033[K") if self.tty else line + "\n")
        self.stream.flush()

    def close(self):
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def percentile(sorted_values, q):
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _ms(seconds):
    return "-" if seconds is None else "%.1f ms" % (1000 * seconds)


class Tally:
    """What the worker threads measured, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.stats = {"requests": 0, "errors": 0, "late": 0, "edits": 0}
        self.latencies, self.error_kinds = [], {}

    def late(self):
        with self.lock:
            self.stats["late"] += 1

    def record(self, due, edited, error_kind):
        """One sync that was due at DUE: its latency, or its kind of failure."""
        done = time.monotonic()
        with self.lock:
            self.stats["requests"] += 1
            if error_kind is None:
                self.latencies.append(done - due)
                self.stats["edits"] += edited
            else:
                self.stats["errors"] += 1
                self.error_kinds[error_kind] = self.error_kinds.get(error_kind, 0) + 1

    def note(self, elapsed):
        """The progress bar's note: counts so far and the recent median."""
        with self.lock:
            recent = sorted(self.latencies[-500:])
            return "%5.1fs  %d req  %d err  p50 %s" % (
                elapsed, self.stats["requests"], self.stats["errors"],
                "%.1fms" % (1000 * percentile(recent, 0.5)) if recent else "-")


@dataclasses.dataclass
class Schedule:
    """Sync I is due at ``started + I / rate`` whether or not the server has
    kept up: the load is open-loop. Thread K takes syncs K, K + threads, ..."""

    rate: float
    total: int
    threads: int
    started: float = dataclasses.field(default_factory=time.monotonic)

    def wait_for(self, i, tally):
        """Sleep until sync I is due (counting it late when over a second
        behind); its due time."""
        due = self.started + i / self.rate
        wait = due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        elif wait < -1.0:
            tally.late()
        return due

    def elapsed(self):
        return time.monotonic() - self.started


def make_users(docs, users_per_doc, tag):
    """USERS_PER_DOC clients on each of DOCS new documents named after TAG."""
    users = []
    for d in range(docs):
        for u in range(users_per_doc):
            c = mclient.Client("load-%s-%d-%d" % (tag, d, u))
            c.share("load-%s-%d" % (tag, d), "")
            users.append(c)
    return users


def probe(url, tag):
    """One sync first: an unreachable or foreign server is one clear error,
    not a table of failures."""
    c = mclient.Client("load-%s-probe" % tag)
    c.share("load-%s-probe" % tag, "")
    exchange(url, c.request())


def random_edit(rng, shared):
    """Insert one to six random letters somewhere in the shared text."""
    at = rng.randint(0, len(shared.text))
    letters = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 6)))
    shared.text = shared.text[:at] + letters + shared.text[at:]


def sync_once(conn, client):
    """One request and answer; None, or the kind of failure."""
    try:
        client.receive(conn.post(client.request()))
        return None
    except CliError as exc:
        return exc.kind


def worker(k, url, users, schedule, tally, edit_prob, seed):
    """Thread K's share of the syncs, over its own keep-alive connection,
    round-robin over its own share of the users."""
    mine = users[k::schedule.threads]
    rng = random.Random(seed)
    with Connection(url) as conn:
        for i in range(k, schedule.total, schedule.threads):
            due = schedule.wait_for(i, tally)
            c = mine[(i // schedule.threads) % len(mine)]
            edited = rng.random() < edit_prob
            if edited:
                random_edit(rng, next(iter(c.docs.values())))
            tally.record(due, edited, sync_once(conn, c))


def wait_with_progress(threads, schedule, tally, duration, progress):
    """Wait for the workers (at most a timeout past DURATION), drawing the bar;
    the seconds it took."""
    bar = Progress(duration) if progress else None
    while any(t.is_alive() for t in threads):
        time.sleep(0.1)
        if bar:
            bar.update(min(duration, schedule.elapsed()), tally.note(schedule.elapsed()))
        if schedule.elapsed() > duration + TIMEOUT + 5:
            break
    elapsed = schedule.elapsed()
    if bar:
        stats = tally.stats
        bar.update(duration, "%5.1fs  %d req  %d err" % (elapsed, stats["requests"], stats["errors"]), force=True)
        bar.close()
    return elapsed


def summary_rows(tally, rate, elapsed, docs, n_users):
    """The table's (label, value) rows."""
    stats, lat, kinds = tally.stats, sorted(tally.latencies), tally.error_kinds
    return [("requests", str(stats["requests"])),
            ("errors", str(stats["errors"]) + ("  (%s)" % ", ".join("%s: %d" % kv for kv in kinds.items())
                                                if kinds else "")),
            ("edits", str(stats["edits"])),
            ("rate", "%.1f/s asked, %.1f/s done" % (rate, stats["requests"] / elapsed if elapsed else 0)),
            ("latency p50", _ms(percentile(lat, 0.50))),
            ("latency p99", _ms(percentile(lat, 0.99))),
            ("latency max", _ms(lat[-1] if lat else None)),
            ("duration", "%.1f s, %d docs, %d users" % (elapsed, docs, n_users))]


def print_table(out, url, rows):
    width = max(len(k) for k, _ in rows)
    print("%-*s  %s" % (width, "loadtest", url), file=out)
    print("-" * (width + 2 + 30), file=out)
    for k, v in rows:
        print("%-*s  %s" % (width, k, v), file=out)


def loadtest(url, rate, docs, duration, edit_prob=0.25, users_per_doc=2, seed=None, out=None, progress=True):
    """Open-loop load: ``rate`` syncs per second spread over ``docs`` documents
    (``users_per_doc`` users each); a sync carries a small edit with
    ``edit_prob``. Latency counts from when the sync was due, so a slow server
    shows as latency rather than as a quietly lower rate. Prints the table;
    returns the counts, p50, p99 and seconds."""
    rng = random.Random(seed)
    tag = secrets.token_hex(4)
    users = make_users(docs, users_per_doc, tag)
    probe(url, tag)
    n_threads = min(len(users), MAX_THREADS, max(1, int(rate * 0.5) + 1))
    schedule, tally = Schedule(rate, int(rate * duration), n_threads), Tally()
    threads = [threading.Thread(target=worker, daemon=True,
                                args=(k, url, users, schedule, tally, edit_prob, rng.random()))
               for k in range(n_threads)]
    for t in threads:
        t.start()
    elapsed = wait_with_progress(threads, schedule, tally, duration, progress)
    print_table(out or sys.stdout, url, summary_rows(tally, rate, elapsed, docs, len(users)))
    lat = sorted(tally.latencies)
    return dict(tally.stats, p50=percentile(lat, 0.5), p99=percentile(lat, 0.99), seconds=elapsed)
