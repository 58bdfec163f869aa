"""Large texts as content-addressed pieces, so that a small edit to a 1 MB
document writes one new piece and a short list, not the whole text again
(and again for every shadow that equals it).

A layout is the list of ``(piece id, length in characters)`` a text is cut
into. A new layout keeps every piece of an earlier one (its base) that lies
wholly outside the changed middle, so only the middle is hashed and stored.
Pure: no storage here (``pieces_sql`` keeps them in SQLite).
"""

import functools
import hashlib

from ..spans import changed_span

INLINE_MAX = 32 * 1024  # texts up to this many characters are stored whole, as before
SIZE = 16 * 1024        # the length new pieces are cut to
_ID = 16                # bytes of a piece id (BLAKE2b digest)
_LEN = 4                # bytes of a piece's length in a stored layout


def piece_id(data):
    # surrogatepass: a lone surrogate must still hash (SQLite would refuse it later, loudly)
    return hashlib.blake2b(data.encode("utf-8", "surrogatepass"), digest_size=_ID).digest()


def encode(layout):
    return b"".join(pid + length.to_bytes(_LEN, "big") for pid, length in layout)


def decode(blob):
    return list(_decoded(blob))


@functools.lru_cache(maxsize=1024)
def _decoded(blob):
    # A sync of a large text decodes the same few layouts several times over.
    step = _ID + _LEN
    return tuple((blob[i:i + _ID], int.from_bytes(blob[i + _ID:i + step], "big")) for i in range(0, len(blob), step))


def join(layout, data):
    """The text a layout stands for, from ``data`` {piece id: str}."""
    return "".join(data[pid] for pid, _ in layout)


def lay_out(text, base=None):
    """``(layout, new)``: how to store ``text``, and the pieces {id: str} it
    needs that ``base`` (an earlier ``(text, layout)``, or None) lacks."""
    if base is None:
        return _cut(text)
    old, layout = base
    prefix, suffix = changed_span(old, text)
    head, start = [], 0
    i = 0
    while i < len(layout) and start + layout[i][1] <= prefix:
        head.append(layout[i])
        start += layout[i][1]
        i += 1
    tail, end = [], len(old)
    j = len(layout)
    while j > i and end - layout[j - 1][1] >= len(old) - suffix:
        j -= 1
        end -= layout[j][1]
        tail.append(layout[j])
    tail.reverse()
    # A small piece beside the change is cut again with it, so that deletions
    # do not leave ever more, ever smaller pieces behind.
    if head and head[-1][1] < SIZE // 2:
        start -= head.pop()[1]
    if tail and tail[0][1] < SIZE // 2:
        end += tail.pop(0)[1]
    middle, new = _cut(text[start:len(text) - (len(old) - end)])
    return head + middle + tail, new


def _cut(text):
    """Equal pieces of about SIZE characters (none for an empty text)."""
    count = max(1, round(len(text) / SIZE)) if text else 0
    layout, new = [], {}
    for k in range(count):
        data = text[len(text) * k // count:len(text) * (k + 1) // count]
        pid = piece_id(data)
        layout.append((pid, len(data)))
        new[pid] = data
    return layout, new
