"""zipserve: static files served straight out of zip archives.

App Engine allows 10,000 files per version; Dojo alone ships more. Packing
each library into one zip and serving members from it keeps a deployment to
a handful of files. Knows nothing of MobWrite.

- ``config``     settings from the environment (ZIPSERVE_*)
- ``paths``      which request paths are canonical
- ``archive``    opening zips once and finding members
- ``mime``       the fixed Content-Type table
- ``headers``    response headers precomputed per member
- ``conditions`` Accept-Encoding, If-None-Match, If-Modified-Since, Range
- ``gzipwrap``   deflated members sent as gzip without recompressing
- ``bodies``     identity bodies and byte ranges
- ``server``     the request logic and the WSGI app / middleware
- ``blueprint``  the Flask face
- ``build``      the zip builder behind build_zips.sh
"""

from .config import Config
from .server import ZipServe


def create_blueprint(config=None, name="zipserve"):
    """The Flask blueprint; see ``zipserve.blueprint.create_blueprint``."""
    from .blueprint import create_blueprint as create

    return create(config, name)


def from_env(environ=None):
    """``Config.from_env``: the configuration the environment describes."""
    return Config.from_env(environ)


__all__ = ["Config", "ZipServe", "create_blueprint", "from_env"]
