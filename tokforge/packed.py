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

from typing import TYPE_CHECKING, NamedTuple, Sequence

import numpy as np

from tokforge.errors import InputError
from tokforge.kernels.units import assemble

if TYPE_CHECKING:
    from tokforge.models.protocol import Model


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


class Units(NamedTuple):
    """Texts as their model sees them (``Tokenizer.packed_units``): each text a run of units, a unit a
    fixed id (a special token, a stage's token) or a piece for the model; ``codes[u]`` is the id, or
    ``-1 - j`` for piece ``j`` = ``buf[piece_bounds[j]:piece_bounds[j+1]]``; text ``d`` is units
    ``text_units[d]:text_units[d+1]``. A piece may stand for many units (each distinct text once).

        >>> units = Units.of([[(b"ab", None), (None, 7)], [(b"ab", None)]])
        >>> units.codes.tolist(), units.text_units.tolist(), units.buf
        ([-1, 7, -1], [0, 2, 3], b'ab')
    """

    buf: bytes
    piece_bounds: np.ndarray
    codes: np.ndarray
    text_units: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[Sequence[tuple[bytes | None, int | None]]]) -> "Units":
        """From each text's units as ``(piece, None)`` or ``(None, id)``, equal pieces stored once."""
        index: dict[bytes, int] = {}
        codes: list[int] = []
        lengths = []
        for units in texts:
            lengths.append(len(units))
            for piece, i in units:
                codes.append(i if piece is None else -1 - index.setdefault(piece, len(index)))
        pieces = list(index)
        return cls(b"".join(pieces), offsets_from_lengths(lengths_of(pieces)), np.array(codes, np.int64),
                   offsets_from_lengths(lengths))

    def ids(self, model: "Model") -> tuple[np.ndarray, np.ndarray]:
        """Every text's token ids (ids, bounds per text): the model encodes each piece once."""
        ids, id_bounds = model.encode_packed(self.buf, self.piece_bounds)
        return assemble(self.codes, self.text_units, ids, id_bounds)

    def occurrences(self) -> "Units":
        """The same units with a piece of their own for every unit that is one, in order (for samplers,
        which draw each occurrence from a stream of its own)."""
        order = -1 - self.codes[self.codes < 0]
        lengths = np.diff(self.piece_bounds)[order]
        bounds = offsets_from_lengths(lengths)
        source = np.repeat(self.piece_bounds[order] - bounds[:-1], lengths) + np.arange(bounds[-1])
        codes = self.codes.copy()
        codes[codes < 0] = -1 - np.arange(len(order))
        data = np.frombuffer(self.buf, np.uint8)[source].tobytes()
        return Units(data, bounds, codes, self.text_units)

    def pieces_per_text(self) -> np.ndarray:
        """How many units of each text are pieces."""
        is_piece = np.concatenate([[0], np.cumsum(self.codes < 0)])
        return is_piece[self.text_units[1:]] - is_piece[self.text_units[:-1]]
