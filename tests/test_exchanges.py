"""Every rule of PROTOCOL.md as a worked exchange, on every store backend."""


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


def test_late_duplicate_of_an_answered_request_changes_nothing(sync):
    """A duplicate delivered after its twin was answered, whose f: version is
    the backup's, must not roll the view back (PROTOCOL.md's rule would, and
    the client's next edit would then not fit and be lost)."""
    sync("u:a\nf:0:d\nd:0:+A\n\n")
    sync("u:z\nf:0:d\nd:0:\n\n")
    request = "u:a\nf:1:d\nd:1:=1\t+ B\n\n"
    assert sync(request) == "F:2:d\nd:1:=3\n\n"
    assert sync("u:z\nf:1:d\nd:1:+Z \t=1\n\n") == "F:2:d\nd:1:=3\t+ B\n\n"
    # The duplicate gets the kept answer again, and the view stays as it was.
    assert sync(request) == "F:2:d\nd:1:=3\n\n"
    assert sync("u:a\nf:2:d\nd:2:=3\t+ C\n\n") == "F:3:d\nd:2:+Z \t=5\n\n"
    assert sync("u:z\nf:2:d\nd:2:=5\n\n") == "F:3:d\nd:2:=5\t+ C\n\n"
