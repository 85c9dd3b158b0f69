"""``infer``: count each category's sample, replay the first T merges on it
(``kernels/pair_replay.py``) and solve the LP (``tokforge.mixture.lp``) for the shares.

    >>> result = infer("out/", {"en": "samples/en.txt", "code": "samples/code/"})   # doctest: +SKIP
    >>> result.proportions                                                         # doctest: +SKIP
    {'en': 0.6213, 'code': 0.3787}
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

from tokforge.config import parse_size
from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError
from tokforge.eval.plots import grouped_bars
from tokforge.kernels.pair_replay import replay_merges
from tokforge.mixture.lp import MergeCounts, solve
from tokforge.mixture.samples import (DEFAULT_SAMPLE_BYTES, MIN_SAMPLE_BYTES, Sample, categories_of, load_bpe,
                                      read_sample)
from tokforge.models.bpe import BPEModel
from tokforge.tokenizer import Tokenizer

DEFAULT_MERGES = 30_000             # merges used when not told (the paper's T); fewer if the list is shorter


def merge_rows(model: BPEModel, n_merges: int | None) -> np.ndarray:
    """The first ``n_merges`` merges (default: ``DEFAULT_MERGES`` or all) as int64 rows
    [left id, right id, result id].

    >>> merge_rows(BPEModel([b"a", b"b", b"ab"], [(0, 1)]), None).tolist()
    [[0, 1, 2]]
    """
    available = len(model.merges)
    if n_merges is None:
        n_merges = min(DEFAULT_MERGES, available)
    if not isinstance(n_merges, int) or isinstance(n_merges, bool) or n_merges < 1:
        raise ConfigError(f"merges must be a whole number >= 1, got {n_merges!r}")
    if n_merges > available:
        raise ConfigError(f"merges={n_merges:,} but the tokenizer has only {available:,} merges; "
                          f"give at most {available:,}")
    rows = np.empty((n_merges, 3), np.int64)
    rows[:, :2] = np.array(model.merges[:n_merges], np.int64).reshape(-1, 2)
    rows[:, 2] = model.merge_results()[:n_merges]
    return rows


def replay(model: BPEModel, counts: WordCounts, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """``kernels.pair_replay.replay_merges`` on a sample's words (as the tokenizer's byte tokens)."""
    byte_ids = model.tables()[0]
    syms = byte_ids[counts.arena].astype(np.int32)
    return replay_merges(syms, counts.offsets[:-1], np.diff(counts.offsets), counts.counts, rows)


def merges_in_samples(rows: np.ndarray, replays: Sequence[tuple[np.ndarray, ...]]) -> int:
    """How many of the merges occur in some sample at their step (the others add no constraint)."""
    keys = (rows[:, 0] << 32) | rows[:, 1]
    present = np.zeros(len(rows), bool)
    for _, _, bounds, changed, _ in replays:  # a merge present at its step loses all its count then
        steps = np.repeat(np.arange(len(rows)), np.diff(bounds))
        present[steps[changed == keys[steps]]] = True
    return int(present.sum())


@dataclass(frozen=True)
class MixtureResult:
    """What ``infer`` found: the share of each category (``proportions``, of bytes of text), the
    LP's objective (total slack, pair occurrences per MB) and how many constraints it needed."""

    tokenizer: str
    categories: list[str]
    alpha: list[float]
    merges: int
    merges_in_samples: int
    objective: float
    step_slack: float
    pair_slack: float
    constraints: int
    rounds: int
    sample_bytes: list[int]
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def proportions(self) -> dict[str, float]:
        return dict(zip(self.categories, self.alpha))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "proportions": self.proportions}

    def render(self) -> str:
        """The result as a short text table."""
        width = max(8, *map(len, self.categories))
        lines = [f"{'category':<{width}}  proportion  sample"]
        for name, share, nbytes in sorted(zip(self.categories, self.alpha, self.sample_bytes), key=lambda r: -r[1]):
            lines.append(f"{name:<{width}}  {share:10.4f}  {nbytes / 1e6:.2f} MB")
        lines.append(f"merges     {self.merges:,} used ({self.merges_in_samples:,} occur in the samples)")
        lines.append(f"LP         objective {self.objective:.6g} (slack: steps {self.step_slack:.6g}, pairs "
                     f"{self.pair_slack:.6g}; pair occurrences per MB), {self.constraints:,} constraints, "
                     f"{self.rounds} rounds")
        lines.append("time       " + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items()))
        return "\n".join(lines)


