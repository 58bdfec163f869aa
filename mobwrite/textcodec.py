"""How text travels on the wire: encodeURI-style escapes and UTF-16 lengths.

JavaScript clients count string lengths in UTF-16 code units and escape text
as ``encodeURI`` does; everything here speaks that dialect so that Python's
code-point strings and the clients' strings agree on every number.
"""

import re
import urllib.parse

# encodeURI leaves these unescaped; MobWrite also keeps the space.
_SAFE = "-_.!~*'();/?:@&=+$,# "
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class DecodeError(ValueError):
    """Text on the wire that is not valid escaped UTF-8."""


def encode(text):
    """Escape text as the MobWrite clients do (UTF-8, uppercase %XX)."""
    return urllib.parse.quote(text, safe=_SAFE)


def decode(wire):
    """Undo ``encode``: %XX escapes to bytes (nothing else), then strict UTF-8."""
    if _BAD_ESCAPE.search(wire):
        raise DecodeError("malformed percent escape")
    try:
        return urllib.parse.unquote_to_bytes(wire).decode("utf-8")
    except UnicodeError as exc:  # bad UTF-8 escaped, or a lone surrogate in the str itself
        raise DecodeError("not valid UTF-8") from exc


def utf16_len(text):
    """Length of text as JavaScript counts it (an emoji is 2)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
