"""``mobwrite history`` and ``mobwrite restore`` against a real server."""

from test_cli import cli, doc_name, gateway  # noqa: F401 - gateway is a fixture


def test_history_and_restore(gateway):  # noqa: F811
    doc = doc_name()
    assert cli("upload", gateway, doc, "-", stdin="first version\n" * 5).returncode == 0
    assert cli("upload", gateway, doc, "-", stdin="").returncode == 0   # the damage: all gone
    listed = cli("history", gateway, doc)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert len(lines) == 2 and "70 chars" in lines[0] and " 0 chars" in lines[1], lines
    first = lines[0].split()[0]
    restored = cli("restore", gateway, doc, first)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout == "restored #%s as snapshot #3\n" % first
    assert cli("download", gateway, doc).stdout == "first version\n" * 5
    assert "(restored #1)" in cli("history", gateway, doc).stdout.splitlines()[-1]
    bad = cli("restore", gateway, doc, "99")
    assert bad.returncode == 4 and "404" in bad.stderr
    assert cli("restore", gateway, doc, "x").returncode == 2
