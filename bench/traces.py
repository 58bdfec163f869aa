"""The real editing traces in ``../shared/traces`` (beside the clone), loaded
and checked: replaying every patch of every transaction on ``startContent``
must give ``endContent`` exactly, or the trace is refused.

    from bench import traces
    trace = traces.load("sveltecomponent")           # checked replay
    for text in trace.keystroke_texts(limit=2000):   # the text after each patch
        ...

Positions and counts are in Unicode code points, as Python's str indexes.
The traces are CC BY 4.0 (see ../shared/traces/README.md for the authors);
they are read in place, never copied into this repository.
"""

import dataclasses
import datetime
import gzip
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = ("automerge-paper", "seph-blog1", "sveltecomponent", "rustcode")


class TraceError(ValueError):
    """A trace that is missing, malformed or does not replay to its endContent."""


def traces_dir():
    """``$MOBWRITE_TRACES``, else ``../shared/traces`` beside the repository
    root (CI has ../shared beside the clone)."""
    explicit = os.environ.get("MOBWRITE_TRACES")
    if explicit:
        return explicit
    return os.path.join(os.path.dirname(ROOT), "shared", "traces")


def available():
    folder = traces_dir()
    return [n for n in NAMES if os.path.exists(os.path.join(folder, n + ".json.gz"))]


@dataclasses.dataclass
class Patch:
    pos: int
    delete: int
    insert: str
    time: float  # seconds since the first transaction


@dataclasses.dataclass
class Trace:
    name: str
    start: str
    end: str
    patches: list  # [Patch], flattened over transactions, in order

    def __len__(self):
        return len(self.patches)

    def keystroke_texts(self, limit=None):
        """The text after each patch (a generator; ``limit`` patches at most)."""
        text = self.start
        for patch in self.patches[:limit]:
            text = apply(text, patch)
            yield text

    def text_after(self, count):
        text = self.start
        for patch in self.patches[:count]:
            text = apply(text, patch)
        return text

    def max_length(self, limit=None):
        return max((len(t) for t in self.keystroke_texts(limit)), default=len(self.start))


def apply(text, patch):
    if patch.pos < 0 or patch.pos + patch.delete > len(text):
        raise TraceError("patch %r out of range for a text of %d" % (patch, len(text)))
    return text[:patch.pos] + patch.insert + text[patch.pos + patch.delete:]


def _seconds(stamp, origin):
    try:
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    if origin[0] is None:
        origin[0] = moment
    return (moment - origin[0]).total_seconds()


def parse(name, data, check=True):
    """A Trace from the decoded JSON; with ``check``, replay it in full and
    insist on ``endContent``."""
    try:
        start, end, txns = data["startContent"], data["endContent"], data["txns"]
    except (KeyError, TypeError) as exc:
        raise TraceError("%s: not a trace (%s)" % (name, exc)) from exc
    origin, patches, last = [None], [], 0.0
    for txn in txns:
        moment = _seconds(txn.get("time"), origin)
        last = last if moment is None else moment
        for pos, delete, insert in txn["patches"]:
            patches.append(Patch(int(pos), int(delete), insert, last))
    trace = Trace(name, start, end, patches)
    if check:
        # Replay on a list of chunks would be faster; a str replay is the
        # plainest statement of the format and takes a few seconds at most.
        text = start
        for patch in patches:
            text = apply(text, patch)
        if text != end:
            raise TraceError("%s: replaying %d patches does not give endContent (%d vs %d characters)"
                             % (name, len(patches), len(text), len(end)))
    return trace


_cache = {}


def load(name, check=True, folder=None):
    """Load ``NAME.json.gz`` from the traces folder (checked, cached per process)."""
    path = os.path.join(folder or traces_dir(), name + ".json.gz")
    key = (os.path.abspath(path), check)
    if key not in _cache:
        if not os.path.exists(path):
            raise TraceError("no trace at %s (the traces live in ../shared/traces beside the clone; "
                             "or set MOBWRITE_TRACES)" % path)
        with gzip.open(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
        _cache[key] = parse(name, data, check)
    return _cache[key]
