"""Canonical paths: the only request paths that may reach an archive.

A path is canonical when every "/"-separated segment is non-empty, does not
start with a dot, and uses only a small safe set of characters. That one rule
rejects "..", ".", "//", a trailing "/", backslashes, NUL and other control
characters, and "%" (so any percent-encoding left after the server decoded
the URL once, as in "%252e%252e", never becomes a name). build_zips.sh
refuses to pack a file whose path breaks the rule, so nothing packed is
unreachable.
"""

import re

MAX_PATH = 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_~+@-][A-Za-z0-9._~+@-]*")


def is_canonical_segment(segment):
    """True when ``segment`` may be one segment of a served path."""
    return _SEGMENT.fullmatch(segment) is not None


def split(path):
    """``"dojo/dojo.js"`` -> ``["dojo", "dojo.js"]``; None if not canonical."""
    if not path or len(path) > MAX_PATH:
        return None
    segments = path.split("/")
    for segment in segments:
        if _SEGMENT.fullmatch(segment) is None:
            return None
    return segments
