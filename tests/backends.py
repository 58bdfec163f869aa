"""Settings and stores for each backend the tests run on. A module of its
own, not conftest.py: tests/browser/ has a conftest too, and only one module
can be imported as ``conftest``."""

import dataclasses
import uuid

from mobwrite.config import Settings
from mobwrite.stores import open_store

BACKENDS = ["memory", "sqlite", "datastore", "datastore+redis", "datastore+memcached"]


def make_settings(backend, request, tmp_path, **overrides):
    """Settings for one backend, starting the services it needs."""
    settings = Settings(store=backend.split("+")[0], project="mobwrite-test",
                        sqlite_path=str(tmp_path / "mobwrite.sqlite3"))
    if backend.startswith("datastore"):
        request.getfixturevalue("datastore_emulator")
    if backend.endswith("+redis"):
        settings = dataclasses.replace(settings, redis_url=request.getfixturevalue("redis_server").address)
    if backend.endswith("+memcached"):
        settings = dataclasses.replace(settings, memcached_hosts=request.getfixturevalue("memcached_server").address)
    return dataclasses.replace(settings, **overrides)


def open_isolated_store(settings):
    """A store of its own: Datastore tests each get a fresh namespace."""
    if settings.store != "datastore":
        return open_store(settings)
    from google.cloud import ndb

    from mobwrite.stores.datastore import DatastoreStore
    client = ndb.Client(project=settings.project, namespace="t" + uuid.uuid4().hex[:12])
    return DatastoreStore.from_settings(settings, client)
