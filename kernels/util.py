"""What the kernels share: growing a buffer (``grown``; ``grown_rows`` for a 2-d one), comparing two runs
of items (``same_run``).

    >>> import numpy as np
    >>> a = grown(np.array([1, 2, 3]), 4)
    >>> a.shape, a[:3].tolist()                 # twice as long when that is enough
    ((6,), [1, 2, 3])
    >>> grown(np.array([1, 2, 3]), 10).shape    # else as long as asked
    (10,)
    >>> grown_rows(np.zeros((2, 3), np.int64)).shape
    (4, 3)
    >>> same_run(np.array([1, 2, 3]), 1, np.array([2, 3]), 0, 2)
    True
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE


@nb.njit(cache=CACHE)
def grown(a, n):
    """A new array of at least ``n`` items (twice ``a``'s length if that is more) starting with ``a``'s items;
    the rest is uninitialized."""
    out = np.empty(max(n, 2 * len(a)), a.dtype)
    out[: len(a)] = a
    return out


@nb.njit(cache=CACHE)
def grown_rows(a):
    """``a`` (2-d) with twice as many rows, the first ones ``a``'s."""
    out = np.empty((2 * len(a), a.shape[1]), a.dtype)
    out[: len(a)] = a
    return out


@nb.njit(cache=CACHE, inline="always")
def same_run(x, i, y, j, n):
    """Whether ``x[i:i+n]`` and ``y[j:j+n]`` hold the same items."""
    for k in range(n):
        if x[i + k] != y[j + k]:
            return False
    return True
