"""Logging: JSON lines for Cloud Logging on App Engine, one line per sync at debug."""

import dataclasses
import json
import logging

import pytest

from main import create_app
from mobwrite import logs


def _handler():
    return next(h for h in logging.getLogger("mobwrite").handlers if getattr(h, "_mobwrite", False))


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_json_lines_on_app_engine(settings, store, capsys):
    create_app(dataclasses.replace(settings, on_app_engine=True, log_level="DEBUG"), store)
    logging.getLogger("mobwrite.test").warning("edit to %r refused", "doc\n\"x\"")
    entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert entry == {"severity": "WARNING", "message": "edit to 'doc\\n\"x\"' refused", "logger": "mobwrite.test"}


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_readable_text_locally_and_one_line_per_sync_at_debug(settings, store, capsys):
    client = create_app(dataclasses.replace(settings, log_level="DEBUG"), store).test_client()
    client.post("/sync", data={"q": "u:ann\nf:0:doc\nd:0:+Hi\n\n"})
    client.post("/sync", data={"q": "u:ann\nf:1:doc\nd:1:=2\n\n"})
    lines = [l for l in capsys.readouterr().err.splitlines() if "mobwrite.sync" in l]
    assert len(lines) == 2
    assert "DEBUG mobwrite.sync: sync: 1 actions, 1 docs, text written" in lines[0]
    assert "views only" in lines[1]
    assert not isinstance(_handler().formatter, logs.JsonFormatter)


@pytest.mark.parametrize("backend", ["memory"], indirect=True)
def test_configuring_twice_keeps_one_handler(settings, store):
    create_app(settings, store)
    create_app(settings, store)
    mine = [h for h in logging.getLogger("mobwrite").handlers if getattr(h, "_mobwrite", False)]
    assert len(mine) == 1
