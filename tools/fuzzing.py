"""Fuzzing: case generators and property checks over the protocol parser,
the delta decoder, the text codec, the engine and the HTTP face.

One module for both users: ``tests/test_fuzz.py`` (the CI slice, a few
hundred cases per target) and ``bench/fuzz.py`` (the same at scale, with
problems counted rather than raised). Generated input is mostly shaped like
the protocol, so that it reaches deep code, with pure garbage beside it.

Hypothesis drives every case through one byte string it generates and
shrinks (``strategy``); a ``Source`` reads the generators' choices from it.
Drawing each choice from a hypothesis strategy costs about 65 µs, and a
protocol-shaped request takes some 150 choices: ten times the cost of
checking it. Past the end of the bytes every choice reads as zero, which
the generators make the plain one, so a shrunk case is a simple one.

A target has a ``make(source)`` and a ``check(case)``; the check returns
the problems it saw as ``(kind, detail)`` pairs, ``kind`` one of KINDS.
"""

import contextlib
import copy
import dataclasses
import io
import json
import os
import re
import shutil
import string
import tempfile
import traceback
import urllib.parse

from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder, run_wsgi_app

from main import create_app
from mobwrite import delta as deltas
from mobwrite import presence, protocol, push, textcodec, wiring
from mobwrite.access import TokenKeys
from mobwrite.config import Settings
from mobwrite.engine import Engine, View
from mobwrite.protocol import Action
from mobwrite.stores.cache import open_cache

KINDS = ("exception", "5xx", "unsafe JSONP", "property")
DMP = deltas.make_dmp(0)  # no deadline: a diff is the same on every machine


