"""Training the morphology hybrid: root tokens for the most frequent roots, then the fallback model
(BPE or Unigram) on the text the stage leaves.

    >>> from tokforge.config import TrainConfig
    >>> from tokforge.counting.words import WordCounts
    >>> counts = WordCounts.from_dict({" evlerde": 5, " evde": 3, " kitaplar": 4, " 42": 2})
    >>> model, stage, report = train_morph(counts, TrainConfig(algo="morph", vocab_size=400, special_tokens=()))
    >>> stage.roots, report["fallback_unique_pieces"]
    (['ev', 'kitap'], 2)
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from tokforge.counting.words import WordCounts
from tokforge.models.bpe_trainer import train_bpe_from_config
from tokforge.models.morph.rules import load_rules
from tokforge.models.morph.stage import WORD_PIECE, MorphStage
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
                stop_report: dict[str, Any] | None = None) -> tuple[Model, MorphStage, dict[str, Any]]:
    """Train the hybrid on the pretokenized word counts of the corpus.

    Each unique piece is planned by the stage (as if its neighbours were not letters); roots with
    at least ``min_frequency`` occurrences, the most frequent first, get tokens up to
    ``morph_roots`` of the learnable vocabulary; the fallback model is then trained on the text the
    stage leaves (words without analysis, roots without a token, prefixes and all other pieces),
    so that the whole vocabulary (specials, stage tokens, bytes, merges) has ``vocab_size`` tokens
    (a BPE fallback may stop short: ``stop_report`` then gets ``"stopped"``, see ``train_bpe``).
    """
    rules = load_rules(config.morph_rules)
    words = [(w.decode("utf-8"), int(n)) for w, n in counts.items()]
    everything = MorphStage(rules)
    not_roots = set(everything.reserved_tokens())
    root_counts: Counter[str] = Counter()
    for word, n in words:
        for u in everything.plan(word, has_token=lambda r: True):
            if u.token is not None and u.token not in not_roots:
                root_counts[u.token[1:-1]] += n
    base = len(config.special_tokens) + 2 + len(rules.affixes)
    budget = int(config.morph_roots * max(0, config.vocab_size - base - 256))
    chosen = [r for r, n in sorted(root_counts.items(), key=lambda kv: (-kv[1], kv[0]))
              if n >= 1][:budget]
    stage = MorphStage(rules, chosen)
    fallback: Counter[str] = Counter()
    for word, n in words:
        for u in stage.plan(word):
            if u.token is None and u.text:
                fallback[u.text] += n
    if not fallback:
        fallback[" "] = 1
    specials = tuple(config.special_tokens) + tuple(stage.reserved_tokens())
    trainer = FALLBACK_TRAINERS[config.morph_fallback]
    model = trainer(WordCounts.from_dict(dict(fallback)), config, specials, on_progress, stop_report)
    analysed = sum(n for w, n in words if WORD_PIECE.fullmatch(w))
    report = {**stage.describe(), "fallback": config.morph_fallback, "roots_seen": len(root_counts),
              "root_occurrences": sum(root_counts.values()), "word_pieces": analysed,
              "fallback_unique_pieces": len(fallback)}
    return model, stage, report
