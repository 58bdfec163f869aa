"""gzip without recompressing: a deflated member already is a gzip body.

A zip member stored with method 8 is a raw deflate stream, and the zip
directory holds its CRC-32 and uncompressed size. gzip (RFC 1952) is exactly
that stream between a 10-byte header and an 8-byte trailer of CRC-32 and
size, so the bytes go from the archive to the socket as they lie: no CPU is
spent compressing, ever.
"""

import struct

from .archive import DEFLATED

# Magic, method deflate, no flags, no timestamp (mtime 0 means "none", and
# keeps the body identical across builds), no extra flags, OS "unknown".
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
TRAILER_SIZE = 8
CHUNK = 64 * 1024
SMALL = 256 * 1024


def can_wrap(member):
    """True when the member's stored bytes are a raw deflate stream."""
    return member.method == DEFLATED


def length(member):
    """Content-Length of the gzip body."""
    return len(HEADER) + member.csize + TRAILER_SIZE


def trailer(member):
    """CRC-32 and size modulo 2**32 of the uncompressed data, little-endian."""
    return struct.pack("<II", member.crc, member.size & 0xFFFFFFFF)


def body(member):
    """The gzip body as an iterable of bytes; one piece for small members,
    64 KiB pieces read as they are sent for large ones."""
    if member.csize <= SMALL:
        return [HEADER + member.read_raw() + trailer(member)]
    return _stream(member)


def _stream(member):
    yield HEADER
    for start in range(0, member.csize, CHUNK):
        yield member.read_raw(start, min(CHUNK, member.csize - start))
    yield trailer(member)
