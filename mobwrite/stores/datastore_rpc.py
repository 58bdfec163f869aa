"""The sync path's Datastore calls, as raw protobufs over HTTP or ndb's gRPC channel.

ndb cannot begin a transaction inside its first read (Datastore API v1's
``ReadOptions.new_transaction``), so an edit cost three round trips there
(BeginTransaction, Lookup, Commit), and every call went through ndb's event
loop, futures and a thread per call. Here an edit is two blocking calls
(Lookup that begins the transaction, Commit) and an idle poll one or two.
Entities are encoded exactly as ndb's models in ``datastore`` store them,
so ndb (cleanup, queries, the consoles) reads what this writes and back.
"""

import datetime
import json
import zlib

import grpc
from google.api_core import exceptions as api_exceptions
from google.api_core import gapic_v1
from google.cloud import _helpers
from google.cloud.datastore_v1.services.datastore.transports import DatastoreGrpcTransport
from google.cloud.datastore_v1.types import datastore as _ds
from google.cloud.datastore_v1.types import entity as _entity

from .datastore_http import HttpCalls

_COMPRESSED = 22       # ndb's meaning for a zlib-compressed blob
_ZLIB_MARKERS = (b"x\x9c", b"x^")
TIMEOUT = 30           # seconds, as ndb's default


# The raw protobuf classes: proto-plus's wrappers cost more CPU than the
# rest of an idle poll, and nothing here needs them.
LookupRequest, LookupResponse = _ds.LookupRequest.pb(), _ds.LookupResponse.pb()
CommitRequest, CommitResponse = _ds.CommitRequest.pb(), _ds.CommitResponse.pb()
RollbackRequest, RollbackResponse = _ds.RollbackRequest.pb(), _ds.RollbackResponse.pb()
ReadOptions, TransactionOptions, Mutation = _ds.ReadOptions.pb(), _ds.TransactionOptions.pb(), _ds.Mutation.pb()
Entity, Key, PartitionId, Value = _entity.Entity.pb(), _entity.Key.pb(), _entity.PartitionId.pb(), _entity.Value.pb()
_METHODS = {"lookup": (LookupRequest, LookupResponse), "commit": (CommitRequest, CommitResponse),
            "rollback": (RollbackRequest, RollbackResponse)}


# gRPC's default reconnect backoff (1 s, growing 1.6 times up to 2 minutes)
# kept the store answering 503 for 8-16 s after a 20-30 s Datastore outage
# had ended; capped at 1 s it is back within about a second. Fixed values:
# a retry a second to a host that is down costs nothing worth tuning.
RECONNECT = (("grpc.initial_reconnect_backoff_ms", 250), ("grpc.max_reconnect_backoff_ms", 1000))


def make_stub(client):
    """The stub ndb's ``Client`` makes for itself, emulator or not, on a
    channel that reconnects quickly (``RECONNECT``); set as ``client.stub``,
    ndb's calls and ``Rpc``'s share it: one connection per process."""
    if client.secure:
        channel = _helpers.make_secure_channel(client._credentials, client.client_info.to_user_agent(),
                                               client.host, extra_options=RECONNECT)
    else:
        channel = grpc.insecure_channel(client.host, options=[("grpc.max_send_message_length", -1),
                                                              ("grpc.max_receive_message_length", -1),
                                                              *RECONNECT])
    return DatastoreGrpcTransport(host=client.host, client_info=client.client_info, channel=channel)


class Conflict(Exception):
    """The transaction collided with another writer; running it again may succeed."""


class Stale(Exception):
    """A conditional write found its entities changed since they were read
    (their version moved on); the others in the same Commit may have landed."""

    def __init__(self, names):
        super().__init__("changed since read: %s" % ", ".join(names))
        self.names = names


