"""The linear program of data mixture inference (Hayase, Liu, Choi, Oh, Smith 2024), solved with
lazy constraint generation.

Merge ``t`` of a BPE merge list was the most frequent pair after merges ``0..t-1``. With
``c[i, p](t)`` the count of pair ``p`` in category ``i``'s sample at step ``t``, scaled to
occurrences per MB of that category's text, the mixture ``alpha`` (``alpha >= 0``,
``sum(alpha) = 1``: the share of each category in the training bytes) should satisfy, for the
merged pair ``m(t)`` and every other pair ``p``::

    sum_i alpha_i (c[i, m(t)](t) - c[i, p](t)) + v_t + v_p >= 0

with a slack ``v_t >= 0`` per merge step and ``v_p >= 0`` per pair (a pair over-represented in
the samples, at every step). The LP minimises ``sum v_t + sum v_p``. Only violated constraints
enter: start from the uniform mixture, find the constraints it violates
(``kernels/mixture_scan.py``), solve, and repeat until the solution violates none. Pairs and
steps that never appear in a constraint have no slack variable.

    >>> counts = MergeCounts.build([replay_a, replay_b], merges, [1e6, 1e6])   # doctest: +SKIP
    >>> solve(counts).alpha                                                   # doctest: +SKIP
    array([0.25, 0.75])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from tokforge.errors import ConfigError
from tokforge.kernels.mixture_scan import key_set, violations

BYTES_UNIT = 1e6        # counts are scaled to occurrences per MB of a category's text
PER_STEP = 5            # most new constraints per merge step and round
MAX_NEW = 2000          # a round stops scanning after the step where this many (or as many as the LP has) were found
TOLERANCE = 1e-7        # violations smaller than this (relative) are not violations
FIRST_STAGE = 512       # merges of the first stage; each later stage doubles them
GAP = 1e-4              # stop when the constraints still violated would add less than this share to the objective


@dataclass(frozen=True)
class MergeCounts:
    """Every category's pair counts across the first T merges, on one dense pair-id space.

    ``counts0[p, i]``: pair ``p``'s count in category ``i`` before the first merge; the changes of
    step ``t`` are ``pids/cats/deltas[bounds[t]:bounds[t+1]]``; ``merge_pids[t]``: the id of the
    pair merged at step ``t``; ``pair_keys[p]``: ``(left << 32) | right``; ``scale[i]``: counts
    of category ``i`` to occurrences per MB."""

    counts0: np.ndarray
    bounds: np.ndarray
    pids: np.ndarray
    cats: np.ndarray
    deltas: np.ndarray
    merge_pids: np.ndarray
    pair_keys: np.ndarray
    scale: np.ndarray

    @property
    def n_steps(self) -> int:
        return len(self.merge_pids)

    @classmethod
    def build(cls, replays: Sequence[tuple[np.ndarray, ...]], merges: np.ndarray,
              sample_bytes: Sequence[int]) -> "MergeCounts":
        """From each category's ``replay_merges`` output (``kernels/pair_replay.py``) over the
        ``merges`` rows [left, right, result], and the bytes of text each sample holds."""
        merges = np.asarray(merges, np.int64).reshape(-1, 3)
        n_steps = len(merges)
        merge_keys = (merges[:, 0] << 32) | merges[:, 1]
        pair_keys = np.unique(np.concatenate([r[0] for r in replays] + [r[3] for r in replays] + [merge_keys]))
        counts0 = np.zeros((len(pair_keys), len(replays)), np.int64)
        for i, (init_keys, init_counts, *_) in enumerate(replays):
            counts0[np.searchsorted(pair_keys, init_keys), i] = init_counts
        steps = np.concatenate([np.repeat(np.arange(n_steps), np.diff(r[2])) for r in replays])
        order = np.argsort(steps, kind="stable")  # step order; categories in order within a step
        cats = np.concatenate([np.full(len(r[3]), i, np.int64) for i, r in enumerate(replays)])[order]
        pids = np.searchsorted(pair_keys, np.concatenate([r[3] for r in replays]))[order]
        deltas = np.concatenate([r[4] for r in replays])[order]
        bounds = np.searchsorted(steps[order], np.arange(n_steps + 1))
        scale = BYTES_UNIT / np.asarray(sample_bytes, np.float64)
        return cls(counts0, bounds.astype(np.int64), pids.astype(np.int64), cats, deltas.astype(np.int64),
                   np.searchsorted(pair_keys, merge_keys).astype(np.int64), pair_keys, scale)


@dataclass(frozen=True)
class Solution:
    """The LP's answer: ``alpha`` (one share per category, summing to 1), the total slack
    (``objective``, in pair occurrences per MB) split into its step and pair parts, how many
    constraints the last LP held and after how many rounds no constraint was violated."""

    alpha: np.ndarray
    objective: float
    step_slack: float
    pair_slack: float
    constraints: int
    rounds: int


def solve(counts: MergeCounts, *, per_step: int = PER_STEP, max_new: int = MAX_NEW,
          first_stage: int = FIRST_STAGE, tolerance: float = TOLERANCE, on_round: Callable[[int, int, float], None] | None = None) -> Solution:
    """Lazy constraint generation: scan for violated constraints at the current solution, add
    them, solve the LP again (HiGHS), until none is violated. A round adds at most ``per_step``
    constraints per step, and stops at the step where it has found ``max_new``, or as many as the LP
    holds (so the LP at most doubles per round: few rounds). The loop also stops when the
    constraints still violated would raise the objective by less than ``GAP`` of it (raising each
    step's slack by its largest violation is feasible), so the answer is within that share of the
    LP's optimum. The merges enter in stages
    (``first_stage`` steps, then twice as many, ... up to all): the early merges, with the largest
    counts, set the mixture, so the later stages start close to it and add fewer constraints.
    ``on_round(round, constraints, objective)`` is called after each solve."""
    if per_step < 1 or max_new < 1 or first_stage < 1:
        raise ConfigError(f"per_step, max_new and first_stage must be >= 1, got {per_step}, {max_new}, {first_stage}")
    n_cats = len(counts.scale)
    alpha = np.full(n_cats, 1.0 / n_cats)
    step_slack = np.zeros(counts.n_steps)
    pair_slack = np.zeros(len(counts.pair_keys))
    rows_t, rows_p, rows_d = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, n_cats), np.int64)
    solution = Solution(alpha, 0.0, 0.0, 0.0, 0, 0)
    limit = 0
    while limit < counts.n_steps:
        limit = min(counts.n_steps, max(first_stage, 2 * limit))
        while True:
            new_t, new_p, new_d, excess, scanned = violations(
                counts.counts0, alpha * counts.scale, pair_slack, step_slack, counts.merge_pids, counts.bounds,
                counts.pids, counts.cats, counts.deltas, key_set((rows_t << 32) | rows_p), per_step,
                max(max_new, len(rows_t)), tolerance, limit)
            if len(new_t) == 0:
                break
            # raising each step's slack by its largest violation makes the solution feasible: when
            # that costs less than GAP of the objective (and the scan saw every step), it is GAP-optimal
            if scanned == limit and np.maximum.reduceat(excess, np.flatnonzero(np.r_[True, np.diff(new_t) > 0])).sum() \
                    <= GAP * max(solution.objective, 1e-9):
                break
            rows_t = np.concatenate([rows_t, new_t])
            rows_p = np.concatenate([rows_p, new_p])
            rows_d = np.concatenate([rows_d, new_d])
            alpha, step_slack, pair_slack, objective, _ = _solve_lp(counts, rows_t, rows_p, rows_d)
            solution = Solution(alpha, objective, float(step_slack.sum()), float(pair_slack.sum()),
                                len(rows_t), solution.rounds + 1)
            if on_round is not None:
                on_round(solution.rounds, len(rows_t), objective)
    return solution


def _solve_lp(counts: MergeCounts, rows_t: np.ndarray, rows_p: np.ndarray, rows_d: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, np.ndarray]:
    """The LP over the constraints (step, pair, count differences) with HiGHS: (alpha, the slack
    of every step, of every pair, objective, which rows are binding)."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix

    n_cats, n_rows = len(counts.scale), len(rows_t)
    # variables: alpha (n_cats), then one slack per step with a constraint, then one per pair
    steps, step_var = np.unique(rows_t, return_inverse=True)
    pairs, pair_var = np.unique(rows_p, return_inverse=True)
    n_vars = n_cats + len(steps) + len(pairs)
    # each row: -sum_i alpha_i scale_i diff_i - v_t - v_p <= 0
    cols = np.concatenate([np.tile(np.arange(n_cats), n_rows), n_cats + step_var, n_cats + len(steps) + pair_var])
    data = np.concatenate([-(rows_d * counts.scale).ravel(), -np.ones(2 * n_rows)])
    row_of = np.concatenate([np.repeat(np.arange(n_rows), n_cats), np.arange(n_rows), np.arange(n_rows)])
    a_ub = csr_matrix((data, (row_of, cols)), shape=(n_rows, n_vars))
    a_eq = csr_matrix((np.ones(n_cats), (np.zeros(n_cats, np.int64), np.arange(n_cats))), shape=(1, n_vars))
    cost = np.concatenate([np.zeros(n_cats), np.ones(n_vars - n_cats)])
    bounds = np.array([(0.0, 1.0)] * n_cats + [(0.0, np.inf)] * (n_vars - n_cats))
    result = linprog(cost, A_ub=a_ub, b_ub=np.zeros(n_rows), A_eq=a_eq, b_eq=[1.0], bounds=bounds, method="highs")
    if result.status != 0:
        raise ConfigError(f"the mixture LP could not be solved (HiGHS: {result.message}); "
                          "please report this with the tokenizer and samples used")
    x = result.x
    alpha = np.clip(x[:n_cats], 0.0, None)
    step_slack = np.zeros(counts.n_steps)
    step_slack[steps] = x[n_cats: n_cats + len(steps)]
    pair_slack = np.zeros(len(counts.pair_keys))
    pair_slack[pairs] = x[n_cats + len(steps):]
    size = np.abs(a_ub).max(axis=1).toarray().ravel()
    binding = result.slack <= 1e-7 * (1.0 + size)
    return alpha / alpha.sum(), step_slack, pair_slack, float(result.fun), binding
