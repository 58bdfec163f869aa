"""Identity bodies: a member's uncompressed bytes, whole or a byte range.

Stored members are read straight from the archive. Deflated ones are
inflated as they are sent (clients that refuse gzip, and Range requests,
which address the uncompressed bytes); large ones in bounded pieces so a
big member never sits whole in memory.
"""

import zlib

from .archive import DEFLATED

CHUNK = 64 * 1024
SMALL = 256 * 1024


def identity(member, start=0, end=None):
    """Bytes ``start`` to ``end`` (exclusive) of the uncompressed member."""
    if end is None:
        end = member.size
    if start >= end:
        return [b""]
    if member.method != DEFLATED:
        if end - start <= SMALL:
            return [member.read_raw(start, end - start)]
        return _stored_stream(member, start, end)
    if member.csize <= SMALL and member.size <= 4 * SMALL:
        data = zlib.decompress(member.read_raw(), -zlib.MAX_WBITS)
        return [data[start:end]]
    return _inflate_stream(member, start, end)


def _stored_stream(member, start, end):
    for pos in range(start, end, CHUNK):
        yield member.read_raw(pos, min(CHUNK, end - pos))


def _inflate_stream(member, start, end):
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    pos = 0  # offset in the uncompressed data of the next byte inflated
    for raw_start in range(0, member.csize, CHUNK):
        data = member.read_raw(raw_start, min(CHUNK, member.csize - raw_start))
        while data:
            out = inflater.decompress(data, CHUNK)
            data = inflater.unconsumed_tail
            piece, pos = _clip(out, pos, start, end)
            if piece:
                yield piece
            if pos >= end:
                return
    piece, pos = _clip(inflater.flush(), pos, start, end)
    if piece:
        yield piece


def _clip(out, pos, start, end):
    """The part of ``out`` (which begins at ``pos``) inside [start, end)."""
    new_pos = pos + len(out)
    if new_pos <= start or pos >= end:
        return b"", new_pos
    return out[max(0, start - pos):end - pos], new_pos
