"""Reading request headers: Accept-Encoding, conditionals and Range.

Browsers send the same few Accept-Encoding and date strings over and over,
so their parses are memoised; a bad header is ignored (as RFC 9110 allows)
rather than answered with an error.
"""

import email.utils
import functools
import re

UNSATISFIABLE = "unsatisfiable"
_RANGE = re.compile(r"^bytes=\s*(\d*)\s*-\s*(\d*)\s*$")


@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding):
    """True when the Accept-Encoding value allows gzip (q > 0)."""
    if not accept_encoding:
        return False
    gzip_q = star_q = None
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if coding in ("gzip", "x-gzip"):
            gzip_q = q if gzip_q is None else max(gzip_q, q)
        elif coding == "*":
            star_q = q
    if gzip_q is not None:
        return gzip_q > 0
    return bool(star_q and star_q > 0)


@functools.lru_cache(maxsize=256)
def parse_date(value):
    """An HTTP date as a POSIX timestamp, or None if it is not one."""
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        return None  # a date without GMT is not an HTTP date
    return parsed.timestamp()


def etag_matches(if_none_match, etag):
    """If-None-Match against our (strong) ETag, by weak comparison."""
    value = if_none_match.strip()
    if value == "*":
        return True
    for candidate in value.split(","):
        candidate = candidate.strip()
        if candidate.startswith("W/"):
            candidate = candidate[2:]
        if candidate == etag:
            return True
    return False


def not_modified(environ, etag, mtime):
    """True when the conditional headers make this a 304.

    If-None-Match, when present, decides alone (RFC 9110 13.2.2).
    """
    inm = environ.get("HTTP_IF_NONE_MATCH")
    if inm is not None:
        return etag_matches(inm, etag)
    ims = environ.get("HTTP_IF_MODIFIED_SINCE")
    if ims:
        since = parse_date(ims)
        return since is not None and mtime <= since
    return False


def range_applies(environ, etag, last_modified):
    """If-Range: honour Range only if the validator still matches exactly."""
    if_range = environ.get("HTTP_IF_RANGE")
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"'):
        return if_range == etag
    return if_range == last_modified


def parse_range(value, size):
    """One byte range -> (start, end exclusive); UNSATISFIABLE; or None to
    ignore the header (bad syntax, or several ranges: we send it whole)."""
    match = _RANGE.match(value)
    if not match:
        return None
    first, last = match.groups()
    if first:
        start = int(first)
        end = int(last) + 1 if last else size
        if last and end <= start:
            return None  # "bytes=5-2" is invalid: ignore it
        if start >= size:
            return UNSATISFIABLE
        return start, min(end, size)
    if not last:
        return None
    suffix = int(last)
    if suffix == 0:
        return UNSATISFIABLE
    return max(0, size - suffix), size
