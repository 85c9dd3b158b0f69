"""Seeded per-document sampling: a uniform number in [0, 1) from the bytes of each document.

Held-out documents are chosen by ``uniform_of_documents(data, bounds, seed) < fraction``: the
choice depends only on a document's text and the seed, not on where the document sits in the
corpus, so every sharding of a corpus (and every merge of counts from parts of it) holds out
the same documents. Equal documents get equal numbers. Example::

    >>> import numpy as np
    >>> data = np.frombuffer(b"a\\nb\\na\\n", np.uint8)
    >>> u = uniform_of_documents(data, np.array([0, 2, 4, 6]), 7)
    >>> bool(u[0] == u[2]), bool(u[0] != u[1]), bool(0 <= u.min() and u.max() < 1)
    (True, True, True)
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .hashtable import fnv1a, mix64
from .rng import GOLDEN, UNIT


@nb.njit(cache=CACHE, nogil=True)
def uniform_of_documents(data, bounds, seed):
    """``u[i]`` in [0, 1) for document ``data[bounds[i]:bounds[i+1]]``: the top 53 bits of
    mix64(fnv1a(document) + (seed + 1) * golden ratio)."""
    n = len(bounds) - 1
    out = np.empty(n, np.float64)
    salt = (np.uint64(seed) + np.uint64(1)) * GOLDEN
    for i in range(n):
        h = mix64(fnv1a(data, bounds[i], bounds[i + 1]) + salt)
        out[i] = np.float64(h >> np.uint64(11)) * UNIT
    return out
