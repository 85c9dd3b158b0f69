"""The violated constraints of the mixture LP at a given mixture (lazy constraint generation).

Arrays (``tokforge.mixture.lp`` builds them from ``kernels/pair_replay.py``'s output): pairs have
dense ids ``0..P-1``; ``counts0[p, i]`` is pair ``p``'s count in category ``i``'s sample before
the first merge; the changes of step ``t`` are ``pids/cats/deltas[bounds[t]:bounds[t+1]]``;
``merge_pids[t]`` is the pair merged at step ``t``.

At a mixture ``weights`` (category ``i``'s weight times its count scale), a pair's mixed count is
``mix[p] = sum_i weights[i] * c[p, i]`` and its priority ``mix[p] - pair_slack[p]``. The
constraint (t, p) -- "at step t the merged pair m is at least as frequent as p" -- is violated
when ``prio[p] > mix[m] + step_slack[t]`` (beyond a relative tolerance). ``violations`` walks the
steps, keeping the priorities in a max-heap updated as each step's changes apply, and returns
the ``per_step`` most violated pairs of each step that are not already constraints (``known``:
a ``key_set`` of ``(t << 32) | p``), stopping after the step where ``max_new`` were found.

Most pairs are rare and can never beat a merge: ``peaks`` (``count_peaks``) holds each pair's
largest count over all steps and ``merged[t]`` the merged pair's counts at step ``t``; a pair
enters the heap only at the first step whose cutoff falls below its largest possible priority
(the cutoffs' running minimum), so the heap holds few pairs. Example (pairs 0, 1, 2; two
categories; merge pair 0 at step 0, then pair 1 at step 1)::

    >>> import numpy as np
    >>> counts0 = np.array([[5, 0], [0, 4], [1, 1]])          # pair 0: only in category 0 ...
    >>> bounds = np.array([0, 1, 2]); pids = np.array([0, 1]); cats = np.array([0, 1])
    >>> deltas = np.array([-5, -4])                            # each merge removes its pair
    >>> merge_pids = np.array([0, 1])
    >>> peaks, merged = count_peaks(counts0, merge_pids, bounds, pids, cats, deltas)
    >>> peaks.tolist(), merged.tolist()
    ([[5, 0], [0, 4], [1, 1]], [[5, 0], [0, 4]])
    >>> steps, found, diffs, excess, scanned = violations(
    ...     counts0, peaks, merged, np.array([0.1, 0.9]), np.zeros(3), np.zeros(2), merge_pids,
    ...     bounds, pids, cats, deltas, key_set(np.zeros(0, np.int64)), 10, 100, 1e-9, 2)
    >>> steps.tolist(), found.tolist(), diffs.tolist()       # at 10:90, pair 1 (3.6) beats pair 0 (0.5)
    ([0, 0], [1, 2], [[5, -4], [4, -1]])
"""
import numba as nb
import numpy as np

from .hashtable import probe_int64
from .numba_cache import CACHE


@nb.njit(cache=CACHE)
def key_set(keys):
    """An open-addressing set (``kernels/hashtable.py``) of the non-negative int64 ``keys``."""
    cap = 16
    while cap < 2 * len(keys) + 2:
        cap *= 2
    slots = np.full(cap, -1, np.int64)
    for k in keys:
        slots[probe_int64(slots, k)] = k
    return slots


@nb.njit(cache=CACHE, inline="always")
def _sift_up(heap, where, prio, i):
    p = heap[i]
    while i > 0:
        parent = (i - 1) >> 1
        q = heap[parent]
        if prio[q] >= prio[p]:
            break
        heap[i] = q
        where[q] = i
        i = parent
    heap[i] = p
    where[p] = i


@nb.njit(cache=CACHE, inline="always")
def _sift_down(heap, where, prio, i, size):
    p = heap[i]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and prio[heap[child + 1]] > prio[heap[child]]:
            child += 1
        if prio[heap[child]] <= prio[p]:
            break
        heap[i] = heap[child]
        where[heap[child]] = i
        i = child
    heap[i] = p
    where[p] = i


@nb.njit(cache=CACHE)
def count_peaks(counts0, merge_pids, bounds, pids, cats, deltas):
    """(peaks, merged): ``peaks[p, i]``, the largest count of pair ``p`` in category ``i`` over
    all steps; ``merged[t, i]``, the count of the pair merged at step ``t`` before that step."""
    counts = counts0.copy()
    peaks = counts0.copy()
    n_steps = len(merge_pids)
    merged = np.zeros((n_steps, counts0.shape[1]), counts0.dtype)
    for t in range(n_steps):
        if merge_pids[t] >= 0:
            merged[t] = counts[merge_pids[t]]
        for k in range(bounds[t], bounds[t + 1]):
            p, i = pids[k], cats[k]
            counts[p, i] += deltas[k]
            if counts[p, i] > peaks[p, i]:
                peaks[p, i] = counts[p, i]
    return peaks, merged