class Source:
    """The choices of one case, read from bytes hypothesis generated:
    past the end every read is zero, the first (plainest) choice."""

    def __init__(self, data):
        self.data, self.at = data, 0

    def below(self, n):
        """An int in 0..n."""
        if n <= 0:
            return 0
        size = (n.bit_length() + 7) // 8
        raw = int.from_bytes(self.data[self.at:self.at + size], "big")
        self.at += size
        return raw % (n + 1)

    def one_in(self, k):
        """True one time in ``k`` (never once the bytes run out)."""
        return self.below(k - 1) == k - 1

    def pick(self, options):
        return options[self.below(len(options) - 1)]

    def char(self):
        """Any character but a surrogate, ASCII most often, astral now and then."""
        low, high = ((0, 0x7F), (0, 0x7F), (0x80, 0x7FF), (0x800, 0xFFFF), (0x10000, 0x10FFFF))[self.below(4)]
        code = low + self.below(high - low)
        return chr(code - 0x800 if 0xD800 <= code < 0xE000 else code)

    def text(self, max_size=16, surrogates=False):
        """About ``max_size`` characters in runs: letters mostly, tricky
        characters often, any character now and then, lone surrogates
        only when asked (never from HTTP: forms decode strictly)."""
        out = []
        for _ in range(self.below(max(1, max_size // 4))):
            kind = self.below(9 if surrogates else 8)
            if kind < 5:
                out.extend(self.pick(LETTERS) for _ in range(self.below(8)))
            elif kind < 7:
                out.extend(self.pick(TRICKY) for _ in range(1 + self.below(2)))
            elif kind < 9:
                out.extend(self.char() for _ in range(1 + self.below(2)))
            else:
                out.extend(chr(0xD800 + self.below(0x7FF)) for _ in range(1 + self.below(1)))
        return "".join(out)


def strategy(make, min_size=128, max_size=4096):
    """The hypothesis strategy of ``make(source)``'s cases."""
    return st.binary(min_size=min_size, max_size=max_size).map(lambda data: make(Source(data)))


# ---------------------------------------------------------------- text, names, versions

LETTERS = string.ascii_lowercase * 3 + "     \n"
# Characters that have broken escapers and parsers before: markup, quotes,
# JavaScript's line terminators, line breaks, escapes, astral characters.
TRICKY = ["<", ">", "&", '"', "'", "\\", "/", "\u2028", "\u2029", "\r", "\n", "\t", "\x00", "\x1f", "\x7f",
          "\x85", "%", "+", "=", "-", ":", " ", "é", "中", "😀", "\U0001f3fd", "\ufeff", "\u200b", "٣"]
USERS = ["ann", "bob", "cy"]
DOCS = ["doc", "notes", "priv/a"]   # priv/ needs a token where access is by tokens
ODD_NAMES = ["", "a\tb", "a\x00b", "a\x85b", "é:😀/", "n" * 256, "n" * 257, "a\u2028b", "</script>", 'a"b\\',
             "..", "__key__", " ", "%41"]
ADMIN = "fuzz-admin"  # the admin token of the HTTP targets' apps
KEYS = TokenKeys("fuzz-key")  # their token key; t: lines carry these tokens and forged ones
TOKENS = [KEYS.mint("priv/a", "edit", 10**8), KEYS.mint("priv/a", "view", 10**8),
          KEYS.mint("priv", "edit", 10**8, True), TokenKeys("other-key").mint("priv/a", "edit", 10**8)]
BAD_VERSIONS = ["", "-1", "+1", " 1", "01", "0x1", "٠", "1.0", "2147483647", "2147483648", "9" * 12, "9" * 400]


def name(src, pool):
    """A name from a small pool mostly (so that requests meet the views and
    texts earlier ones left), a fresh or an odd one otherwise."""
    how = src.below(6)
    if how < 2:
        return src.pick(pool)
    if how < 4:
        return "".join(src.pick(string.ascii_lowercase + "/") for _ in range(1 + src.below(7)))
    if how == 4:  # a pool name with a tricky character in it: echoed in answers as it is
        return src.pick(pool) + src.pick(TRICKY)
    return src.pick(ODD_NAMES) if src.below(1) else src.text(6)


def version(src):
    """A version field: small numbers mostly, edge cases otherwise."""
    how = src.below(5)
    if how < 3:
        return str(src.below(3))
    return str(src.below(2**31 + 2)) if how == 3 else src.pick(BAD_VERSIONS)


# ---------------------------------------------------------------- wire text and deltas

BAD_ESCAPES = ["%", "%4", "%ZZ", "%G1", "%FF", "%C0%80", "%C0%AF", "%ED%A0%80", "%ED%A0%BD%ED%B8%80", "%E2%82",
               "%F0%9F%98", "%0A", "%09", "%00", "%25", "%2", "%%"]


def wire_garbage(src, surrogates=False):
    """Escaped-looking text that is mostly not valid: bad escapes, raw characters."""
    pieces = []
    for _ in range(src.below(4)):
        how = src.below(2)
        pieces.append(src.pick(BAD_ESCAPES) if how == 0 else src.text(4, surrogates) if how == 1
                      else textcodec.encode(src.text(4)))
    return "".join(pieces)


def raw_payload(src):
    """The text of an ``r:``/``R:`` line: escaped text, or garbage."""
    return wire_garbage(src) if src.one_in(3) else textcodec.encode(src.text())


def edited(src, text):
    """``text`` after a few inserts and deletes at random places (now and
    then a big insert, to cross max_chars)."""
    for _ in range(src.below(3)):
        at = src.below(len(text))
        how = src.below(19)
        if how < 10:
            text = text[:at] + src.text(8) + text[at:]
        elif how < 19:
            text = text[:at] + text[at + src.below(6):]
        else:
            text = text[:at] + "x" * (150 * src.below(40)) + text[at:]  # up to 6,000: past the apps' max_chars
    return text


def delta_between(old, new):
    """The wire delta a client would send for ``old`` -> ``new``."""
    return deltas.to_delta(DMP.diff_main(old, new, False))


def noisy(src, delta, shadow):
    """The same delta written oddly but validly: counts split (never inside
    a surrogate pair of ``shadow``), empty tokens, a trailing tab."""
    units = shadow.encode("utf-16-le")
    out, pointer = [], 0
    for token in delta.split("\t") if delta else []:
        count = int(token[1:]) if token[:1] in ("=", "-") else 0
        cut = src.below(count) if count and src.one_in(3) else 0
        if cut and not 0xDC00 <= int.from_bytes(units[2 * (pointer + cut):2 * (pointer + cut) + 2], "little") < 0xE000:
            out += [token[0] + str(cut), token[0] + str(count - cut)]
        else:
            out.append(token)
        pointer += count
        if src.one_in(5):
            out.append(src.pick(["=0", "-0", "+"]))
    return "\t".join(out) + ("\t" if src.one_in(4) else "")


def spoiled(src, delta):
    """A delta broken one way: a count off, huge or badly written, a bad
    escape in an insert, a token with no operation, or cut short."""
    tokens = delta.split("\t") if delta else [""]
    at = src.below(len(tokens) - 1)
    token, how = tokens[at], src.below(6)
    if how == 0 and token[:1] in ("=", "-"):
        token = token[0] + str(max(0, int(token[1:]) + src.pick([-1, 1, 2])))
    elif how == 1:
        token = src.pick("=-") + src.pick(["9999999999", "99999999999", "4294967296"])
    elif how == 2:
        token = src.pick("=-") + src.pick(["", "+1", "-1", " 1", "٣", "1.5", "x"])
    elif how == 3:
        token = "+" + wire_garbage(src)
    elif how == 4:
        token = src.pick(["*1", "1", "x", "~", "\x00", "=="])
    elif how == 5:
        return "\t".join(tokens[:at])
    else:
        token = {"=": "-", "-": "+", "+": "="}.get(token[:1], "=") + token[1:]
    return "\t".join(tokens[:at] + [token] + tokens[at + 1:])


def delta_for(src, shadow):
    """A delta against ``shadow`` -- right (plainly or oddly written),
    broken, or garbage -- and the text it makes when right (else None)."""
    new = edited(src, shadow)
    delta = delta_between(shadow, new)
    how = src.below(5)
    if how < 2:
        return delta, new
    if how == 2:
        return noisy(src, delta, shadow), new
    if how < 5:
        return spoiled(src, delta), None
    return (wire_garbage(src) if src.below(1) else src.text(12)), None


# ---------------------------------------------------------------- request text

def edit_block(src):
    """``u:`` and ``f:``, then a few edit lines a client might send: deltas
    made against its idea of the shadow, at its versions (or others)."""
    ack = version(src) if src.one_in(3) else "0"
    lines = ["uuU"[src.below(2)] + ":" + name(src, USERS), "ffF"[src.below(2)] + ":" + ack + ":" + name(src, DOCS)]
    # A new client's shadow is empty; an old one's is whatever it was.
    shadow, number = ("" if src.below(1) == 0 else src.text()), src.below(2)
    for _ in range(src.below(3) if src.one_in(4) else 1 + src.below(1)):
        kind = "dddDrR"[src.below(5)]
        field = version(src) if src.one_in(5) else str(number)
        if kind in "dD":
            delta, new = delta_for(src, shadow)
            lines.append("%s:%s:%s" % (kind, field, delta))
            shadow = new if new is not None else shadow
            number += 1
        else:
            lines.append("%s:%s:%s" % (kind, field, raw_payload(src)))
    return lines


def presence_line(src):
    """``p:`` with this page's name, colour and caret, or a departure, or junk."""
    how = src.below(4)
    if how < 2:
        info = {}
        if src.below(1):
            info["name"] = src.text(12) if src.below(3) else src.below(99)
        if src.below(1):
            info["color"] = src.pick(["#fff", "#123456", "red", "not a colour", "", src.text(8)])
        if src.below(1):
            info["caret"] = src.pick([src.below(2**32) - 5, 1.5, float("nan"), True, None])
        raw = json.dumps(info)
    elif how == 2:
        raw = src.pick(['{"gone": 1}', "[1]", '"x"', "{", src.text(8)])
    else:
        return "p:" + wire_garbage(src)
    return "p:" + textcodec.encode(raw)


JUNK = ["x:1:foo", "garbage", ":", "::", "uu:bob", " u:bob", "é:bob", "z:", "w:{}", "x:none:doc", "F", "0:0:+x"]


def fragment_lines(src):
    """``b:ID SIZE INDEX DATA`` lines of a request too long for a URL: all
    of them, some, or with sizes and indexes that disagree."""
    inner = "".join(line + "\n" for _ in range(1 + src.below(1)) for line in edit_block(src)) + "\n"
    inner = urllib.parse.quote(inner, safe="")
    step = -(-len(inner) // (1 + src.below(3)))
    pieces = [inner[i:i + step] for i in range(0, len(inner), step)]
    fid = src.pick(["f1", "f2", "é:😀", "".join(src.pick(string.ascii_lowercase) for _ in range(6))])
    lines = ["b:%s %d %d %s" % (fid, len(pieces), i + 1, p) for i, p in enumerate(pieces)]
    how = src.below(3)
    if how == 2:  # some of them, in any order
        lines = [src.pick(lines) for _ in range(src.below(len(lines)))]
    elif how == 3:
        lines = [src.pick([
            "b:%s %s %s %s" % (fid, version(src), version(src), pieces[0]),
            "b:%s 2 1" % fid, "b: 1 1 x", "b:%s 0 0 x" % fid, "B:%s 1 1 %s" % (fid, wire_garbage(src)),
            "b:%s 1 1 %s" % (fid, urllib.parse.quote("b:%s 1 1 %s" % (fid, inner), safe=""))])]
    return lines


def request_text(src):
    """A request: protocol lines (mostly well-formed, often wrong), ended
    as a request is, or not; one in ten is pure garbage."""
    if src.one_in(10):
        return src.text(40, surrogates=False)
    lines = []
    for _ in range(1 + src.below(3)):
        how = src.below(9)
        if how < 4:
            lines += edit_block(src)
        elif how == 4:
            lines += fragment_lines(src)
        elif how == 5:
            lines.append(presence_line(src))
        elif how == 6:
            lines.append("t:" + src.pick(TOKENS + ["", "garbage", "a.b.c"]))
        elif how == 7:
            lines.append(src.pick(JUNK) if src.below(1) else src.text(10) or "?")  # "" would end the request
        else:
            lines.append(src.pick("nN") + ":" + name(src, DOCS))
    ending = "" if src.one_in(12) else "\nu:ann\nf:0:doc\nd:0:+late\n\n" if src.one_in(12) else "\n"
    text = "".join(line + "\n" for line in lines) + ending
    return text.replace("\n", "\r\n") if src.one_in(8) else text.replace("\n", "\r") if src.one_in(8) else text


# ---------------------------------------------------------------- checks shared by the targets

_JS_STRING = r'"(?:[^"\\\x00-\x1f\u2028\u2029<]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"'
CALLBACK = re.compile(r"mobwrite\.callback\((%s)\);" % _JS_STRING)
WAKEUP = re.compile(r"mobwrite\.wakeup\((\{[^\r\n\u2028\u2029<]*\})\);")
ANSWER = re.compile(r"(?:[A-Za-z]:[^\n]*\n)*")


def jsonp_problems(body, lines=None):
    """Is ``body`` exactly one safe ``mobwrite.callback("...")`` (a sync's
    answer: ``lines`` if given, else answer-shaped) or
    ``mobwrite.wakeup({...})`` (a push wait's)? Problems if not."""
    match = CALLBACK.fullmatch(body)
    if match:
        try:
            value = json.loads(match.group(1))
        except ValueError as exc:
            return [("unsafe JSONP", "the literal does not parse: %s: %r" % (exc, body[:200]))]
        if lines is not None and value != "".join(line + "\n" for line in lines):
            return [("unsafe JSONP", "the literal says other than the lines: %r" % body[:200])]
        if lines is None and not ANSWER.fullmatch(value):
            return [("unsafe JSONP", "the literal is no answer: %r" % body[:200])]
        return []
    match = WAKEUP.fullmatch(body)
    if match:
        try:
            value = json.loads(match.group(1))
        except ValueError as exc:
            return [("unsafe JSONP", "the object does not parse: %s: %r" % (exc, body[:200]))]
        return [] if isinstance(value, dict) else [("unsafe JSONP", "not an object: %r" % body[:200])]
    return [("unsafe JSONP", "not exactly one safe call: %r" % body[:300])]


def answer_problems(text):
    """A ``q=`` answer: nothing, or ``X:...`` lines and the closing empty line."""
    if text and not (text.endswith("\n\n") and ANSWER.fullmatch(text[:-1])):
        return [("property", "not an answer: %r" % text[:200])]
    return []


def problems_of(target, case):
    """``target.check(case)``'s problems, an exception escaping it counted as one."""
    try:
        return target.check(case)
    except Exception as exc:  # noqa: BLE001 - what escapes is the finding
        tail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)[-3:])
        return [("exception", "%s: %s\n%s" % (type(exc).__name__, exc, tail))]


# ---------------------------------------------------------------- target: text codec

def make_codec(src):
    """("text", any text) or ("wire", what might come off the wire)."""
    how = src.below(2)
    if how == 0:
        return "text", src.text(24)
    return "wire", wire_garbage(src, surrogates=True) if how == 1 else src.text(24, surrogates=True)


def check_codec(case):
    """encode is ASCII with no tab or line break and decode undoes it;
    decode takes any str, answering text or DecodeError; utf16_len counts
    as JavaScript does."""
    kind, value = case
    problems = []
    units = len(value.encode("utf-16-le", "surrogatepass")) // 2
    if textcodec.utf16_len(value) != units:
        problems.append(("property", "utf16_len(%r) != %d" % (value, units)))
    if kind == "text":
        wire = textcodec.encode(value)
        if not wire.isascii() or any(c in wire for c in "\t\n\r"):
            problems.append(("property", "encode(%r) = %r is not plain ASCII" % (value, wire)))
        if textcodec.decode(wire) != value:
            problems.append(("property", "decode(encode(%r)) != itself" % value))
        return problems
    try:
        text = textcodec.decode(value)
    except textcodec.DecodeError:
        return problems
    if textcodec.decode(textcodec.encode(text)) != text:
        problems.append(("property", "decoded %r does not round-trip" % value))
    return problems


# ---------------------------------------------------------------- target: delta decoder

def make_delta(src):
    """(text, delta, the text it makes or None): deltas made against the
    text, written oddly, broken; or garbage against any text."""
    if src.one_in(5):
        garbage = wire_garbage(src, True) if src.below(1) else src.text(16, True)
        return src.text(surrogates=True), garbage, None
    text = src.text(24)
    return (text, *delta_for(src, text))


def check_delta(case):
    """from_delta gives diffs that rebuild the text (and the edit it was
    made from) or raises DeltaError; to_delta of its diffs reads back alike."""
    text, delta, new = case
    try:
        diffs = deltas.from_delta(text, delta)
    except deltas.DeltaError:
        return [("property", "a right delta was refused: %r on %r" % (delta, text))] if new is not None else []
    problems = []
    if DMP.diff_text1(diffs) != text:
        problems.append(("property", "diffs of %r do not rebuild %r" % (delta, text)))
    if new is not None and DMP.diff_text2(diffs) != new:
        problems.append(("property", "%r on %r does not make %r" % (delta, text, new)))
    again = deltas.from_delta(text, deltas.to_delta(diffs))
    if DMP.diff_text1(again) != text or DMP.diff_text2(again) != DMP.diff_text2(diffs):
        problems.append(("property", "to_delta of %r's diffs reads back otherwise" % delta))
    return problems


# ---------------------------------------------------------------- target: protocol parser

def make_protocol(src):
    """(request text, answer lines, a push wait's answer): the text
    protocol-shaped or garbage (lone surrogates too), the rest any text."""
    text = src.text(40, surrogates=True) if src.one_in(3) else request_text(src)
    lines = [src.pick(["", "uFdDrRxw"[src.below(7)] + ":"]) + src.text(12) for _ in range(src.below(4))]
    wait = {"push": bool(src.below(1)), "timeout": src.below(30),
            "docs": {src.text(8): src.pick(["", "0", "a_b-9"]) for _ in range(src.below(3))},
            "woke": [src.text(8) for _ in range(src.below(2))]}
    if src.below(1):
        wait["denied"] = [src.text(8)]
    return text, lines, wait


def check_protocol(case):
    """parse, is_complete, lines, presence.parse and push.parse_wait take
    any text (parse_wait may say WaitError); what parse keeps is valid; the
    formatted answers are one safe script and a well-formed text."""
    text, lines, wait = case
    problems = []
    protocol.is_complete(text)
    list(protocol.lines(text))
    request = protocol.parse(text)
    for a in request.actions:
        if a.kind not in "dDrRn" or not (protocol.valid_name(a.user) and protocol.valid_name(a.doc)) or \
                not (0 <= a.ack <= protocol.MAX_VERSION and 0 <= a.version <= protocol.MAX_VERSION):
            problems.append(("property", "parse kept a bad action: %r" % (a,)))
    for f in request.fragments:
        if not f.id or not 1 <= f.index <= f.size <= protocol.MAX_VERSION:
            problems.append(("property", "parse kept a bad fragment: %r" % (f,)))
    protocol.may_change_text(request.actions)
    presence.parse(text, request.actions)
    with contextlib.suppress(push.WaitError):
        push.parse_wait(text, 50)
    problems += jsonp_problems(protocol.format_jsonp(lines), lines)
    problems += jsonp_problems(push.format_jsonp(wait))
    answer = protocol.format_answer(lines)
    if lines and not answer.endswith("\n\n"):
        problems.append(("property", "an answer must end with an empty line: %r" % answer[-20:]))
    return problems


# ---------------------------------------------------------------- target: engine

ENGINE_USERS, ENGINE_DOCS = ["u1", "u2"], ["d1", "d2"]


def view_over(src, text):
    """A view as a store might hold it for a document now at ``text``:
    in step, behind, or inconsistent."""
    shadow = src.pick([text or "", edited(src, text or ""), src.text()])
    sv = protocol.MAX_VERSION if src.one_in(10) else src.below(4)
    stack = [[v, "%s:%d:%s" % ("dD"[src.below(1)], v, delta_between(src.text(), src.text())) if src.below(2)
              else "R:%d:%s" % (v, textcodec.encode(src.text()))]  # lines as the engine writes them
             for v in sorted({max(0, sv - src.below(3)) for _ in range(src.below(3))})]
    return View(shadow=shadow, client_version=src.below(4), server_version=sv,
                backup_shadow=edited(src, shadow) if src.one_in(2) else shadow,
                backup_version=src.pick([sv, max(0, sv - 1), 0]), edit_stack=stack, delta_ok=not src.one_in(3))


def engine_action(src, views):
    """An action on one of the views: at its versions mostly, its delta
    made against its shadow (right, odd, broken or garbage)."""
    key = (src.pick(ENGINE_USERS), src.pick(ENGINE_DOCS))
    view = views.get(key) or View()
    kind = "dddDrRn"[src.below(6)]
    ack = src.pick([view.server_version, view.server_version, view.backup_version, src.below(6),
                    protocol.MAX_VERSION])
    number = src.pick([view.client_version, view.client_version, src.below(6), protocol.MAX_VERSION])
    payload = delta_for(src, view.shadow)[0] if kind in "dD" else raw_payload(src) if kind in "rR" else ""
    if kind != "n" and src.one_in(10):  # lone surrogates: never from HTTP, but the engine takes any str
        payload += ("\t+" if kind in "dD" else "") + src.text(4, surrogates=True)
    return Action(kind, key[0], key[1], src.one_in(2), ack, number, payload, read_only=src.one_in(6))


def make_engine(src):
    """(max_chars, views, texts, actions): a snapshot and one request's actions."""
    texts = {doc: src.pick([src.text(24), None, edited(src, "")]) for doc in ENGINE_DOCS}
    views = {(user, doc): view_over(src, texts[doc]) for user in ENGINE_USERS for doc in ENGINE_DOCS
             if src.below(1)}
    if src.one_in(5):
        actions = protocol.parse(request_text(src)).actions
    else:
        actions = [engine_action(src, views) for _ in range(1 + src.below(4))]
    return src.pick([100_000, 100_000, 40, 5]), views, texts, actions


_LINE = re.compile(r"u:[^\n]+|F:\d+:[^\n]+|[dD]:\d+:[^\n]*|[rR]:\d+:[^\n]*")


def check_engine(case):
    """The engine answers every snapshot and action list: it neither raises
    nor touches its inputs, gives the same outcome twice, writes only texts
    under max_chars, and keeps views a store can save and read back."""
    max_chars, views, texts, actions = case
    engine = Engine(max_chars, 0)
    before = copy.deepcopy((views, texts))
    outcome = engine.run(actions, views, texts)
    problems = []
    if (views, texts) != before:
        problems.append(("property", "the engine changed its inputs"))
    again = engine.run(actions, copy.deepcopy(before[0]), dict(before[1]))
    if dataclasses.astuple(again) != dataclasses.astuple(outcome):
        problems.append(("property", "two runs differ"))
    for line in outcome.lines:
        if not _LINE.fullmatch(line):
            problems.append(("property", "answer line %r" % line[:100]))
    for doc, text in outcome.texts.items():
        if text is not None and (len(text) > max_chars or "\r" in text):
            problems.append(("property", "text of %r written at %d characters" % (doc, len(text))))
    for key, view in outcome.views.items():
        if View.from_state(view.state(), view.shadow) != view:
            problems.append(("property", "view %r does not survive state()" % (key,)))
    return problems


# ---------------------------------------------------------------- target: HTTP

GATEWAY_PATHS = ["/scripts/q.py", "/sync"]
OTHER_PATHS = ["/scripts/wait", "/wait", "/", "/sync/", "/SYNC", "/scripts/q.py/", "/scripts/q.py/x", "//sync",
               "/scripts/../sync", "/scripts/q.py%00", "/q.py", "/static/", "/static/mobwrite/index.html",
               "/static/../main.py", "/history/list", "/history/text", "/history/diff", "/history/restore",
               "/presence", "/cron/cleanup", "/admin/token", "/token/view"]
ODD_METHODS = ["PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "get", "FOO", ""]
ODD_FIELDS = ["", "Q", "q ", "pp", "doc", "q[]"]
EXTRA_FIELDS = ["doc", "id", "from", "to", "name", "token", "right", "ttl", "prefix", "q", "p", "pad"]
BREAKS = [b"%ZZ", b"%", b"%4", b"\xff", b"%FF", b"%C0%80", b"%ED%A0%80", b"%E2%82", b"\x00", b"&", b"=", b"+",
          b";", b"%0", b"\xc3"]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED", "text/plain", "",
    "multipart/form-data", "garbage/\xff", "application/json", "multipart/form-data; boundary="]
CONTENT_LENGTHS = ["", "abc", "-1", "1e3", " 12", "99999999999999999999", "²", "٣", "+5"]
HEADERS = {"X-Forwarded-For": ["1.2.3.4", "", "garbage, 5.6.7.8", "\xff"],
           "Authorization": ["Bearer " + ADMIN, "Bearer wrong", "Basic x"], "X-Appengine-Cron": ["true"]}


@dataclasses.dataclass
class HttpCase:
    method: str
    path: str            # PATH_INFO as WSGI has it (bytes as latin-1)
    query: bytes
    body: bytes
    content_type: str
    content_length: str  # None: the body's own length
    headers: dict
    sent: str            # the field the gateway answers: "q", "p", or "" (none delivered)
    fast: bool           # through the fast path (where the target has both)


def form_value(text):
    return urllib.parse.quote(text, safe="").encode("ascii")


def broken(src, raw):
    """``raw`` (form bytes) as sent, or with something that breaks its decoding."""
    if not src.one_in(6):
        return raw
    at = src.below(len(raw))
    return raw[:at] + src.pick(BREAKS) + raw[at:]


def multipart_body(src, fields):
    """A multipart form of ``fields`` (name -> raw bytes), well-formed or
    not; and its Content-Type."""
    boundary = src.pick(["XyZ", "----b0undary", "a"]).encode()
    body = b""
    for key, value in fields.items():
        disposition = 'form-data; name="%s"' % key + ('; filename="x.txt"' if src.one_in(10) else "")
        body += b"--" + boundary + b"\r\nContent-Disposition: " + disposition.encode("latin-1") + b"\r\n\r\n" \
            + value + b"\r\n"
    body += b"--" + boundary + b"--\r\n"
    kind = "multipart/form-data; boundary=" + boundary.decode()
    how = src.below(6)
    if how == 3:
        body = body[:src.below(len(body))]
    elif how == 4:
        kind = src.pick(["multipart/form-data", "multipart/form-data; boundary=other"])
    elif how == 5:
        body = bytes(src.below(255) for _ in range(src.below(40)))
    return body, kind


def wait_text(src):
    """A push wait's lines: ``u:``, ``t:`` and ``f:WAKE:DOC``, or others."""
    lines = []
    for _ in range(src.below(4)):
        how = src.below(3)
        if how == 0:
            lines.append("u:" + name(src, USERS))
        elif how == 1:
            wake = "".join(src.pick(string.ascii_letters + string.digits + "_-") for _ in range(src.below(6)))
            lines.append("f:%s:%s" % (wake, name(src, DOCS)))
        elif how == 2:
            lines.append("t:" + src.pick(TOKENS + ["x"]))
        else:
            lines.append(src.pick(JUNK))
    return "".join(line + "\n" for line in lines) + "\n"


def make_http(src, max_body):
    """One HTTP request: a sync over q= or p= mostly, in the query string,
    a url-encoded or a multipart body; now and then broken, huge, with a
    length that lies, to another path or with another method."""
    method = src.pick(ODD_METHODS) if src.one_in(8) else src.pick(["GET", "POST"])
    path = src.pick(GATEWAY_PATHS)
    if src.one_in(6):
        path = src.pick(OTHER_PATHS) if src.below(3) else "/" + bytes(
            src.below(255) for _ in range(src.below(12))).decode("latin-1")
    field = src.pick(ODD_FIELDS) if src.one_in(8) else src.pick("qp")
    text = wait_text(src) if path.rstrip("/").endswith("wait") and src.below(1) else request_text(src)
    fields = {field: broken(src, form_value(text))} if field else {}
    for _ in range(src.below(3) // 2):
        extra = src.pick(EXTRA_FIELDS)
        value = src.pick([name(src, DOCS), version(src), src.text(6), "1", "edit", "view"])
        fields.setdefault(extra, broken(src, form_value(value)))
    if src.one_in(15):  # near or past max_body
        fields["pad"] = b"x" * src.pick([max_body - 100, max_body + 1, 2 * max_body])
    where = src.pick(["query", "body", "multipart", "both"] if method == "POST" else ["query", "query", "body"])
    encoded = b"&".join(key.encode("latin-1") + b"=" + value for key, value in fields.items())
    query, body = b"", b""
    content_type = src.pick(CONTENT_TYPES) if src.one_in(6) else "application/x-www-form-urlencoded"
    if where in ("query", "both"):
        query = encoded
    if where == "body" or (where == "both" and src.below(1)):
        body = encoded
    if where == "multipart":
        body, content_type = multipart_body(src, fields)
    length = None
    if src.one_in(8):  # a length that is not a number, or not the body's
        length = src.pick(CONTENT_LENGTHS + [str(len(body) + 10), str(max(0, len(body) - 1))])
    headers = {key: src.pick(values) for key, values in HEADERS.items() if src.one_in(6)}
    delivered = method == "POST" or (method == "GET" and where not in ("body", "multipart"))
    sent = "q" if delivered and "q" in fields else "p" if delivered and "p" in fields else ""
    return HttpCase(method, path, query, body, content_type, length, headers, sent, bool(src.below(1)))


@dataclasses.dataclass
class Answer:
    status: int
    content_type: str
    body: bytes


def send(app, case):
    """``case`` through the WSGI app, as a server would hand it over."""
    builder = EnvironBuilder(path="/", method="GET", headers=case.headers)
    environ = builder.get_environ()
    builder.close()
    environ.update(REQUEST_METHOD=case.method, PATH_INFO=case.path, QUERY_STRING=case.query.decode("latin-1"),
                   CONTENT_TYPE=case.content_type, REMOTE_ADDR="127.0.0.1",
                   CONTENT_LENGTH=str(len(case.body)) if case.content_length is None else case.content_length)
    environ["wsgi.input"] = io.BytesIO(case.body)
    app_iter, status, headers = run_wsgi_app(app, environ, buffered=True)
    try:
        body = b"".join(app_iter)
    finally:
        if hasattr(app_iter, "close"):
            app_iter.close()
    return Answer(int(status.split()[0]), headers.get("Content-Type", ""), body)


def http_problems(case, answer):
    """Never a 5xx; a 4xx is a short plain reason; a script answer is one
    safe call; a sync's text answer is protocol-shaped."""
    if answer.status >= 500:
        return [("5xx", "%d for %s %r: %r" % (answer.status, case.method, case.path, answer.body[:200]))]
    if case.method == "HEAD":
        return []  # no body to look at
    try:
        body = answer.body.decode("utf-8")
    except UnicodeDecodeError:
        return [("property", "a body that is not UTF-8: %r" % answer.body[:100])]
    problems = []
    if 400 <= answer.status < 500:
        # zipserve (/static) knows nothing of MobWrite: its reasons are short but do not start with the code.
        coded = body.startswith("%d " % answer.status) or case.path.startswith("/static/")
        if not (answer.content_type.startswith("text/plain") and coded and 2 < len(body) < 200
                and body.endswith("\n") and body.count("\n") == 1 and "<" not in body):
            problems.append(("property", "%d without a short reason: %r" % (answer.status, body[:300])))
    if answer.content_type.startswith("text/javascript"):
        problems += jsonp_problems(body)
    elif answer.status == 200 and case.sent == "p" and case.path in GATEWAY_PATHS:
        problems.append(("unsafe JSONP", "a p= sync answered as %r" % answer.content_type))
    if answer.status == 200 and answer.content_type.startswith("text/plain") and case.path in GATEWAY_PATHS:
        problems += answer_problems(body)
    return problems


class HttpTarget:
    """The real app over one store, with and without the fast path.
    ``paired``: both apps answer every case, each over its own memory
    store, and must answer alike (the fast path promises Flask's bytes)."""

    def __init__(self, name, paired=False, **overrides):
        self.name, self.paired, self.overrides = name, paired, overrides
        self.max_body = 16_384
        self.apps, self.tmpdir = {}, None

    def make(self, src):
        return make_http(src, self.max_body)

    def __enter__(self):
        self.tmpdir = tempfile.mkdtemp(prefix="mobwrite-fuzz-")
        settings = Settings(**{"store": "memory", "diff_timeout": 0, "log_level": "CRITICAL",
                               "max_body": self.max_body, "max_chars": 5_000, "admin_token": ADMIN,
                               # A key, so that /admin/token mints (without one it is a deliberate 503).
                               "token_key": "fuzz-key",
                               "sqlite_path": os.path.join(self.tmpdir, "fuzz.sqlite3"),
                               "rate_ip": 0, "rate_user": 10**9, "rate_doc_edits": 10**9,
                               "max_names_per_user": 10**9, **self.overrides})
        fast, flask = settings, dataclasses.replace(settings, fast_path=False)
        if self.paired:
            self.apps = {True: create_app(fast), False: create_app(flask)}
        else:
            store = wiring.open_store(settings, open_cache(settings))
            self.apps = {True: create_app(fast, store), False: create_app(flask, store)}
        return self

    def __exit__(self, *exc):
        services = [app.extensions["mobwrite"] for app in self.apps.values()]
        for service in services:
            if service.push is not None:
                service.push.close()
        for store in {id(service.store): service.store for service in services}.values():
            store.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)

    def check(self, case):
        """The case's problems, through one app or (paired) through both."""
        if not self.paired:
            return http_problems(case, send(self.apps[case.fast], case))
        problems, answers = [], []
        for fast in (True, False):
            try:
                answers.append(send(self.apps[fast], case))
            except Exception as exc:  # noqa: BLE001 - the fast path has no Flask handler around it
                problems.append(("exception", "%s: %s: %s" % ("fast path" if fast else "Flask", type(exc).__name__,
                                                              exc)))
                continue
            problems += http_problems(case, answers[-1])
        if len(answers) == 2 and answers[0] != answers[1]:
            problems.append(("property", "the fast path and Flask differ: %r / %r" % (answers[0], answers[1])))
        return problems


# ---------------------------------------------------------------- the targets

@dataclasses.dataclass
class Target:
    """A pure function's target: nothing to open or close."""

    name: str
    make: object
    check: object

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


def targets():
    """Every target, pure ones first; use each in a ``with`` block. The HTTP
    ones: memory with both paths compared, SQLite, and access by tokens
    with tight rate limits (so 429s too)."""
    return [Target("protocol parser", make_protocol, check_protocol),
            Target("delta decoder", make_delta, check_delta),
            Target("text codec", make_codec, check_codec),
            Target("engine", make_engine, check_engine),
            HttpTarget("http memory, fast = Flask", paired=True, presence=False),
            HttpTarget("http sqlite", store="sqlite"),
            HttpTarget("http tokens, limits", access="tokens", token_prefixes="priv",
                       rate_user=40, rate_doc_edits=60, max_docs_per_request=3, max_names_per_user=30)]
