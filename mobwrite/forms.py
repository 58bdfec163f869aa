"""Form fields of a gateway request, decoded once and strictly.

A field that is not UTF-8, or a broken %-escape, is a 400 with a short
reason, never replacement characters or a guess.
"""

import re
import urllib.parse

from flask import request
from werkzeug.exceptions import BadRequest
from werkzeug.sansio import multipart


class FormError(BadRequest):
    """A form that does not decode: a 400 with its reason."""


def form_fields():
    """The query string's fields, then a POST body's (form or multipart)."""
    fields = urlencoded(request.query_string)
    if request.method == "POST":
        body = request.get_data(cache=False)
        if request.mimetype == "multipart/form-data":
            fields.update(_multipart(body, request.mimetype_params.get("boundary", "")))
        else:
            fields.update(urlencoded(body))
    return fields


_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


def urlencoded(raw):
    """The fields of a url-encoded form (bytes), or FormError."""
    if _BAD_ESCAPE.search(raw):
        raise FormError("the form has a broken %-escape")
    try:
        return dict(urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True,
                                           encoding="utf-8", errors="strict"))
    except UnicodeDecodeError as exc:
        raise FormError("the request is not valid UTF-8") from exc


def _multipart(body, boundary):
    """Text fields of a multipart body, from their raw bytes (werkzeug's own
    form parsing would replace bad UTF-8 rather than refuse it)."""
    if not boundary:
        raise FormError("multipart form without a boundary")
    decoder = multipart.MultipartDecoder(boundary.encode("latin-1"), max_form_memory_size=None)
    decoder.receive_data(body)
    decoder.receive_data(None)
    fields, name, chunks = {}, None, []
    while True:
        try:
            event = decoder.next_event()
        except ValueError as exc:
            raise FormError("malformed multipart form") from exc
        if isinstance(event, multipart.Field):
            name, chunks = event.name, []
        elif isinstance(event, multipart.File):
            name = None
        elif isinstance(event, multipart.Data) and name is not None:
            chunks.append(event.data)
            if not event.more_data:
                try:
                    fields[name] = b"".join(chunks).decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise FormError("the request is not valid UTF-8") from exc
        elif isinstance(event, (multipart.Epilogue, multipart.NeedData)):
            return fields
