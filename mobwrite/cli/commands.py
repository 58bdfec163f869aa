"""download, upload and nullify: one ``mobwrite.client.Client`` request each,
sent through the transport."""

import secrets

from .. import client as mclient
from .. import protocol
from .transport import CliError, exchange, not_mobwrite


def new_user():
    """A fresh user id: each run is its own user unless ``sync`` kept one."""
    return "cli-" + secrets.token_hex(6)


def round_trip(url, client, doc):
    """Send CLIENT's next request and take the answer, which must hold a block
    for DOC; the answer text."""
    answer = exchange(url, client.request())
    if "x:none:%s\n" % doc in answer:
        raise CliError("no access to %r: it needs a valid token (--token)" % doc)
    if ("F:" not in answer and "f:" not in answer) or (":" + doc + "\n") not in answer:
        raise not_mobwrite(url, "no block for %r" % doc)
    client.receive(answer)
    return answer


def download(url, doc, token=""):
    """The document's text ("" when it does not exist; like any MobWrite
    client, asking creates it empty)."""
    c = mclient.Client(new_user())
    c.share(doc, "", token=token)
    round_trip(url, c, doc)
    return c.docs[doc].text


def upload(url, doc, text, token=""):
    """Overwrite the document with TEXT; CliError if the server did not take it."""
    c = mclient.Client(new_user())
    shared = c.share(doc, text, merge=False, token=token)
    shared.delta_ok = False  # send the whole text: R:0:TEXT, which overwrites the master
    answer = round_trip(url, c, doc)
    if "x:view:%s\n" % doc in answer:
        raise CliError("%r is read-only with this token: nothing was written" % doc)
    refused = any(line[:2] in ("r:", "R:") for line in answer.split("\n"))  # a raw dump: not taken
    if refused or shared.text != protocol.normalize_newlines(text):
        raise CliError("the server did not take the text (%d characters; over its MOBWRITE_MAX_CHARS?)"
                       % len(text))


def nullify(url, doc, token=""):
    """Delete the document (its text and every user's view of it)."""
    c = mclient.Client(new_user())
    c.nullify(doc, token)
    answer = exchange(url, c.request())
    if "x:none:%s\n" % doc in answer or "x:view:%s\n" % doc in answer:
        raise CliError("may not nullify %r: that needs an edit token (--token)" % doc)
