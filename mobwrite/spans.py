"""Where two texts differ, found in time proportional to the part they share.

Comparing whole slices in a binary search copies the text at every step
(twenty 1 MB copies for a 1 MB document); galloping forward in doubling
blocks copies each character about twice.
"""


def common_prefix(a, b):
    """Length of the longest common prefix of ``a`` and ``b``."""
    n = min(len(a), len(b))
    start, step = 0, 64
    while start < n:
        end = min(n, start + step)
        if not b.startswith(a[start:end], start):
            break
        start, step = end, step * 2
    else:
        return n
    lo, hi = start, end  # a[:lo] == b[:lo]; they differ somewhere in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if b.startswith(a[lo:mid], lo):
            lo = mid
        else:
            hi = mid
    return lo if a[lo] != b[lo] else lo + 1


def common_suffix(a, b, limit=None):
    """Length of the longest common suffix, at most ``limit`` characters."""
    n = min(len(a), len(b)) if limit is None else min(len(a), len(b), limit)
    la, lb = len(a), len(b)
    done, step = 0, 64
    while done < n:
        upto = min(n, done + step)
        if not b.endswith(a[la - upto:la - done], 0, lb - done):
            break
        done, step = upto, step * 2
    else:
        return n
    lo, hi = done, upto  # the last lo characters agree; they differ within the next hi - lo
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if b.endswith(a[la - mid:la - lo], 0, lb - lo):
            lo = mid
        else:
            hi = mid
    return lo if a[la - lo - 1] != b[lb - lo - 1] else lo + 1


def changed_span(a, b):
    """``(prefix, suffix)``: the lengths ``a`` and ``b`` share at each end,
    not overlapping, so the change is ``a[prefix:len(a) - suffix]`` ->
    ``b[prefix:len(b) - suffix]``."""
    prefix = common_prefix(a, b)
    return prefix, common_suffix(a, b, min(len(a), len(b)) - prefix)
