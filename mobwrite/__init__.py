"""MobWrite: real-time text synchronisation by Differential Synchronization.

The package splits along the request's path: ``protocol`` (wire text in and
out) and ``engine`` (the sync algorithm) are pure; ``gateway`` is the thin
HTTP face; ``stores`` keep texts and views behind one small interface.
"""
