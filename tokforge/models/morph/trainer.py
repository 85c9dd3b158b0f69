"""Training the morphology hybrid: root tokens for the most frequent roots, then the fallback model
(BPE or Unigram) on the text the stage leaves.

    >>> from tokforge.config import TrainConfig
    >>> from tokforge.counting.words import WordCounts
    >>> counts = WordCounts.from_dict({" evlerde": 5, " evde": 3, " kitaplar": 4, " 42": 2})
    >>> model, stage, report = train_morph(counts, TrainConfig(algo="morph", vocab_size=400, special_tokens=()))
    >>> stage.spaced_roots, stage.roots, report["fallback_unique_pieces"]
    (['ev', 'kitap'], [], 1)
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable

import numpy as np

from tokforge.counting.words import WordCounts
from tokforge.models.bpe_trainer import train_bpe_from_config
from tokforge.models.morph.compiled import compile_stage, plan_batch
from tokforge.models.morph.rules import load_rules
from tokforge.models.morph.stage import WORD_PIECE, MorphStage, root_token
from tokforge.models.protocol import Model
from tokforge.models.unigram_trainer import train_unigram_from_config

#: Trainers of the fallback model, by ``morph_fallback`` name: (word counts of what the stage leaves,
#: config, special + stage tokens (first ids), progress callback, stop report) -> a model whose vocabulary has
#: ``config.vocab_size`` tokens at most (Unigram: exactly) and that encodes text pieces
#: (``encode_pieces``). Each name is the model's ``algorithm`` (``tokforge.models.protocol``); the config's
#: choices of ``morph_fallback`` are these (``tokforge.config.MORPH_FALLBACKS``, checked by a test).
FALLBACK_TRAINERS: dict[str, Callable[..., Model]] = {
    "bpe": train_bpe_from_config, "unigram": train_unigram_from_config}
FALLBACKS = tuple(FALLBACK_TRAINERS)


def train_morph(counts: WordCounts, config, on_progress: Callable[[int], None] | None = None,
                stop_report: dict[str, Any] | None = None,
                reserved: tuple[str, ...] = ()) -> tuple[Model, MorphStage, dict[str, Any]]:
    """Train the hybrid on the pretokenized word counts of the corpus.

    Each unique piece is planned by the stage (as if its neighbours were not letters); the roots, after
    a space (``⟦ kitap⟧``: the space and the stem in one token) and elsewhere (``⟦kitap⟧``), the most
    frequent first, get tokens up to ``morph_roots`` of the learnable vocabulary (a root without a token
    there is text for the fallback model); the fallback model is then trained on the text the
    stage leaves (words without analysis, roots without a token, prefixes and all other pieces),
    so that the whole vocabulary (specials, ``reserved`` tokens of a number stage, stage tokens, bytes,
    merges) has ``vocab_size`` tokens (a BPE fallback may stop short: ``stop_report`` then gets
    ``"stopped"``, see ``train_bpe``). The planning is the stage's numba kernel (``plan_words``).
    """
    rules = load_rules(config.morph_rules)
    everything = MorphStage(rules)
    n_fixed = 2 + len(rules.affixes)
    root_names = list(rules.roots)
    units, _ = plan_words(everything, counts, has_token=lambda r, spaced: True)
    root_counts: Counter[tuple[str, bool]] = Counter()  # (root, after a space)
    for code, n in units.items():
        if code >= n_fixed:
            spaced, r = divmod(code - n_fixed, len(root_names))
            root_counts[root_names[r], bool(spaced)] += n
    base = len(config.special_tokens) + len(reserved) + n_fixed
    budget = int(config.morph_roots * max(0, config.vocab_size - base - 256))
    chosen = [r for r, n in sorted(root_counts.items(), key=lambda kv: (-kv[1], kv[0]))][:budget]
    stage = MorphStage(rules, [r for r, spaced in chosen if not spaced], [r for r, spaced in chosen if spaced])
    _, fallback = plan_words(stage, counts)
    if not fallback:
        fallback[b" "] = 1
    specials = tuple(config.special_tokens) + tuple(reserved) + tuple(stage.reserved_tokens())
    trainer = FALLBACK_TRAINERS[config.morph_fallback]
    model = trainer(WordCounts.from_dict(dict(fallback)), config, specials, on_progress, stop_report)
    analysed = sum(int(n) for w, n in counts.items() if WORD_PIECE.fullmatch(w.decode("utf-8")))
    report = {**stage.describe(), "fallback": config.morph_fallback, "roots_seen": len({r for r, _ in root_counts}),
              "root_occurrences": sum(root_counts.values()), "word_pieces": analysed,
              "fallback_unique_pieces": len(fallback)}
    return model, stage, report


def plan_words(stage: MorphStage, counts: WordCounts,
               has_token: Callable[[str, bool], bool] | None = None) -> tuple[Counter[int], Counter[bytes]]:
    """Plan each counted word on its own (no neighbours) with the stage: how often each stage token is
    used (by the planner's stage code, ``tokforge.kernels.morph``: root ``r`` is ``2 + affixes + r``, after
    a space ``2 + affixes + roots + r``) and each text the fallback model is left, weighted by the words'
    counts. ``has_token(root, after a space)``: which root tokens there are (default: the stage's)."""
    rules = stage.rules
    roots = list(rules.roots)
    has = has_token or stage.has_token
    n_fixed = 2 + len(rules.affixes)
    stage_codes = np.arange(n_fixed + 2 * len(roots), dtype=np.int64)
    stage_codes[n_fixed:] = np.where([has(r, False) for r in roots] + [has(r, True) for r in roots],
                                     stage_codes[n_fixed:], -1)
    code_of = {t: i for i, t in enumerate(everything_tokens(stage))}
    units: Counter[int] = Counter()
    texts: Counter[bytes] = Counter()
    tables = compile_stage(rules)
    n_words = len(counts)
    python = np.ones(n_words, np.bool_)
    if tables is not None and n_words:
        planned = plan_batch(tables, counts.arena.tobytes(), counts.offsets, np.arange(n_words + 1), stage_codes,
                             stage.version)
        python = planned.doc_python
        weight = np.repeat(counts.counts, np.diff(planned.doc_units))
        fixed = planned.codes >= 0
        for code, n in zip(*_summed(planned.codes[fixed], weight[fixed])):
            units[code] += n
        bounds = planned.text_bounds.tolist()
        for t, n in zip(*_summed(-1 - planned.codes[~fixed], weight[~fixed])):
            texts[planned.texts[bounds[t]:bounds[t + 1]]] += n
    for w in np.flatnonzero(python).tolist():
        n = int(counts.counts[w])
        for u in stage.plan(counts.word(w).decode("utf-8"), has_token=has):
            if u.token is not None:
                units[code_of[u.token]] += n
            elif u.text:
                texts[u.text.encode("utf-8")] += n
    return units, texts


def everything_tokens(stage: MorphStage) -> list[str]:
    """The stage tokens in the planner's stage-code order: case markers, affixes, every root of the rules,
    every root after a space."""
    return [*stage.reserved_tokens()[:2 + len(stage.rules.affixes)], *map(root_token, stage.rules.roots),
            *(root_token(r, spaced=True) for r in stage.rules.roots)]


def _summed(keys: np.ndarray, weights: np.ndarray) -> tuple[list[int], list[int]]:
    """The distinct keys (in order of first occurrence) and their summed weights."""
    distinct, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    sums = np.bincount(inverse, weights=weights, minlength=len(distinct)).astype(np.int64)
    order = np.argsort(first, kind="stable")
    return distinct[order].tolist(), sums[order].tolist()
