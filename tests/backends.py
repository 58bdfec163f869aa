"""Settings and stores for each backend the tests run on. A module of its
own, not conftest.py: tests/browser/ has a conftest too, and only one module
can be imported as ``conftest``."""

import dataclasses
import uuid

from mobwrite import wiring
from mobwrite.config import Settings
from mobwrite.stores.cache import open_cache

BACKENDS = ["memory", "sqlite", "datastore", "datastore+redis", "datastore+memcached"]


def make_settings(backend, request, tmp_path, **overrides):
    """Settings for one backend, starting the services it needs; Datastore
    tests each get a fresh namespace."""
    settings = Settings(store=backend.split("+")[0], project="mobwrite-test",
                        sqlite_path=str(tmp_path / "mobwrite.sqlite3"), namespace="t" + uuid.uuid4().hex[:12])
    if backend.startswith("datastore"):
        request.getfixturevalue("datastore_emulator")
    if backend.endswith("+redis"):
        settings = dataclasses.replace(settings, redis_url=request.getfixturevalue("redis_server").address)
    if backend.endswith("+memcached"):
        settings = dataclasses.replace(settings, memcached_hosts=request.getfixturevalue("memcached_server").address)
    return dataclasses.replace(settings, **overrides)


def open_store(settings):
    """A store of its own on the test's storage, as another process would
    open it: the same SQLite file or Datastore namespace, its own connections."""
    return wiring.open_store(settings, open_cache(settings))
