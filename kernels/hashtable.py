"""Open-addressing hash helpers shared by the kernels (numba, arrays only).

Keys are non-negative int64; an empty slot holds -1. Tables have a power-of-two size and
use linear probing. Example::

    >>> import numpy as np
    >>> slots = np.full(8, -1, np.int64)
    >>> i = probe_int64(slots, 42)      # the slot where 42 lives or would go
    >>> slots[i] = 42
    >>> probe_int64(slots, 42) == i
    True
"""
import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from .numba_cache import CACHE

FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
FNV_OFFSET = np.uint64(14695981039346656037)
FNV_PRIME = np.uint64(1099511628211)


@nb.njit(cache=CACHE, inline="always")
def mix64(key):
    """Scramble a 64-bit key so every output bit depends on every input bit (MurmurHash3's fmix64).

    FNV and polynomial hashes leave their middle bits weakly mixed; tables index with the low
    bits of ``mix64(hash)``.
    """
    h = np.uint64(key)
    h = (h ^ (h >> np.uint64(33))) * FMIX1
    h = (h ^ (h >> np.uint64(33))) * FMIX2
    return h ^ (h >> np.uint64(33))


@nb.njit(cache=CACHE, inline="always")
def slot_of(key, mask):
    """The home slot of ``key`` in a table of ``mask + 1`` slots."""
    return np.int64(mix64(key) & np.uint64(mask))


@nb.njit(cache=CACHE)
def fnv1a(buf, start, end):
    """FNV-1a hash of ``buf[start:end]`` (uint8 array) as uint64.

    >>> fnv1a(np.frombuffer(b"ab", np.uint8), 0, 2) == fnv1a(np.frombuffer(b"xab", np.uint8), 1, 3)
    True
    """
    h = FNV_OFFSET
    for i in range(start, end):
        h = (h ^ np.uint64(buf[i])) * FNV_PRIME
    return h


@nb.njit(cache=CACHE)
def empty_slots(n):
    """An empty table (all -1) of a power-of-two size of at least ``2 * n + 2`` slots: room for ``n``
    keys at most half full.

    >>> len(empty_slots(3)), int(empty_slots(3).min())
    (8, -1)
    """
    cap = 8
    while cap < 2 * n + 2:
        cap *= 2
    return np.full(cap, -1, np.int64)


@nb.njit(cache=CACHE)
def probe_int64(slots, key):
    """Index of ``key`` in ``slots``, or of the empty slot where it would be inserted."""
    mask = len(slots) - 1
    i = slot_of(key, mask)
    while True:
        k = slots[i]
        if k == key or k == -1:
            return i
        i = (i + 1) & mask


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the CPU to bring ``arr.flat[idx]`` into the cache; no effect on results. For loops
    whose next random accesses are known in advance (the words of a list, the slots of the next
    pieces): the loads then overlap instead of waiting one after the other."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(ary.data, [context.cast(builder, args[1], signature.args[1], types.intp)])
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0")
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])  # read, keep in all caches, data
        return context.get_dummy_value()
    return types.void(arr, idx), codegen
