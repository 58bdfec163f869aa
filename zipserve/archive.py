"""Finding members in zip archives: one index per archive, built once.

An Archive is the files of one URL folder (a split archive has several).
It is opened on first use, once per process, under a lock; after that every
lookup is a dict get and every read a positional ``os.pread`` on a file
descriptor kept open, so threads never share a file position.
"""

import calendar
import logging
import os
import struct
import threading
import zipfile

from . import paths

log = logging.getLogger(__name__)

STORED = zipfile.ZIP_STORED
DEFLATED = zipfile.ZIP_DEFLATED
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"


class Member:
    """Where one member's bytes are and what the zip directory says of them.

    ``cache`` holds what the response layer derives from it (headers), built
    on first use: computed once per member, never per request.
    """

    __slots__ = ("name", "fd", "offset", "method", "csize", "size", "crc", "mtime", "cache")

    def __init__(self, name, fd, offset, method, csize, size, crc, mtime):
        self.name = name
        self.fd = fd
        self.offset = offset
        self.method = method
        self.csize = csize
        self.size = size
        self.crc = crc
        self.mtime = mtime
        self.cache = None

    def read_raw(self, start=0, length=None):
        """The member's stored bytes (compressed if deflated), or a slice."""
        if length is None:
            length = self.csize - start
        return pread_exact(self.fd, length, self.offset + start)


def pread_exact(fd, length, offset):
    """Read exactly ``length`` bytes at ``offset`` (pread may return fewer)."""
    data = os.pread(fd, length, offset)
    if len(data) == length:
        return data
    chunks = [data]
    got = len(data)
    while got < length:
        more = os.pread(fd, length - got, offset + got)
        if not more:
            raise OSError(f"zipserve: archive truncated at offset {offset + got}")
        chunks.append(more)
        got += len(more)
    return b"".join(chunks)


class Archive:
    """The members of one URL folder, from one or more zip files."""

    def __init__(self, name, files):
        self.name = name
        self.files = list(files)
        self._members = None
        self._fds = []
        self._lock = threading.Lock()

    @property
    def is_open(self):
        return self._members is not None

    def get(self, name):
        """The Member called ``name`` or None (also None if unreadable)."""
        members = self._members
        if members is None:
            members = self.open()
        return members.get(name)

    def members(self):
        """All members, name -> Member (opens the archive if needed)."""
        return self._members if self._members is not None else self.open()

    def open(self):
        """Read the zip directories once; later calls return the index.

        A missing or broken file is logged and leaves the folder empty (every
        member then answers 404), so a deployment without its zips still runs.
        """
        with self._lock:
            if self._members is not None:
                return self._members
            members = {}
            for path in self.files:
                try:
                    self._index(path, members)
                except (OSError, zipfile.BadZipFile, struct.error) as exc:
                    log.error("zipserve: cannot read %s for /%s/: %s", path, self.name, exc)
            self._members = members
            return members

    def _index(self, path, members):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        self._fds.append(fd)
        file_size = os.fstat(fd).st_size
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
        for info in infos:
            name = info.filename
            if name.endswith("/") or name in members:
                continue  # folders are not members; the first part wins
            if info.flag_bits & 0x1 or info.compress_type not in (STORED, DEFLATED):
                log.warning("zipserve: %s in %s is encrypted or not deflated; skipped", name, path)
                continue
            if paths.split(name) is None:
                continue  # no canonical URL can name it
            header = pread_exact(fd, _LOCAL_HEADER.size, info.header_offset)
            fields = _LOCAL_HEADER.unpack(header)
            if fields[0] != _LOCAL_MAGIC:
                raise zipfile.BadZipFile(f"bad local header for {name}")
            offset = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
            if offset + info.compress_size > file_size:
                raise zipfile.BadZipFile(f"{name} runs past the end of the file")
            members[name] = Member(
                name=name,
                fd=fd,
                offset=offset,
                method=info.compress_type,
                csize=info.compress_size,
                size=info.file_size,
                crc=info.CRC,
                mtime=calendar.timegm(info.date_time + (0, 0, 0)),
            )

    def close(self):
        """Close the files (for tests and benchmarks; servers never need it)."""
        with self._lock:
            for fd in self._fds:
                os.close(fd)
            self._fds = []
            self._members = None
