"""Building the zips zipserve serves: ``python -m tools.zipbuild``.

Each source folder becomes ``NAME.zip`` (split into ``NAME.1.zip``, ... past
the size limit), minus the files an exclusion list names. The zips are
byte-for-byte reproducible: members in sorted order, one fixed timestamp
(--epoch, default $SOURCE_DATE_EPOCH), fixed permissions, no extra fields,
deflate level 9 (stored when deflate does not shrink a file). The writer is
our own (APPNOTE's local headers, central directory and end record) so the
builder knows each member's compressed size before placing it in a part.
"""

import argparse
import fnmatch
import os
import re
import shutil
import struct
import subprocess
import sys
import time
import zlib

from zipserve import paths

APP_ENGINE_FILES = 10_000
APP_ENGINE_FILE_BYTES = 32 * 1000 * 1000  # "32 megabytes", taken at its smallest
DEFAULT_EPOCH = 946_684_800  # 2000-01-01T00:00:00Z, when no date is given

_LOCAL = struct.Struct("<IHHHHHIIIHH")
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")
_END = struct.Struct("<IHHHHIIH")
_MADE_BY = (3 << 8) | 20  # Unix, spec 2.0
_FILE_MODE = 0o100644 << 16
_UTF8 = 0x800


# -- the exclusion list ------------------------------------------------------

class Rule:
    """One line of the exclusion list (see static_src/exclude.txt)."""

    def __init__(self, text):
        self.text = text
        self.folder = text.endswith("/")
        pattern = text.rstrip("/")
        self.anchored = "/" in pattern
        self.pattern = pattern
        self.depth = pattern.count("/") + 1
        self.hits = 0

    def matches(self, path):
        """``path`` is "archive/member" ("dojo/tests/x.js")."""
        if self.folder:
            folders = path.split("/")[:-1]
            if self.anchored:
                return (len(folders) >= self.depth and
                        fnmatch.fnmatchcase("/".join(folders[:self.depth]), self.pattern))
            return any(fnmatch.fnmatchcase(f, self.pattern) for f in folders)
        if self.anchored:
            return fnmatch.fnmatchcase(path, self.pattern)
        return fnmatch.fnmatchcase(path.rpartition("/")[2], self.pattern)


def read_rules(path):
    """The rules of an exclusion list file, in order."""
    rules = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            text = line.split("#", 1)[0].strip()
            if text:
                rules.append(Rule(text))
    return rules


def excluded_by(rules, path):
    """The first rule that drops ``path``, or None if it is kept."""
    for rule in rules:
        if rule.matches(path):
            return rule
    return None


# -- collecting files ----------------------------------------------------------

class Source:
    """One folder to pack: what it holds, keeps and drops."""

    def __init__(self, name, directory):
        self.name = name
        self.directory = directory
        self.files_in = 0
        self.kept = []  # (member name, file path), sorted by member name
        self.excluded = 0
        self.bytes_out = 0
        self.parts = []  # (zip path, size in bytes)

    def collect(self, rules):
        if not os.path.isdir(self.directory):
            raise SystemExit(f"build: {self.directory} is not a folder (run npm ci?)")
        found = []
        for folder, dirs, files in os.walk(self.directory):
            dirs.sort()
            for file_name in files:
                full = os.path.join(folder, file_name)
                if not os.path.isfile(full) or os.path.islink(full):
                    continue
                member = os.path.relpath(full, self.directory).replace(os.sep, "/")
                found.append((member, full))
        found.sort()
        self.files_in = len(found)
        for member, full in found:
            rule = excluded_by(rules, f"{self.name}/{member}")
            if rule is not None:
                rule.hits += 1
                self.excluded += 1
            else:
                self.kept.append((member, full))
        return self


# -- writing zips ---------------------------------------------------------------