@nb.njit(cache=CACHE)
def _entry_steps(peaks, merged, weights, pair_slack, step_slack, tol, n_steps):
    """The first step at which each pair's largest possible priority beats the lowest cutoff so
    far (``n_steps``: never); before it the pair cannot violate a constraint."""
    n_pairs, n_cats = peaks.shape
    low = np.empty(n_steps, np.float64)  # running minimum of the cutoffs, non-increasing
    least = np.inf
    for t in range(n_steps):
        mix_m = 0.0
        present = False
        for i in range(n_cats):
            mix_m += weights[i] * merged[t, i]
            present = present or merged[t, i] > 0
        if present:
            least = min(least, mix_m + step_slack[t] + tol * max(1.0, abs(mix_m)))
        low[t] = least
    enter = np.full(n_pairs, n_steps, np.int64)
    for p in range(n_pairs):
        top = 0.0
        for i in range(n_cats):
            top += weights[i] * peaks[p, i]
        top = top - pair_slack[p]
        top += 1e-9 * (1.0 + abs(top))  # margin for rounding: the scan's sums are accumulated
        if n_steps > 0 and low[n_steps - 1] < top:
            lo, hi = 0, n_steps - 1     # first t with low[t] < top
            while lo < hi:
                mid = (lo + hi) >> 1
                if low[mid] < top:
                    hi = mid
                else:
                    lo = mid + 1
            enter[p] = lo
    return enter


@nb.njit(cache=CACHE)
def violations(counts0, peaks, merged, weights, pair_slack, step_slack, merge_pids, bounds, pids, cats, deltas,
               known, per_step, max_new, tol, n_steps):
    """Returns (steps, pairs, diffs, excess, steps scanned): the new violated constraints of the
    first ``n_steps`` steps in step order, with ``diffs[k, i] = c[m, i] - c[p, i]`` at their step
    (the row of the LP) and by how much each is violated (``prio[p] - mix[m] - step_slack[t]``)."""
    n_pairs, n_cats = counts0.shape
    counts = counts0.copy()
    prio = np.empty(n_pairs, np.float64)
    for p in range(n_pairs):
        s = 0.0
        for i in range(n_cats):
            s += weights[i] * counts[p, i]
        prio[p] = s - pair_slack[p]
    enter = _entry_steps(peaks, merged, weights, pair_slack, step_slack, tol, n_steps)
    arrivals = np.empty(n_pairs, np.int64)  # the pairs by entry step (a counting sort)
    first = np.zeros(n_steps + 2, np.int64)
    for p in range(n_pairs):
        first[enter[p] + 1] += 1
    for t in range(n_steps + 1):
        first[t + 1] += first[t]
    for p in range(n_pairs):
        arrivals[first[enter[p]]] = p
        first[enter[p]] += 1
    heap = np.empty(n_pairs, np.int64)
    where = np.full(n_pairs, -1, np.int64)  # heap position of each pair, -1: not in the heap
    size = 0
    arrived = 0

    max_pops = 4 * per_step + 64
    frontier = np.empty(2 * max_pops + 2, np.int64)  # heap positions still to look at
    out_steps = np.empty(max(16, max_new + per_step), np.int64)
    out_pairs = np.empty(len(out_steps), np.int64)
    out_diffs = np.empty((len(out_steps), n_cats), np.int64)
    out_excess = np.empty(len(out_steps), np.float64)
    n_new = 0
    scanned = n_steps
    for t in range(n_steps):
        while arrived < n_pairs and enter[arrivals[arrived]] <= t:
            p = arrivals[arrived]
            heap[size] = p
            where[p] = size
            size += 1
            _sift_up(heap, where, prio, size - 1)
            arrived += 1
        m = merge_pids[t]
        present = False
        if m >= 0:
            for i in range(n_cats):
                present = present or counts[m, i] > 0
        if present:
            mix_m = prio[m] + pair_slack[m]
            cutoff = mix_m + step_slack[t] + tol * max(1.0, abs(mix_m))
            # best-first walk of the heap's nodes above the cutoff (they form a subtree at the root)
            n_front = 0
            if size > 0 and prio[heap[0]] > cutoff:
                frontier[0] = 0
                n_front = 1
            pops = 0
            taken = 0
            while n_front > 0 and taken < per_step and pops < max_pops:
                best = 0
                for k in range(1, n_front):
                    if prio[heap[frontier[k]]] > prio[heap[frontier[best]]]:
                        best = k
                node = frontier[best]
                n_front -= 1
                frontier[best] = frontier[n_front]
                pops += 1
                for child in (2 * node + 1, 2 * node + 2):
                    if child < size and prio[heap[child]] > cutoff:
                        frontier[n_front] = child
                        n_front += 1
                p = heap[node]
                if p == m or known[probe_int64(known, (np.int64(t) << 32) | p)] != -1:
                    continue
                out_steps[n_new] = t
                out_pairs[n_new] = p
                out_excess[n_new] = prio[p] - mix_m - step_slack[t]
                for i in range(n_cats):
                    out_diffs[n_new, i] = counts[m, i] - counts[p, i]
                n_new += 1
                taken += 1
        for k in range(bounds[t], bounds[t + 1]):
            p = pids[k]
            counts[p, cats[k]] += deltas[k]
            change = weights[cats[k]] * deltas[k]
            prio[p] += change
            if where[p] >= 0:
                if change > 0:
                    _sift_up(heap, where, prio, where[p])
                else:
                    _sift_down(heap, where, prio, where[p], size)
        if n_new >= max_new:
            scanned = t + 1
            break
    return (out_steps[:n_new].copy(), out_pairs[:n_new].copy(), out_diffs[:n_new].copy(),
            out_excess[:n_new].copy(), scanned)
