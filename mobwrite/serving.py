"""Serve an app factory through gunicorn, the server App Engine runs, for
``python main.py``: production behaviour on a laptop, no dev server. Also
what the app needs to know of gunicorn's gevent worker (held push waits)."""

import contextlib
import socket
import sys

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


def cooperative():
    """True under gunicorn's gevent worker (sockets patched to yield)."""
    if "gevent.monkey" not in sys.modules:
        return False
    from gevent import monkey
    return monkey.is_module_patched("socket")


def cooperate():
    """Under the gevent worker, make gRPC yield to other requests while it
    waits on Datastore (else each RPC would stall every request of the worker)."""
    if cooperative():
        import grpc.experimental.gevent
        grpc.experimental.gevent.init_gevent()


def hangup_watch(environ):
    """For a held wait under the gevent worker: a context manager factory
    that calls ``cut()`` once the client closes its connection (a tab left,
    or its client aborted the wait). None elsewhere: no held waits there."""
    sock = environ.get("gunicorn.socket")
    if sock is None or not cooperative():
        return None

    @contextlib.contextmanager
    def watching(cut):
        import gevent
        from gevent.socket import wait_read

        def watch():
            try:
                wait_read(sock.fileno())
                gone = sock.recv(1, socket.MSG_PEEK) == b""  # EOF; data would be a next request: not gone
            except OSError:
                gone = True
            if gone:
                cut()

        watcher = gevent.spawn(watch)
        try:
            yield
        finally:
            watcher.kill(block=False)

    return watching


def run(factory, settings):
    """Serve ``factory()`` on settings.host:settings.port until interrupted."""
    _Gunicorn(factory, {
        "bind": "%s:%d" % (settings.host, settings.port),
        "workers": settings.workers,
        # gevent: a held push wait is a greenlet, not a thread (issue 11);
        # worker_connections bounds them with the hub's push_waiters.
        "worker_class": settings.worker,
        "worker_connections": 1100,
        "threads": settings.threads,
        "timeout": 60,
        # Held waits would keep a stopping worker for the whole 30 s default;
        # cut, their pages simply wait again (on another worker).
        "graceful_timeout": 5,
        "accesslog": "-",
        "control_socket_disable": True,
    }).run()
