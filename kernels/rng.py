"""Counter-based random numbers for the sampling kernels: SplitMix64 over uint64 (arrays only).

Every random stream is a 64-bit seed; the k-th number of a stream is ``mix64(seed + k * GOLDEN)``
(``mix64``: MurmurHash3's finalizer, a bijection). Nothing depends on numba's or numpy's global
random state, on threads or on the order in which examples are processed: an example's stream is
``derive(seed, epoch, example id, purpose)``. Example::

    >>> import numpy as np
    >>> seeds = example_seeds(7, 0, np.array([0, 1, 1]), STOCHASTOK)
    >>> int(seeds[1]) == int(seeds[2]) != int(seeds[0])
    True
    >>> state = np.array([seeds[0]])
    >>> draws = [below(state, 6) for _ in range(1000)]
    >>> min(draws), max(draws)
    (0, 5)
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE
from .hashtable import mix64

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
UNIT = 1.0 / 9007199254740992.0  # 2**-53
# purposes: separate streams for the stochastic stages of one example
STOCHASTOK = 1
BPE_DROPOUT = 2
UNIGRAM_SAMPLING = 3


@nb.njit(cache=CACHE, inline="always")
def derive(a, b):
    """A new seed from a seed and a value: a bijection in ``b`` for a fixed ``a``."""
    return mix64(np.uint64(mix64(np.uint64(a) + GOLDEN)) ^ np.uint64(b))


@nb.njit(cache=CACHE)
def example_seeds(seed, epoch, example_ids, purpose):
    """The stream seed of each example: ``derive`` over (purpose, seed, epoch, example id)."""
    out = np.empty(len(example_ids), np.uint64)
    base = derive(derive(derive(np.uint64(purpose), np.uint64(seed)), np.uint64(epoch)), np.uint64(0))
    for i in range(len(example_ids)):
        out[i] = derive(base, np.uint64(example_ids[i]))
    return out


@nb.njit(cache=CACHE)
def sub_seeds(seeds, counts):
    """``counts[d]`` seeds per seed ``seeds[d]``, flattened: stream k of example d is ``derive(seeds[d], k)``."""
    out = np.empty(counts.sum(), np.uint64)
    j = 0
    for d in range(len(seeds)):
        for k in range(counts[d]):
            out[j] = derive(seeds[d], np.uint64(k))
            j += 1
    return out


@nb.njit(cache=CACHE, inline="always")
def next_u64(state):
    """The next number of the stream whose counter is ``state[0]`` (a 1-element uint64 array)."""
    state[0] = np.uint64(state[0] + GOLDEN)
    return mix64(state[0])


@nb.njit(cache=CACHE, inline="always")
def uniform(state):
    """A float in [0, 1) with 53 random bits."""
    return np.float64(next_u64(state) >> np.uint64(11)) * UNIT


@nb.njit(cache=CACHE, inline="always")
def below(state, m):
    """An integer in [0, m), m >= 1 (bias below m / 2**53)."""
    k = np.int64(uniform(state) * m)
    return k if k < m else m - 1
