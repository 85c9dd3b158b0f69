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
(``kernels/mixture_scan.py``), add them to the LP and solve it again, until the solution violates
none. The LP is one HiGHS model changed in place: new rows (and the slack columns they bring)
keep the last optimal basis dual feasible, so each round is a few dual simplex iterations from
where the previous one ended instead of a solve from scratch; rows that are basic at an optimum
(not binding) leave the model, so it stays small. Pairs and steps that never appear in a
constraint have no slack variable.

    >>> counts = MergeCounts.build([replay_a, replay_b], merges, [1e6, 1e6])   # doctest: +SKIP
    >>> solve(counts).alpha                                                   # doctest: +SKIP
    array([0.25, 0.75])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from tokforge.errors import ConfigError
from tokforge.kernels.mixture_scan import count_peaks, key_set, violations

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
    of category ``i`` to occurrences per MB; ``peaks[p, i]``: pair ``p``'s largest count over the
    steps; ``merged[t, i]``: the merged pair's count at step ``t`` (``count_peaks``)."""

    counts0: np.ndarray
    bounds: np.ndarray
    pids: np.ndarray
    cats: np.ndarray
    deltas: np.ndarray
    merge_pids: np.ndarray
    pair_keys: np.ndarray
    scale: np.ndarray
    peaks: np.ndarray
    merged: np.ndarray

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
        bounds, pids, deltas = bounds.astype(np.int64), pids.astype(np.int64), deltas.astype(np.int64)
        merge_pids = np.searchsorted(pair_keys, merge_keys).astype(np.int64)
        return cls(counts0, bounds, pids, cats, deltas, merge_pids, pair_keys, scale,
                   *count_peaks(counts0, merge_pids, bounds, pids, cats, deltas))


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
          first_stage: int = FIRST_STAGE, tolerance: float = TOLERANCE,
          on_round: Callable[[int, int, float], None] | None = None) -> Solution:
    """Lazy constraint generation: scan for violated constraints at the current solution, add
    them, solve the LP again (HiGHS, from the last basis), until none is violated. A round adds at
    most ``per_step`` constraints per step (the most violated), and stops at the step where it has
    found ``max_new``, or as many as the LP holds (so the LP at most doubles per round: few
    rounds). The loop also stops when the constraints still violated would raise the objective by
    less than ``GAP`` of it (raising each step's slack by its largest violation is feasible), so
    the answer is within that share of the LP's optimum. The merges enter in stages
    (``first_stage`` steps, then twice as many, ... up to all): the early merges, with the largest
    counts, set the mixture, so the later stages start close to it and add fewer constraints.
    After a solve that raised the objective, the rows that are not binding are dropped (the
    solution stays optimal without them; a dropped row comes back if it is violated again). The
    objective never falls, and rows are dropped only at a higher objective than the last time, so
    no set of rows comes back and the loop ends. ``on_round(round, constraints, objective)`` is
    called after each solve."""
    if per_step < 1 or max_new < 1 or first_stage < 1:
        raise ConfigError(f"per_step, max_new and first_stage must be >= 1, got {per_step}, {max_new}, {first_stage}")
    program = _Program(counts)
    n_cats = len(counts.scale)
    alpha = np.full(n_cats, 1.0 / n_cats)
    step_slack = np.zeros(counts.n_steps)
    pair_slack = np.zeros(len(counts.pair_keys))
    solution = Solution(alpha, 0.0, 0.0, 0.0, 0, 0)
    dropped_at = 0.0  # the objective when loose rows were last dropped
    limit = 0
    while limit < counts.n_steps:
        limit = min(counts.n_steps, max(first_stage, 2 * limit))
        while True:
            new_t, new_p, new_d, excess, scanned = violations(
                counts.counts0, counts.peaks, counts.merged, alpha * counts.scale, pair_slack, step_slack,
                counts.merge_pids, counts.bounds, counts.pids, counts.cats, counts.deltas, key_set(program.keys),
                per_step, max(max_new, program.n_rows), tolerance, limit)
            if len(new_t) == 0:
                break
            # raising each step's slack by its largest violation makes the solution feasible: when
            # that costs less than GAP of the objective (and the scan saw every step), it is GAP-optimal
            if scanned == limit and np.maximum.reduceat(excess, np.flatnonzero(np.r_[True, np.diff(new_t) > 0])).sum() \
                    <= GAP * max(solution.objective, 1e-9):
                break
            program.add(new_t, new_p, new_d)
            alpha, step_slack, pair_slack, objective = program.solve()
            if objective > dropped_at + 1e-9 * max(1.0, objective):
                program.drop_basic_rows()
                dropped_at = objective
            solution = Solution(alpha, objective, float(step_slack.sum()), float(pair_slack.sum()),
                                program.n_rows, solution.rounds + 1)
            if on_round is not None:
                on_round(solution.rounds, program.n_rows, objective)
    return solution


