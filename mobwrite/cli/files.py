"""Reading and writing the user's files, with failures as CliError (exit 1)."""

import contextlib
import os
import sys

from .transport import CliError


def read_text(path, missing_ok=False):
    """PATH's text as written (no newline translation; "-" is stdin), or
    None for a missing file when ``missing_ok``."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except FileNotFoundError:
        if missing_ok:
            return None
        raise CliError("cannot read %s: no such file" % path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError("cannot read %s: %s" % (path, exc)) from None


def write_atomic(path, text):
    """Replace PATH with TEXT through a temporary file, so a failed write
    never leaves half a file."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise CliError("cannot write %s: %s" % (path, exc)) from None
