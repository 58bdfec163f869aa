"""Count a Datastore store's RPCs by method, so round trips are measured,
not guessed. Opt-in: benches and tests wrap a store; the service never does.

    counts = count_rpcs(store)   # a Counter, filled as the store works
"""

import collections


def count_rpcs(store):
    """Wrap ``store``'s calls: its sync path's own (``store.rpc.calls``) and
    its ndb client's stub (cleanup, buffers); returns the Counter they fill."""
    counts = collections.Counter()
    store.client.stub = _CountingStub(store.client.stub, counts)
    calls = store.rpc.calls
    for name, method in list(calls.items()):
        calls[name] = _CountedMethod(method, name, counts)
    return counts


class _CountingStub:
    def __init__(self, stub, counts):
        self._stub, self._counts = stub, counts

    def __getattr__(self, name):
        method = getattr(self._stub, name)
        return _CountedMethod(method, name, self._counts) if hasattr(method, "future") else method


class _CountedMethod:
    def __init__(self, method, name, counts):
        self._method, self._name, self._counts = method, name, counts

    def future(self, *args, **kwargs):
        self._counts[self._name] += 1
        return self._method.future(*args, **kwargs)

    def __call__(self, *args, **kwargs):
        self._counts[self._name] += 1
        return self._method(*args, **kwargs)
