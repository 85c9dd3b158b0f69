"""Texts and pieces packed back to back: UTF-8 with a clear error for what has none, and the int64
offsets of items laid one after the other (item ``i`` is ``data[offsets[i]:offsets[i+1]]``).

    >>> pieces = [utf8(p) for p in ["Mer", "haba", " dünya"]]
    >>> offsets = offsets_from_lengths(lengths_of(pieces))
    >>> offsets.tolist(), b"".join(pieces)[offsets[2]:offsets[3]].decode()
    ([0, 3, 7, 14], ' dünya')
    >>> even_ranges(offsets, 2)   # the pieces in two runs of about equal bytes
    [(0, 2), (2, 3)]
"""
from __future__ import annotations

import numpy as np

from tokforge.errors import InputError


def utf8(text: str) -> bytes:
    """``text`` as UTF-8; InputError for a lone surrogate (a str that UTF-8 cannot hold)."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(f"text holds a lone surrogate {text[e.start]!r} that has no UTF-8 form; "
                         "decode your input with errors='replace' or remove it") from None


def offsets_from_lengths(lengths) -> np.ndarray:
    """int64 offsets [0, l0, l0+l1, ...] of items with the given lengths laid back to back.

    >>> offsets_from_lengths([2, 0, 3]).tolist()
    [0, 2, 2, 5]
    """
    lengths = np.asarray(lengths, np.int64)
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return offsets


def lengths_of(items) -> np.ndarray:
    """The ``len`` of each item, as int64."""
    return np.fromiter(map(len, items), np.int64, len(items))


def even_ranges(offsets: np.ndarray, n: int) -> list[tuple[int, int]]:
    """Items laid back to back (item ``i`` is ``offsets[i]:offsets[i+1]``) cut into at most ``n`` runs of
    consecutive items of about equal size, as ``(first item, end)`` pairs, none empty; the cut depends on
    the offsets and ``n`` only (work summed run by run is the same whatever runs it)."""
    offsets = np.asarray(offsets, np.int64)
    cuts = np.searchsorted(offsets, np.linspace(offsets[0], offsets[-1], n + 1)[1:-1])
    edges = np.unique(np.concatenate([[0], cuts, [len(offsets) - 1]]))
    return list(zip(edges[:-1].tolist(), edges[1:].tolist()))
