"""``mobwrite token DOC --right view|edit --ttl 7d``: mint a capability token
with the signing key from the environment (MOBWRITE_TOKEN_KEY), offline."""

import os
import re
import sys
import urllib.parse

from ..access import TokenError, TokenKeys
from .transport import EXIT_USAGE, CliError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(raw):
    """``90``, ``90s``, ``15m``, ``12h``, ``7d`` as seconds."""
    match = re.fullmatch(r"([0-9]+)([smhd]?)", raw.strip())
    if not match or int(match.group(1)) <= 0:
        raise CliError("--ttl must be a positive number of seconds, or like 15m, 12h, 7d", EXIT_USAGE)
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def run_token(args, environ=None):
    """Print the token (and, with --link, the editor link that carries it)."""
    env = os.environ if environ is None else environ
    try:
        keys = TokenKeys(env.get("MOBWRITE_TOKEN_KEY", ""))
        token = keys.mint(args.doc, args.right, parse_ttl(args.ttl), prefix=args.prefix)
    except TokenError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    print(token)
    if args.link:
        base = args.link.rstrip("/")
        print("%s/static/mobwrite/editor.html?doc=%s#token=%s" % (base, urllib.parse.quote(args.doc), token), file=sys.stderr)


def add_parser(sub):
    p = sub.add_parser("token", help="mint a capability token (key from MOBWRITE_TOKEN_KEY)")
    p.add_argument("doc", help="the document, or with --prefix a name prefix (notes/ covers notes/a)")
    p.add_argument("--right", choices=("edit", "view"), default="edit")
    p.add_argument("--ttl", default="7d", help="lifetime: seconds, or 15m, 12h, 7d (default 7d)")
    p.add_argument("--prefix", action="store_true", help="cover every document under DOC/")
    p.add_argument("--link", metavar="SERVER", help="also print the editor link on SERVER (to stderr)")
