"""Packed spans: item ``j`` of a packed array is ``[bounds[j], bounds[j+1])``; UTF-8 character lengths.

    >>> import numpy as np
    >>> longest_span(np.array([0, 3, 10, 12]))
    7
    >>> [utf8_length(lead) for lead in bytes([0x61, 0xC3, 0xE4, 0xF0])]     # a, é, 中, 😀
    [1, 2, 3, 4]
"""
import numba as nb

from .numba_cache import CACHE


@nb.njit(cache=CACHE)
def longest_span(bounds):
    """The length of the longest item (at least 1, so it can size scratch arrays)."""
    longest = 1
    for j in range(len(bounds) - 1):
        longest = max(longest, bounds[j + 1] - bounds[j])
    return longest


@nb.njit(cache=CACHE, inline="always")
def utf8_length(lead):
    """Bytes of the UTF-8 character that starts with byte ``lead``."""
    if lead < 0x80:
        return 1
    if lead >= 0xF0:
        return 4
    if lead >= 0xE0:
        return 3
    return 2
