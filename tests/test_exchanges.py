"""Every rule of PROTOCOL.md as a worked exchange, on every store backend."""

import pytest


def test_example_exchange_from_the_protocol(sync):
    assert sync("u:ann42\nf:0:notes7\nd:0:+Hi\n\n") == "F:1:notes7\nd:0:=2\n\n"
    assert sync("u:bob9\nf:0:notes7\nd:0:\n\n") == "F:1:notes7\nd:0:+Hi\n\n"
    assert sync("u:bob9\nf:1:notes7\nd:1:=2\n\n") == "F:2:notes7\nd:1:=2\n\n"


def test_lost_reply_rolls_back_to_the_backup_shadow(sync):
    sync("u:ann42\nf:0:notes7\nd:0:+Hi\n\n")
    assert sync("u:bob9\nf:0:notes7\nd:0:\n\n") == "F:1:notes7\nd:0:+Hi\n\n"
    # Bob never got that answer and sends the same request again.
    assert sync("u:bob9\nf:0:notes7\nd:0:\n\n") == "F:1:notes7\nd:0:+Hi\n\n"
    assert sync("u:bob9\nf:1:notes7\nd:1:=2\n\n") == "F:2:notes7\nd:1:=2\n\n"