class Rpc:
    """Lookup, Commit and Rollback for one project and namespace, over
    ``transport``: "grpc" (ndb's channel) or "http" (protobuf over HTTP/1.1,
    ``datastore_http``)."""

    def __init__(self, client, timeout=TIMEOUT, transport="grpc"):
        self.project, self.database = client.project, client.database or ""
        self.partition = PartitionId(project_id=self.project, database_id=self.database,
                                     namespace_id=client.namespace or "")
        self.http = None
        if transport == "http":
            self.http = HttpCalls(client.host, client.secure, client._credentials if client.secure else None,
                                  self.project, self.database, _METHODS, client.client_info.to_user_agent(),
                                  timeout)
            self.calls = self.http.calls
        elif transport == "grpc":
            self.calls = _grpc_calls(client, self.project, self.database, timeout)
        else:
            raise ValueError("the Datastore transport is http or grpc, not %r" % transport)

    def close(self):
        if self.http is not None:
            self.http.close()

    def key(self, kind, name, child=None):
        """A key by kind and name; ``child`` (kind, integer id) below it."""
        path = [Key.PathElement(kind=kind, name=name)]
        if child is not None:
            path.append(Key.PathElement(kind=child[0], id=child[1]))
        return Key(partition_id=self.partition, path=path)

    def lookup(self, keys, begin=False, versions=None):
        """``({key name: Entity}, transaction)``: what exists of ``keys``;
        with ``begin``, in a new read-write transaction that this read starts.
        ``versions`` (a dict) gets each found entity's version."""
        options = ReadOptions(new_transaction=TransactionOptions(
            read_write=TransactionOptions.ReadWrite())) if begin else None
        found, transaction, todo = {}, b"", list(keys)
        while todo:
            response = self._call("lookup", LookupRequest(
                project_id=self.project, database_id=self.database, keys=todo, read_options=options))
            if begin and not transaction:
                transaction = response.transaction
                options = ReadOptions(transaction=transaction)  # deferred keys: the same transaction
            for result in response.found:
                found[result.entity.key.path[-1].name] = result.entity
                if versions is not None:
                    versions[result.entity.key.path[-1].name] = result.version
            todo = list(response.deferred)
        return found, transaction

    def commit(self, upserts, deletes, transaction=b"", expect=None):
        """Write; ``{key name: version}`` of what was upserted. ``expect``
        (key name -> the version it was read at, 0 for absent) makes those
        mutations conditional: any that find another version raise Stale."""
        expect = expect or {}

        def mutation(name, **operation):
            if name in expect:
                return Mutation(base_version=expect[name], **operation)
            return Mutation(**operation)

        mutations = [mutation(e.key.path[-1].name, upsert=e) for e in upserts] + \
                    [mutation(k.path[-1].name, delete=k) for k in deletes]
        mode = CommitRequest.TRANSACTIONAL if transaction else CommitRequest.NON_TRANSACTIONAL
        response = self._call("commit", CommitRequest(project_id=self.project, database_id=self.database,
                                                      mode=mode, transaction=transaction or None,
                                                      mutations=mutations))
        names = [e.key.path[-1].name for e in upserts] + [k.path[-1].name for k in deletes]
        stale = [n for n, r in zip(names, response.mutation_results) if r.conflict_detected]
        if stale:
            raise Stale(stale)
        return {n: r.version for n, r in zip(names[:len(upserts)], response.mutation_results)}

    def rollback(self, transaction):
        self._call("rollback", RollbackRequest(project_id=self.project, database_id=self.database,
                                               transaction=transaction))

    def _call(self, name, request):
        try:
            return self.calls[name](request)
        except api_exceptions.Aborted as exc:
            raise Conflict(str(exc)) from exc


def _grpc_calls(client, project, database, timeout):
    """``calls[name](request) -> response`` on ndb's gRPC channel (one
    connection per process), failures as google.api_core's exceptions."""
    channel = client.stub.grpc_channel
    params = {"project_id": project}
    if database:
        params["database_id"] = database
    metadata = (gapic_v1.routing_header.to_grpc_metadata(params),)

    def method(name, request_class, response_class):
        call = channel.unary_unary("/google.datastore.v1.Datastore/" + name.capitalize(),
                                   request_serializer=request_class.SerializeToString,
                                   response_deserializer=response_class.FromString)

        def invoke(request):
            try:
                return call(request, timeout=timeout, metadata=metadata)
            except grpc.RpcError as exc:
                raise api_exceptions.from_grpc_error(exc) from exc
        return invoke

    return {name: method(name, *classes) for name, classes in _METHODS.items()}


# -- entities, as ndb's models store them ---------------------------------------

def entity(key, **properties):
    """An entity of ``properties``: str (indexed), Text, bytes (a compressed
    blob), Blob, int and Json (unindexed), datetime (indexed)."""
    return Entity(key=key, properties={name: _value(value) for name, value in properties.items()})


class Text(str):
    """A string stored unindexed, as ndb's TextProperty."""


class Blob(bytes):
    """Bytes stored as they are, unindexed, as ndb's BlobProperty."""


class Json:
    """A value stored as ndb's JsonProperty stores it (ASCII JSON bytes)."""

    def __init__(self, value):
        self.value = value


def _value(value):
    if isinstance(value, Text):
        return Value(string_value=value, exclude_from_indexes=True)
    if isinstance(value, str):
        return Value(string_value=value)
    if isinstance(value, Blob):
        return Value(blob_value=bytes(value), exclude_from_indexes=True)
    if isinstance(value, Json):
        raw = json.dumps(value.value, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        return Value(blob_value=raw, exclude_from_indexes=True)
    if isinstance(value, bool):
        raise TypeError("no Datastore encoding for bool here")
    if isinstance(value, int):
        return Value(integer_value=value, exclude_from_indexes=True)
    if isinstance(value, bytes):
        return Value(blob_value=zlib.compress(value), meaning=_COMPRESSED, exclude_from_indexes=True)
    if isinstance(value, datetime.datetime):
        stamped = Value()
        stamped.timestamp_value.FromDatetime(value)
        return stamped
    raise TypeError("no Datastore encoding for %r" % type(value))


def string(entity_pb, name):
    return entity_pb.properties[name].string_value


def blob(entity_pb, name):
    raw = entity_pb.properties[name].blob_value
    return zlib.decompress(raw) if raw.startswith(_ZLIB_MARKERS) else raw
