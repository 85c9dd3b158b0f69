"""Token ids of texts from their units: a unit is a fixed token id or a piece the model encodes.

- ``codes``        int64[U]    unit ``u`` is the id ``codes[u]`` (>= 0), or piece ``j`` when ``codes[u] = -1 - j``
- ``text_units``   int64[D+1]  text ``d`` is units ``text_units[d]:text_units[d+1]``
- ``piece_ids``    int64[I], ``piece_id_bounds`` int64[P+1]: the model's ids of piece ``j`` are
  ``piece_ids[piece_id_bounds[j]:piece_id_bounds[j+1]]`` (a piece may stand for many units)
- result           (ids int64, id bounds per text int64[D+1])

Example: two texts, the second using piece 0 twice around the fixed id 7::

    >>> import numpy as np
    >>> ids, bounds = assemble(np.array([-2, -1, 7, -1]), np.array([0, 1, 4]),
    ...                        np.array([10, 11, 12]), np.array([0, 2, 3]))
    >>> ids.tolist(), bounds.tolist()
    ([12, 10, 11, 7, 10, 11], [0, 1, 6])
"""
import numba as nb
import numpy as np

from .numba_cache import CACHE


@nb.njit(cache=CACHE, nogil=True)
def assemble(codes, text_units, piece_ids, piece_id_bounds):
    """The ids of each text: its units' fixed ids and pieces' ids in order (see the module docstring)."""
    n = 0
    for u in range(len(codes)):
        c = codes[u]
        n += 1 if c >= 0 else piece_id_bounds[-c] - piece_id_bounds[-c - 1]
    ids = np.empty(n, np.int64)
    bounds = np.zeros(len(text_units), np.int64)
    out = 0
    for d in range(len(text_units) - 1):
        for u in range(text_units[d], text_units[d + 1]):
            c = codes[u]
            if c >= 0:
                ids[out] = c
                out += 1
            else:
                for i in range(piece_id_bounds[-c - 1], piece_id_bounds[-c]):
                    ids[out] = piece_ids[i]
                    out += 1
        bounds[d + 1] = out
    return ids, bounds
