"""The trace loader: every real trace replays to its endContent, and a trace
that does not is refused. The traces are read from ../shared/traces."""

import gzip
import json

import pytest

from bench import traces

NAMES = ["automerge-paper", "seph-blog1", "sveltecomponent", "rustcode"]


def test_the_shared_traces_are_there():
    assert sorted(traces.available()) == sorted(NAMES), traces.traces_dir()


@pytest.mark.parametrize("name", NAMES)
def test_real_traces_replay_to_their_end(name):
    trace = traces.load(name)  # raises TraceError unless the replay gives endContent
    assert len(trace) > 1000
    assert trace.text_after(len(trace)) == trace.end


def test_a_trace_that_does_not_replay_is_refused(tmp_path):
    data = {"startContent": "ab", "endContent": "abc!",
            "txns": [{"time": "2020-01-01T00:00:00Z", "patches": [[2, 0, "c"]]}]}
    with gzip.open(tmp_path / "bad.json.gz", "wt") as f:
        json.dump(data, f)
    with pytest.raises(traces.TraceError, match="does not give endContent"):
        traces.load("bad", folder=str(tmp_path))
    data["endContent"] = "abc"
    assert traces.parse("good", data).end == "abc"
    data["txns"][0]["patches"] = [[5, 1, "x"]]
    with pytest.raises(traces.TraceError, match="out of range"):
        traces.parse("range", data)
    with pytest.raises(traces.TraceError):
        traces.parse("junk", {"txns": []})


def test_positions_are_code_points():
    data = {"startContent": "a👋b", "endContent": "a👋Xb",
            "txns": [{"time": "2020-01-01T00:00:00Z", "patches": [[2, 0, "X"]]}]}
    assert traces.parse("emoji", data).end == "a👋Xb"
