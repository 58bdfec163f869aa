"""A store in this process's memory: for unit tests and throwaway runs."""

import threading

from . import Store, now
from .presence_boards import merge


class MemoryStore(Store):
    def __init__(self):
        self._lock = threading.RLock()
        self._views = {}      # (user, doc) -> (View, updated)
        self._texts = {}      # doc -> (text, updated)
        self._buffers = {}    # (id, size) -> ({index: data}, updated)
        self._heads = {}      # doc -> history.Head
        self._snapshots = {}  # doc -> {seq: history.Snapshot}
        self._presence = {}   # doc -> {public id: entry}

    def read(self, view_keys, docs):
        with self._lock:
            views = {k: self._views[k][0].copy() for k in view_keys if k in self._views}
            texts = {d: self._texts[d][0] for d in docs if d in self._texts}
        return views, texts

    def write_views(self, outcome):
        with self._lock:
            self._save_views(outcome)

    def transact(self, view_keys, docs, run, history=None):
        with self._lock:
            views, texts = self.read(view_keys, docs)
            outcome = run(views, texts)
            self._save_views(outcome)
            stamp = now()
            if history is not None:
                self._keep_history(*history.plan(self._heads, texts, outcome.texts, stamp))
            for doc, text in outcome.texts.items():
                if text is None:
                    self._texts.pop(doc, None)
                else:
                    self._texts[doc] = (text, stamp)
            return outcome

    def _keep_history(self, snapshots, heads):
        self._heads.update(heads)
        for doc, taken in snapshots.items():
            self._snapshots.setdefault(doc, {}).update({s.seq: s for s in taken})

    def history_list(self, doc):
        with self._lock:
            return [s.meta() for _, s in sorted(self._snapshots.get(doc, {}).items())]

    def history_get(self, doc, seq):
        with self._lock:
            return self._snapshots.get(doc, {}).get(seq)

    def history_prune(self, policy, now):
        with self._lock:
            count = 0
            for snaps in self._snapshots.values():
                for seq in policy.prune([(s.seq, s.time) for s in snaps.values()], now):
                    del snaps[seq]
                    count += 1
            return count

    def presence_exchange(self, writes, docs, now):
        with self._lock:
            for doc, entries in writes.items():
                self._presence[doc] = merge(self._presence.get(doc, {}), entries, now)
            return {doc: dict(self._presence.get(doc, {})) for doc in docs}

    def _save_views(self, outcome):
        stamp = now()
        for key in outcome.deleted_views:
            self._views.pop(key, None)
        for key, view in outcome.views.items():
            self._views[key] = (view.copy(), stamp)

    def add_fragment(self, fragment, ttl):
        with self._lock:
            key = (fragment.id, fragment.size)
            pieces, started = self._buffers.get(key, ({}, now()))
            if started < now() - ttl:
                pieces, started = {}, now()  # expired: start again
            pieces.setdefault(fragment.index, fragment.data)
            if len(pieces) < fragment.size:
                self._buffers[key] = (pieces, started)
                return None
            self._buffers.pop(key, None)
            return [pieces[i] for i in sorted(pieces)]

    def cleanup(self, view_cutoff, text_cutoff, buffer_cutoff):
        with self._lock:
            views = [k for k, (_, t) in self._views.items() if t < view_cutoff]
            for key in views:
                del self._views[key]
            viewed = {doc for _, doc in self._views}
            texts = [d for d, (_, t) in self._texts.items() if t < text_cutoff and d not in viewed]
            for doc in texts:
                del self._texts[doc]
            buffers = [k for k, (_, t) in self._buffers.items() if t < buffer_cutoff]
            for key in buffers:
                del self._buffers[key]
        return {"views": len(views), "texts": len(texts), "buffers": len(buffers)}
