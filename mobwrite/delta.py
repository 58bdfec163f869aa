"""diff-match-patch deltas, read strictly and counted in UTF-16 code units.

The library's own ``diff_fromDelta`` is lenient (``int`` accepts "+3" and
non-ASCII digits, ``unquote`` passes broken escapes and bad UTF-8); a delta
that is not exactly right must "not fit", so we parse it ourselves.
"""

import re

from diff_match_patch import diff_match_patch

from . import textcodec

DIFF_DELETE, DIFF_INSERT, DIFF_EQUAL = -1, 1, 0
_COUNT = re.compile(r"[0-9]{1,10}")


class DeltaError(ValueError):
    """A delta that does not fit the text it claims to apply to."""


def make_dmp(diff_timeout):
    """A diff-match-patch configured as PROTOCOL.md requires."""
    dmp = diff_match_patch()
    dmp.Diff_Timeout = diff_timeout
    dmp.Diff_EditCost = 4
    dmp.Match_Threshold = 0.5
    dmp.Match_Distance = 1000
    dmp.Patch_DeleteThreshold = 0.5
    dmp.Patch_Margin = 4
    return dmp


def to_delta(diffs):
    """Diffs to the wire delta (lengths in UTF-16 units, inserts escaped)."""
    tokens = []
    for op, data in diffs:
        if op == DIFF_INSERT:
            tokens.append("+" + textcodec.encode(data))
        else:
            tokens.append(("=" if op == DIFF_EQUAL else "-") + str(textcodec.utf16_len(data)))
    return "\t".join(tokens)


def from_delta(text, delta):
    """Expand a wire delta against ``text`` into diffs, or raise DeltaError."""
    if text.isascii():
        units, slice_units = text, _ascii_slice
    else:
        units, slice_units = text.encode("utf-16-le", "surrogatepass"), _utf16_slice
    diffs = []
    pointer = 0
    for token in delta.split("\t"):
        if not token:
            continue  # a trailing tab makes an empty token; harmless
        op, param = token[0], token[1:]
        if op == "+":
            try:
                diffs.append((DIFF_INSERT, textcodec.decode(param)))
            except textcodec.DecodeError as exc:
                raise DeltaError(str(exc)) from exc
        elif op in "=-" and _COUNT.fullmatch(param):
            count = int(param)
            piece = slice_units(units, pointer, count)
            pointer += count
            diffs.append((DIFF_EQUAL if op == "=" else DIFF_DELETE, piece))
        else:
            raise DeltaError("bad token %r" % token[:20])
    if pointer != textcodec.utf16_len(text):
        raise DeltaError("delta covers %d units of %d" % (pointer, textcodec.utf16_len(text)))
    return diffs


def _ascii_slice(text, start, count):
    if start + count > len(text):
        raise DeltaError("delta longer than text")
    return text[start:start + count]


def _utf16_slice(data, start, count):
    if (start + count) * 2 > len(data):
        raise DeltaError("delta longer than text")
    try:
        # Strict decoding refuses a slice that cuts a surrogate pair in two.
        return data[start * 2:(start + count) * 2].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise DeltaError("count ends inside a surrogate pair") from exc
