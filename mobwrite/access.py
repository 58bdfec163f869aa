"""Who may read or write which document: capability tokens and the policy.

A token is an HMAC-signed claim (itsdangerous, keyed from the environment):
a document name, or a name prefix ending in ``/``, a right (``edit`` or
``view``) and an expiry. It needs no session state, so any instance can check
it. ``screen`` decides, purely, what each action of a request may do before
the engine runs; refused documents get an ``x:`` answer line (README.md).
"""

import dataclasses
import time

from itsdangerous import BadSignature, URLSafeSerializer

RIGHTS = ("view", "edit")
_SALT = "mobwrite.access.v1"


class TokenError(ValueError):
    """A token that cannot be minted as asked (bad right, name or ttl)."""


@dataclasses.dataclass(frozen=True)
class Claims:
    """What a verified token grants."""

    name: str      # the document, or a prefix ending in "/" when ``prefix``
    right: str     # "view" or "edit"
    expires: int   # epoch seconds
    prefix: bool = False

    def covers(self, doc):
        """Does this grant reach DOC? Exact names; a prefix only on a path
        segment boundary, and never across a ``.`` or ``..`` segment (names
        are compared as they are, never normalized, but a proxy might)."""
        if not self.prefix:
            return doc == self.name
        if not doc.startswith(self.name) or len(doc) == len(self.name):
            return False
        return not any(seg in (".", "..") for seg in doc[len(self.name):].split("/"))


class TokenKeys:
    """Signs with the current key; verifies with the current or the previous
    one, so keys can be rotated without breaking links minted just before."""

    def __init__(self, current, previous=""):
        if not current:
            raise TokenError("no signing key: set MOBWRITE_TOKEN_KEY")
        # itsdangerous signs with the last key and accepts any of them.
        self._serializer = URLSafeSerializer([k for k in (previous, current) if k], salt=_SALT)

    def mint(self, name, right, ttl, prefix=False, now=None):
        """A token for NAME (a prefix when PREFIX) with RIGHT for TTL seconds."""
        if right not in RIGHTS:
            raise TokenError("the right must be edit or view, not %r" % right)
        if not name or ttl <= 0:
            raise TokenError("a token needs a document name and a positive ttl")
        if prefix and not name.endswith("/"):
            name += "/"  # a prefix ends on a segment boundary: notes/ never covers notes2
        expires = int((time.time() if now is None else now) + ttl)
        return self._serializer.dumps({"n": name, "r": right, "e": expires, "p": int(bool(prefix))})

    def view_of(self, token, now=None):
        """A view token for what the edit TOKEN covers, expiring with it (the
        share dialog's "can view" link); None when TOKEN is no edit token."""
        claims = self.verify(token, now)
        if claims is None or claims.right != "edit":
            return None
        return self._serializer.dumps({"n": claims.name, "r": "view", "e": claims.expires, "p": int(claims.prefix)})

    def verify(self, token, now=None):
        """The token's Claims, or None when it is forged, malformed or expired."""
        try:
            data = self._serializer.loads(token)
            claims = Claims(str(data["n"]), str(data["r"]), int(data["e"]), bool(data["p"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        if claims.right not in RIGHTS or claims.expires <= (time.time() if now is None else now):
            return None
        return claims


@dataclasses.dataclass(frozen=True)
class Policy:
    """``open``: everyone may edit everything (the default). ``tokens``: the
    documents under ``prefixes`` (all documents when empty) need a token."""

    mode: str = "open"
    prefixes: tuple = ()

    @classmethod
    def from_settings(cls, settings):
        if settings.access not in ("open", "tokens"):
            raise ValueError("MOBWRITE_ACCESS must be open or tokens, not %r" % settings.access)
        prefixes = tuple(p.rstrip("/") for p in settings.token_prefixes.replace(",", " ").split() if p.rstrip("/"))
        return cls(settings.access, prefixes)

    def guards(self, doc):
        if self.mode == "open":
            return False
        if not self.prefixes:
            return True
        return any(doc == p or doc.startswith(p + "/") for p in self.prefixes)


def right_for(policy, claims, doc):
    """"edit", "view" or "none": what a request holding CLAIMS (or None) may do to DOC."""
    if not policy.guards(doc):
        return "edit"
    if claims is None or not claims.covers(doc):
        return "none"
    return claims.right


@dataclasses.dataclass
class Screened:
    actions: list   # what the engine may run (read-only ones marked)
    lines: list     # x: lines that open the answer
    notes: list     # log lines: what was refused and why


def screen(actions, policy, verify):
    """Sort a request's actions by the right their token grants.

    ``verify(token) -> Claims | None``. No right: the action is dropped and
    the answer says ``x:none:DOC``. View: nullify is dropped, edit lines go on
    marked read-only (the engine refuses their writes and resyncs the client)
    and the answer says ``x:view:DOC``.
    """
    if policy.mode == "open":
        return Screened(list(actions), [], [])
    kept, lines, notes, said, claims = [], [], [], set(), {}
    for action in actions:
        if action.token not in claims:
            claims[action.token] = verify(action.token) if action.token else None
        right = right_for(policy, claims[action.token], action.doc)
        if right != "edit" and (right, action.doc) not in said:
            said.add((right, action.doc))
            lines.append("x:%s:%s" % (right, action.doc))
        if right == "edit":
            kept.append(action)
        elif right == "view" and action.kind != "n":
            kept.append(dataclasses.replace(action, read_only=True))
            if action.writes:
                notes.append("read-only: %s may not write %r (%s); resynced" % (action.user, action.doc, action.kind))
        else:
            notes.append("no access: %s %s on %r refused (%s token)" % (
                action.user, action.kind, action.doc, "a bad" if action.token else "no"))
    return Screened(kept, lines, notes)


class Guard:
    """What the service checks before the engine runs: limits, then rights."""

    def __init__(self, policy, keys, limiter):
        if policy.mode == "tokens" and keys is None:
            raise TokenError("MOBWRITE_ACCESS=tokens needs MOBWRITE_TOKEN_KEY")
        self.policy, self.keys, self.limiter = policy, keys, limiter

    @property
    def verify(self):
        return self.keys.verify if self.keys else (lambda token: None)

    def right(self, token, doc):
        """What ``token`` (or no token) may do with ``doc``: edit, view or none."""
        return right_for(self.policy, self.verify(token) if token else None, doc)

    def screen(self, actions, ip=None):
        """Raises limits.RateLimited; else the Screened actions. Refused
        actions do not count against a document's edit limit. ``ip``: the
        client's request, counted with the rest (see Limiter.check_request)."""
        screened = screen(actions, self.policy, self.verify)
        self.limiter.check_request(screened.actions, ip=ip)
        return screened
