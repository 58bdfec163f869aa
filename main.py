"""The WSGI entry point: ``gunicorn main:app`` (App Engine's entrypoint), or
``python main.py`` to serve through gunicorn on ``HOST``:``PORT`` locally.

Importing this module opens nothing: ``app`` is built on first use.
"""

from flask import Flask

import zipserve
from mobwrite import fastpath, gateway, historyapi, logs, serving, wiring
from mobwrite.config import Settings


def create_app(settings=None, store=None):
    """The app: the sync gateway and the static files served from zips.
    ``store`` shares an already open store (tests run two instances on one)."""
    settings = settings or Settings.from_env()
    logs.configure(settings)
    if settings.store == "datastore":
        serving.cooperate()  # gRPC in gevent mode; the other stores never load gRPC (17 MB)
    service = wiring.build_service(settings, store)
    app = Flask(__name__, instance_relative_config=True, static_folder=None)  # zipserve owns /static
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.extensions["mobwrite"] = service
    app.register_blueprint(gateway.create_blueprint(service))
    app.register_blueprint(historyapi.create_blueprint(service))  # issue 13: history, presence
    app.register_blueprint(zipserve.create_blueprint(), url_prefix="/static")
    gateway.install_error_handlers(app)
    if settings.fast_path:
        app.wsgi_app = fastpath.FastGateway(service, app.wsgi_app)
    return app


def __getattr__(name):
    # `main:app` for gunicorn, built when first asked for, not at import.
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)


if __name__ == "__main__":
    serving.run(create_app, Settings.from_env())
