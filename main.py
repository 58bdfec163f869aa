"""The WSGI entry point: ``gunicorn main:app``, or ``python main.py`` locally."""

import os

from flask import Flask

import zipserve
from mobwrite import gateway, logs
from mobwrite.config import Settings


def create_app(settings=None, store=None):
    """Build the app: the sync gateway and the static files served from zips."""
    settings = settings or Settings.from_env()
    logs.configure(settings)
    app = Flask(__name__, instance_relative_config=True, static_folder=None)  # zipserve owns /static
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body
    app.register_blueprint(gateway.create_blueprint(settings, store))
    app.register_blueprint(zipserve.create_blueprint(), url_prefix="/static")
    gateway.install_error_handlers(app)
    return app


app = create_app()

if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8080")))
