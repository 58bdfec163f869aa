"""Content types from a fixed table, never from the host's mimetypes.

The table covers every extension Dojo 1.17's packages ship (tests check the
built zips against it), so a deployment answers the same everywhere. Text
types say charset=utf-8: Dojo and our own files are UTF-8.
"""

_TEXT = "; charset=utf-8"

TYPES = {
    # Scripts, pages, styles and data a browser loads.
    "js": "text/javascript" + _TEXT,
    "mjs": "text/javascript" + _TEXT,
    "css": "text/css" + _TEXT,
    "html": "text/html" + _TEXT,
    "htm": "text/html" + _TEXT,
    "json": "application/json" + _TEXT,
    "map": "application/json" + _TEXT,
    "smd": "application/json" + _TEXT,  # dojox/rpc Service Mapping Descriptions
    "xml": "application/xml" + _TEXT,
    "xsl": "application/xslt+xml" + _TEXT,
    "svg": "image/svg+xml" + _TEXT,
    "htc": "text/x-component" + _TEXT,  # old IE behaviours
    "csv": "text/csv" + _TEXT,
    "txt": "text/plain" + _TEXT,
    # Sources and documents Dojo ships (most are left out of the zips, but
    # an archive built another way may hold them): shown as text, never run.
    "md": "text/markdown" + _TEXT,
    "less": "text/plain" + _TEXT,
    "as": "text/plain" + _TEXT,
    "java": "text/plain" + _TEXT,
    "php": "text/plain" + _TEXT,
    "phps": "text/plain" + _TEXT,
    "example-php": "text/plain" + _TEXT,
    "pl": "text/plain" + _TEXT,
    "sh": "text/plain" + _TEXT,
    "bat": "text/plain" + _TEXT,
    "sql": "text/plain" + _TEXT,
    "diff": "text/plain" + _TEXT,
    "xquery": "text/plain" + _TEXT,
    "template": "text/plain" + _TEXT,
    "disabled": "text/plain" + _TEXT,
    "gitattributes": "text/plain" + _TEXT,
    "gitmodules": "text/plain" + _TEXT,
    "1": "text/plain" + _TEXT,
    "2": "text/plain" + _TEXT,
    "mydata": "text/plain" + _TEXT,
    "mydata2": "text/plain" + _TEXT,
    "myjson": "application/json" + _TEXT,
    "myhtml": "text/html" + _TEXT,
    # Images and fonts.
    "png": "image/png",
    "gif": "image/gif",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "ico": "image/x-icon",
    "webp": "image/webp",
    "psd": "image/vnd.adobe.photoshop",
    "woff": "font/woff",
    "woff2": "font/woff2",
    "ttf": "font/ttf",
    "otf": "font/otf",
    "eot": "application/vnd.ms-fontobject",
    # Media, Flash and other binaries.
    "swf": "application/x-shockwave-flash",
    "fla": "application/octet-stream",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
    "ogg": "audio/ogg",
    "mov": "video/quicktime",
    "flv": "video/x-flv",
    "webm": "video/webm",
    "ogv": "video/ogg",
    "mp4": "video/mp4",
    "3gp": "video/3gpp",
    "pdf": "application/pdf",
    "gz": "application/gzip",
    "wasm": "application/wasm",
}

# A file with no extension: Dojo's are time zone tables and licence texts.
NO_EXTENSION = "text/plain" + _TEXT
UNKNOWN = "application/octet-stream"


def extension(name):
    """The lower-cased extension of the last path segment ("" if none)."""
    base = name.rpartition("/")[2]
    stem, dot, ext = base.rpartition(".")
    return ext.lower() if dot and stem else ""


def content_type(name):
    """The Content-Type for a member called ``name``."""
    ext = extension(name)
    if not ext:
        return NO_EXTENSION
    return TYPES.get(ext, UNKNOWN)