def dos_datetime(epoch):
    """(time, date) fields of the zip format for a UTC timestamp."""
    t = time.gmtime(max(epoch, 315_532_800))  # the format starts in 1980
    return ((t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2),
            ((t.tm_year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday)


def pack(data):
    """(method, stored bytes): deflated at level 9 unless that is no smaller."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, 9)
    deflated = compressor.compress(data) + compressor.flush()
    if len(deflated) < len(data):
        return 8, deflated
    return 0, data


class Entry:
    __slots__ = ("name", "method", "stored", "crc", "size")

    def __init__(self, name, data):
        self.name = name.encode("utf-8")
        self.crc = zlib.crc32(data)
        self.size = len(data)
        self.method, self.stored = pack(data)

    def local_size(self):
        return _LOCAL.size + len(self.name) + len(self.stored)

    def central_size(self):
        return _CENTRAL.size + len(self.name)


def write_zip(path, entries, epoch):
    """Write ``entries`` (in the order given) as one zip file."""
    dos_time, dos_date = dos_datetime(epoch)
    central = []
    offset = 0
    tmp = path + ".tmp"
    with open(tmp, "wb") as out:
        for e in entries:
            flags = 0 if e.name.isascii() else _UTF8
            version = 20 if e.method == 8 else 10
            out.write(_LOCAL.pack(0x04034B50, version, flags, e.method, dos_time, dos_date,
                                  e.crc, len(e.stored), e.size, len(e.name), 0))
            out.write(e.name)
            out.write(e.stored)
            central.append(_CENTRAL.pack(0x02014B50, _MADE_BY, version, flags, e.method,
                                         dos_time, dos_date, e.crc, len(e.stored), e.size,
                                         len(e.name), 0, 0, 0, 0, _FILE_MODE, offset) + e.name)
            offset += e.local_size()
        directory = b"".join(central)
        out.write(directory)
        out.write(_END.pack(0x06054B50, 0, 0, len(entries), len(entries),
                            len(directory), offset, 0))
    os.replace(tmp, path)


def split_parts(entries, max_bytes):
    """Group entries, in order, into parts no bigger than ``max_bytes``."""
    parts, current, size = [], [], _END.size
    for e in entries:
        need = e.local_size() + e.central_size()
        if need + _END.size > max_bytes:
            raise SystemExit(f"build: {e.name.decode()} alone is over {max_bytes} bytes zipped")
        if current and (size + need > max_bytes or len(current) >= 65_535):
            parts.append(current)
            current, size = [], _END.size
        current.append(e)
        size += need
    parts.append(current)
    return parts


def part_name(name, index):
    """``dojox.zip``, ``dojox.1.zip``, ``dojox.2.zip``: what zipserve looks for."""
    return f"{name}.zip" if index == 0 else f"{name}.{index}.zip"


def build_source(source, out_dir, epoch, max_bytes):
    """Write ``source``'s zip(s) into ``out_dir``, replacing older ones."""
    entries = []
    for member, full in source.kept:
        with open(full, "rb") as f:
            data = f.read()
        source.bytes_out += len(data)
        entries.append(Entry(member, data))
    stale = re.compile(rf"^{re.escape(source.name)}(\.\d+)?\.zip$")
    for old in os.listdir(out_dir):
        if stale.match(old):
            os.remove(os.path.join(out_dir, old))
    for index, part in enumerate(split_parts(entries, max_bytes)):
        path = os.path.join(out_dir, part_name(source.name, index))
        write_zip(path, part, epoch)
        source.parts.append((path, os.path.getsize(path)))


# -- the summary ---------------------------------------------------------------

def app_files(root, out_dir):
    """``(files, how)``: the app's files a deployment uploads besides the
    zips (counted apart, as built). Exactly gcloud's upload set (which honours .gcloudignore) when the
    Google Cloud CLI is installed; else every file git tracks or would
    track, an upper bound."""
    out_rel = os.path.relpath(os.path.abspath(out_dir), os.path.abspath(root)).rstrip("/") + "/"
    listed, how = _upload_set(root), "gcloud's upload set"
    if listed is None:
        listed, how = _git_files(root), "files git tracks; gcloud would upload fewer"
    return [p for p in listed if p and os.path.isfile(os.path.join(root, p)) and not p.endswith(".zip")
            and not (p + "/").startswith(out_rel)], how


def _upload_set(root):
    gcloud = shutil.which("gcloud")
    if not gcloud:
        return None
    try:
        done = subprocess.run([gcloud, "meta", "list-files-for-upload", ".", "--quiet"], cwd=root,
                              check=True, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def _git_files(root):
    try:
        return subprocess.run(
            ["git", "-C", root, "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            check=True, capture_output=True).stdout.decode("utf-8", "replace").split("\0")
    except (OSError, subprocess.CalledProcessError):
        listed = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in (".git", "node_modules")]
            listed.extend(os.path.relpath(os.path.join(folder, f), root) for f in files)
        return listed


def summary(sources, app_count, out=None, how="app files"):
    """Print the table build_zips.sh shows; return the deployment's file count."""
    out = out or sys.stdout
    line = "{:<10} {:>9} {:>9} {:>9} {:>12} {:>11} {:>6}"
    print(line.format("archive", "files in", "excluded", "files out", "bytes out",
                      "zip bytes", "zips"), file=out)
    totals = [0] * 6
    for s in sources:
        zipped = sum(size for _, size in s.parts)
        row = [s.files_in, s.excluded, len(s.kept), s.bytes_out, zipped, len(s.parts)]
        totals = [a + b for a, b in zip(totals, row)]
        print(line.format(s.name, *row), file=out)
    print(line.format("total", *totals), file=out)
    zips = totals[5]
    count = app_count + zips
    verdict = "ok" if count <= APP_ENGINE_FILES else "OVER THE LIMIT"
    print(f"deployment: {count} files ({app_count} app files, {how}, + {zips} zips) "
          f"of App Engine's {APP_ENGINE_FILES:,}: {verdict}", file=out)
    return count


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.zipbuild", description=__doc__.split("\n")[0])
    parser.add_argument("sources", nargs="+", metavar="NAME=FOLDER",
                        help="pack FOLDER as NAME.zip (served under /static/NAME/)")
    parser.add_argument("--out", required=True, help="folder the zips go to")
    parser.add_argument("--exclude", help="the exclusion list file")
    parser.add_argument("--epoch", type=int,
                        default=int(os.environ.get("SOURCE_DATE_EPOCH") or DEFAULT_EPOCH),
                        help="timestamp of every member (default $SOURCE_DATE_EPOCH)")
    parser.add_argument("--max-bytes", type=int, default=APP_ENGINE_FILE_BYTES,
                        help="split an archive into parts no bigger than this")
    parser.add_argument("--app-root", default=".", help="the app's folder, to count its files")
    parser.add_argument("--verbose", action="store_true", help="show how much each rule drops")
    args = parser.parse_args(argv)

    rules = read_rules(args.exclude) if args.exclude else []
    sources = []
    for spec in args.sources:
        name, sep, folder = spec.partition("=")
        if not sep or not paths.is_canonical_segment(name):
            parser.error(f"bad source {spec!r}: want NAME=FOLDER")
        sources.append(Source(name, folder).collect(rules))

    unservable = [f"{s.name}/{m}" for s in sources for m, _ in s.kept if paths.split(m) is None]
    if unservable:
        print("build: these paths cannot be served (see zipserve/paths.py); "
              "exclude or rename them:", *unservable[:20], sep="\n  ", file=sys.stderr)
        return 1

    os.makedirs(args.out, exist_ok=True)
    for s in sources:
        build_source(s, args.out, args.epoch, args.max_bytes)
    if args.verbose:
        for rule in rules:
            print(f"  {rule.hits:6}  {rule.text}")
    files, how = app_files(args.app_root, args.out)
    count = summary(sources, len(files), how=how)
    too_big = [p for s in sources for p, size in s.parts if size > APP_ENGINE_FILE_BYTES]
    if too_big:
        print("build: over App Engine's 32 MB per file:", *too_big, file=sys.stderr)
        return 1
    return 0 if count <= APP_ENGINE_FILES else 1


if __name__ == "__main__":
    sys.exit(main())