class _Program:
    """The LP as one HiGHS model. Columns: ``alpha`` (``0..n_cats-1``, bounds [0, 1], cost 0),
    then a slack column (bounds [0, inf), cost 1) per step and per pair, made when a row first
    needs it. Rows: ``sum(alpha) = 1``, then one per constraint (step t, pair p),
    ``sum_i alpha_i scale_i diff_i + v_t + v_p >= 0``; ``keys`` holds ``(t << 32) | p`` of each
    constraint row, in blocks as added."""

    def __init__(self, counts: MergeCounts):
        import highspy  # 0.7 s to import: only when an LP is solved, not with the command line

        self._highspy = highspy
        self.infinity = highspy.kHighsInf
        n_cats = len(counts.scale)
        self.scale = counts.scale
        # highspy.Highs prints a banner to stdout as it is made; its base class _Highs (exported by
        # highspy) is the same solver without the callbacks that print it
        self.highs = getattr(highspy, "_Highs", highspy.Highs)()
        self.highs.setOptionValue("output_flag", False)
        # each round re-solves from the last basis with the dual simplex (presolve would throw the
        # basis away); with Dantzig pricing the benchmark's LP took half the time of the default
        # (dual steepest edge) and less than with Devex
        for name, value in (("presolve", "off"), ("solver", "simplex"), ("simplex_strategy", 1),
                            ("simplex_dual_edge_weight_strategy", 0)):
            self.highs.setOptionValue(name, value)
        self.highs.addCols(n_cats, np.zeros(n_cats), np.zeros(n_cats), np.ones(n_cats), 0,
                           np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        self.highs.addRow(1.0, 1.0, n_cats, np.arange(n_cats, dtype=np.int32), np.ones(n_cats))
        self.n_cols = n_cats
        self.step_col = np.full(counts.n_steps, -1, np.int64)
        self.pair_col = np.full(len(counts.pair_keys), -1, np.int64)
        self._keys: list[np.ndarray] = []
        self.n_rows = 0

    @property
    def keys(self) -> np.ndarray:
        return np.concatenate(self._keys) if self._keys else np.zeros(0, np.int64)

    def add(self, steps: np.ndarray, pairs: np.ndarray, diffs: np.ndarray) -> None:
        """Rows for the constraints (steps[k], pairs[k]) with count differences ``diffs[k]``."""
        for ids, col in ((steps, self.step_col), (pairs, self.pair_col)):
            fresh = np.unique(ids[col[ids] < 0])
            if len(fresh):
                col[fresh] = self.n_cols + np.arange(len(fresh))
                self.highs.addCols(len(fresh), np.ones(len(fresh)), np.zeros(len(fresh)),
                                   np.full(len(fresh), self.infinity), 0, np.zeros(0, np.int32),
                                   np.zeros(0, np.int32), np.zeros(0))
                self.n_cols += len(fresh)
        n, n_cats = diffs.shape
        index = np.concatenate([np.tile(np.arange(n_cats), (n, 1)), self.step_col[steps, None],
                                self.pair_col[pairs, None]], axis=1).astype(np.int32)
        value = np.concatenate([diffs * self.scale, np.ones((n, 2))], axis=1)
        self.highs.addRows(n, np.zeros(n), np.full(n, self.infinity), index.size,
                           np.arange(0, index.size, n_cats + 2, dtype=np.int32), index.ravel(), value.ravel())
        self._keys.append((steps << 32) | pairs)
        self.n_rows += n

    def drop_basic_rows(self) -> None:
        """Delete the constraint rows whose slack is basic at the optimum (their dual is 0): the
        solution and the rest of the basis stay optimal without them."""
        basic = int(self._highspy.HighsBasisStatus.kBasic)
        status = self.highs.getBasis().row_status
        loose = np.fromiter(map(int, status), np.int64, len(status))[1:] == basic
        if loose.any():
            rows = np.flatnonzero(loose)
            self.highs.deleteRows(len(rows), (rows + 1).astype(np.int32))
            self._keys = [self.keys[~loose]]
            self.n_rows -= len(rows)

    def solve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Solve from the last basis: (alpha, the slack of every step, of every pair, objective)."""
        optimal = self._highspy.HighsModelStatus.kOptimal
        self.highs.run()
        if self.highs.getModelStatus() != optimal:  # e.g. numerical trouble from the old basis
            self.highs.clearSolver()
            self.highs.run()
        status = self.highs.getModelStatus()
        if status != optimal:
            raise ConfigError(f"the mixture LP could not be solved (HiGHS: {self.highs.modelStatusToString(status)}); "
                              "please report this with the tokenizer and samples used")
        x = np.asarray(self.highs.getSolution().col_value)
        n_cats = len(self.scale)
        alpha = np.clip(x[:n_cats], 0.0, None)
        step_slack = np.where(self.step_col >= 0, x[np.maximum(self.step_col, 0)], 0.0)
        pair_slack = np.where(self.pair_col >= 0, x[np.maximum(self.pair_col, 0)], 0.0)
        return alpha / alpha.sum(), step_slack, pair_slack, float(self.highs.getInfo().objective_function_value)
