"""The MobWrite wire protocol as pure functions: request text in, actions out;
answer blocks in, answer text out. No I/O, no HTTP, no storage.
"""

import dataclasses
import json
import re
import unicodedata

MAX_VERSION = 2**31 - 1
MAX_NAME = 256
_VERSION = re.compile(r"[0-9]+")


@dataclasses.dataclass(frozen=True)
class Action:
    """One edit line (``d D r R``) or nullify (``n N``) with its context."""

    kind: str            # one of "d D r R n"
    user: str
    doc: str
    echo: bool = False   # the user came from a ``U:`` line
    ack: int = 0         # A: the server version acknowledged by the ``f`` line
    version: int = 0     # V: the client version of the edit
    payload: str = ""    # DELTA or TEXT, still escaped
    token: str = ""      # the capability token from the latest ``t:`` line (issue 12)
    read_only: bool = False  # set by access.screen: the engine may not write for it

    @property
    def forceful(self):
        return self.kind in "DR"

    @property
    def writes(self):
        """Would this action write the text if taken? (A ``d`` of only ``=N``
        does not, but for a null document.)"""
        return self.kind in "nrRD" or may_change_text([self])


@dataclasses.dataclass(frozen=True)
class Fragment:
    """One ``b:ID SIZE INDEX DATA`` line: part of a request too long for a URL."""

    id: str
    size: int
    index: int
    data: str


@dataclasses.dataclass
class Request:
    actions: list
    fragments: list


def normalize_newlines(text):
    if "\r" not in text:  # one scan, no copies: the common case, and a 1 MB text is touched per edit
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_complete(text):
    """A request must end with an empty line; anything else was truncated."""
    return normalize_newlines(text).endswith("\n\n")


def valid_name(name):
    """User ids and document names: 1..256 characters and no control or
    surrogate character (names become storage keys and are echoed in scripts)."""
    if not name or len(name) > MAX_NAME:
        return False
    return not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name)


def _version(text):
    if not _VERSION.fullmatch(text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > 10:
        return None  # far out of range, and int() of a huge string is costly
    value = int(digits)
    return value if value <= MAX_VERSION else None


def split_version(value):
    """``VERSION:rest`` to (version, rest), or None when the version is bad."""
    head, sep, rest = value.partition(":")
    version = _version(head)
    return None if version is None or not sep else (version, rest)


def lines(text):
    """(letter, value) for each ``X:value`` line, up to the first empty line;
    lines of any other shape are skipped. Requests and answers alike."""
    for line in normalize_newlines(text).split("\n"):
        if not line:
            return
        if len(line) >= 2 and line[1] == ":":
            yield line[0], line[2:]


def parse(text):
    """Parse request text (already complete) into actions and fragments.

    Lines that do not parse are ignored, as the protocol says; parsing stops at
    the first empty line.
    """
    actions, fragments = [], []
    user = doc = None
    echo = False
    ack = 0
    token = ""  # ``t:TOKEN`` holds for the lines after it, until the next ``t:``
    for letter, value in lines(text):
        if letter in "uU":
            user = value if valid_name(value) else None
            echo = letter == "U"
        elif letter in "fF":
            parsed = split_version(value)
            if parsed is not None:
                ack, name = parsed
                doc = name if valid_name(name) else None
        elif letter in "nN":
            doc = value if valid_name(value) else None
            if user and doc:
                actions.append(Action("n", user, doc, echo, token=token))
        elif letter in "dDrR":
            parsed = split_version(value)
            if parsed is not None and user and doc:
                actions.append(Action(letter, user, doc, echo, ack, parsed[0], parsed[1], token))
        elif letter == "t":
            token = value
        elif letter in "bB":
            fragment = _fragment(value)
            if fragment is not None:
                fragments.append(fragment)
    return Request(actions, fragments)


def _fragment(value):
    parts = value.split(" ", 3)
    if len(parts) != 4 or not parts[0]:
        return None
    size, index = _version(parts[1]), _version(parts[2])
    if size is None or index is None or not 1 <= index <= size:
        return None
    return Fragment(parts[0], size, index, parts[3])


def may_change_text(actions):
    """Could these actions write a document's text? Pure ``=N`` deltas cannot
    (unless the document is null, which the engine reports)."""
    for action in actions:
        if action.kind in "nrR":
            return True
        if any(token[:1] in ("+", "-") for token in action.payload.split("\t")):
            return True
    return False


def format_answer(lines):
    """Answer for ``q=``: the lines, then the closing empty line."""
    return "".join(line + "\n" for line in lines) + "\n" if lines else ""


def format_jsonp(lines):
    """Answer for ``p=``: a script calling ``mobwrite.callback`` with the lines
    (no closing empty line), escaped so no value can end the script."""
    literal = json.dumps("".join(line + "\n" for line in lines), ensure_ascii=False)
    literal = literal.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return "mobwrite.callback(%s);" % literal
