"""Packed spans: item ``j`` of a packed array is ``[bounds[j], bounds[j+1])``.

    >>> import numpy as np
    >>> longest_span(np.array([0, 3, 10, 12]))
    7
"""
import numba as nb


@nb.njit(cache=True)
def longest_span(bounds):
    """The length of the longest item (at least 1, so it can size scratch arrays)."""
    longest = 1
    for j in range(len(bounds) - 1):
        longest = max(longest, bounds[j + 1] - bounds[j])
    return longest
