"""Serve an app factory through gunicorn, the server App Engine runs, for
``python main.py``: production behaviour on a laptop, no dev server."""

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, factory, options):
        self.factory, self.options = factory, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.factory()  # in each worker, so no worker shares another's connections


def run(factory, settings):
    """Serve ``factory()`` on settings.host:settings.port until interrupted."""
    _Gunicorn(factory, {
        "bind": "%s:%d" % (settings.host, settings.port),
        "workers": settings.workers,
        "threads": settings.threads,
        "timeout": 60,
        "accesslog": "-",
        "control_socket_disable": True,
    }).run()
