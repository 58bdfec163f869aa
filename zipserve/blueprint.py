"""The Flask face: a blueprint whose one route hands every request below
its prefix to ZipServe.

The route is added to the URL map directly so that it matches every method
(ZipServe answers 405 itself, as plain text) and every path, "//" included,
without Werkzeug merging slashes or redirecting: path checks are ZipServe's.
Its converter outranks Flask's own ``/static/<path:filename>`` rule.

With ``config.fast_path`` (the default) registering the blueprint also puts
ZipServe in front of ``app.wsgi_app``, as WhiteNoise is deployed: requests
below the prefix then skip Flask's per-request machinery (contexts,
routing, Response objects), which costs more than serving the file. The
same ZipServe answers either way; the route still serves ``url_for`` and
apps that turn the fast path off (ZIPSERVE_FAST_PATH=0).
"""

from flask import Blueprint, Response, current_app, request, url_for
from werkzeug.routing import BaseConverter, Rule

from .config import Config
from .server import ZipServe

EXTENSION = "zipserve"


class AnyPathConverter(BaseConverter):
    """Everything after the prefix, as is: empty, leading "/" and all."""

    regex = ".*"
    part_isolating = False
    weight = 50  # below the "path" converter's 200, so this rule wins ties

    def to_url(self, value):
        return value  # our paths are canonical: nothing needs quoting


def create_blueprint(config=None, name="zipserve"):
    """A blueprint serving ``config``'s archives (from the environment if
    None). Register it with ``url_prefix="/static"``; a relative
    ZIPSERVE_DIR is taken from the app's root folder."""
    config = config or Config.from_env()
    blueprint = Blueprint(name, __name__)

    def setup(state):
        app = state.app
        prefix = (state.url_prefix or "").rstrip("/")
        fast = config.fast_path and bool(prefix)
        server = ZipServe(config, root=app.root_path, app=app.wsgi_app if fast else None,
                          prefix=prefix + "/")
        if fast:
            app.wsgi_app = server
        app.extensions[EXTENSION] = server
        app.url_map.converters.setdefault("zipserve_any", AnyPathConverter)
        endpoint = f"{state.name_prefix}.{state.name}.member".lstrip(".")
        app.url_map.add(Rule(f"{prefix}/<zipserve_any:subpath>", endpoint=endpoint,
                             methods=None, merge_slashes=False, strict_slashes=False))
        app.view_functions[endpoint] = _view(server)
        server.endpoint = endpoint
        app.add_template_global(static_url, "zipserve_url")

    blueprint.record_once(setup)
    return blueprint


def _view(server):
    def member(subpath):
        environ = request.environ
        status, header_list, body = server.respond(environ.get("REQUEST_METHOD", "GET"),
                                                   subpath, environ)
        if isinstance(body, bytes):
            body = [body]  # as bytes, Werkzeug would reset Content-Length (to 0 for HEAD)
        return Response(body, status=status, headers=header_list, direct_passthrough=True)
    return member


def static_url(path):
    """The URL of ``path`` ("dojo/dojo.js") under the versioned prefix, for
    pages that want it cached forever (``zipserve_url`` in templates)."""
    server = current_app.extensions[EXTENSION]
    return url_for(server.endpoint, subpath=server.versioned(path))