def infer(tokenizer: Tokenizer | str | Path, categories: Mapping[str, Any] | Sequence[Any], *,
          merges: int | None = None, sample_bytes: int | str = DEFAULT_SAMPLE_BYTES, text_field: str = "text",
          errors: str = "strict", progress: bool = False) -> MixtureResult:
    """Estimate the share of each category in the training text of ``tokenizer`` from its first
    ``merges`` merges (default 30,000, or all if fewer), reading at most ``sample_bytes`` of each
    category's text (int, or a size such as "50MB")."""
    started = time.perf_counter()
    tok, absent = load_bpe(tokenizer)
    cats = categories_of(categories)
    limit = sample_bytes if isinstance(sample_bytes, int) and not isinstance(sample_bytes, bool) else \
        parse_size(sample_bytes, "sample_bytes")
    if limit < MIN_SAMPLE_BYTES:
        raise ConfigError(f"sample_bytes={limit:,} is below the {MIN_SAMPLE_BYTES:,} bytes a sample needs")
    rows = merge_rows(tok.model, merges)
    samples = [read_sample(tok, c, limit, absent=absent, text_field=text_field, errors=errors, progress=progress)
               for c in cats]
    counted = time.perf_counter()
    result = infer_from_samples(tok.model, samples, rows, progress=progress,
                                source=str(tokenizer if not isinstance(tokenizer, Tokenizer) else "<tokenizer>"))
    return MixtureResult(**{**asdict(result), "seconds": {"count": round(counted - started, 3), **result.seconds}})


def infer_from_samples(model: BPEModel, samples: Sequence[Sample], rows: np.ndarray, *, progress: bool = False,
                       source: str = "<tokenizer>") -> MixtureResult:
    """The LP's estimate from samples already counted, for the merges ``rows`` (``merge_rows``)."""
    started = time.perf_counter()
    replays = []
    for sample in tqdm(samples, desc="replaying merges", unit="category", disable=not progress):
        replays.append(replay(model, sample.counts, rows))
    counts = MergeCounts.build(replays, rows, [s.nbytes for s in samples])
    replayed = time.perf_counter()
    with tqdm(desc="solving LP", unit="round", disable=not progress) as bar:
        def on_round(_: int, constraints: int, objective: float) -> None:
            bar.update(1)
            bar.set_postfix(constraints=constraints, objective=f"{objective:.4g}")
        solution = solve(counts, on_round=on_round)
    return MixtureResult(
        source, [s.name for s in samples], [float(a) for a in solution.alpha], len(rows),
        merges_in_samples(rows, replays), solution.objective, solution.step_slack, solution.pair_slack,
        solution.constraints, solution.rounds, [s.nbytes for s in samples],
        {"replay": round(replayed - started, 3), "solve": round(time.perf_counter() - replayed, 3)})


def write_plot(result: MixtureResult, folder: str | Path) -> Path:
    """A bar chart of the estimated shares: ``mixture.png`` in ``folder``."""
    rows = [{"tokenizer": Path(result.tokenizer).name or result.tokenizer, "category": c, "share": a}
            for c, a in zip(result.categories, result.alpha)]
    return grouped_bars(rows, "category", "share", "share of the training bytes",
                        f"Inferred training mixture ({result.merges:,} merges)", Path(folder) / "mixture.png")
