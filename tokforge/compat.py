"""Which stages compose with which algorithm: the composition matrix, in one place.

The factors are the algorithm (:data:`ALGORITHMS`: BPE, SuperBPE, Unigram in both layouts, the morph
hybrid with either fallback), the normalizer, the digit policy, the number stage and the special
tokens. Each combination either trains (and round-trips, saves and reloads, gives shards equal to
``encode_batch``, and saves a folder that transformers loads with identical ids: through tokenizer.json,
or, where :func:`hf_limit` says why tokenizer.json cannot express it, through tokforge's tokenizer
class (``trust_remote_code=True``)) or is refused when the config is made:
:func:`check` (called by ``TrainConfig``) raises the ConfigError of the first rule of
:data:`REFUSALS` that applies.

:data:`CELLS` are the combinations the matrix test (``tests/test_matrix.py``) trains: every
algorithm x digit policy x number stage, each with one normalizer and one special-token set chosen
so that every pair of factor values appears in some cell that trains (pairwise coverage; the
normalizer and the special tokens act before the number stage and the split, on text, so a pair is
where they could meet). :func:`matrix_table` is the README's table of them.

    >>> check({"algo": "morph", "numbers": "tst-marker"}) is None  # every combination composes today
    True
    >>> Cell("unigram-metaspace", "nfkc", "rtl3", "tst-marker", "several").options()["pattern"]
    'metaspace'
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import combinations, product
from typing import Any, Callable, Mapping

from tokforge.errors import ConfigError

#: The algorithms of the matrix, as ``TrainConfig`` options.
ALGORITHMS: dict[str, dict[str, str]] = {
    "bpe": {"algo": "bpe"},
    "superbpe": {"algo": "superbpe"},
    "unigram": {"algo": "unigram"},
    "unigram-metaspace": {"algo": "unigram", "pattern": "metaspace"},
    "morph-bpe": {"algo": "morph", "morph_fallback": "bpe"},
    "morph-unigram": {"algo": "morph", "morph_fallback": "unigram"},
}
NORMALIZERS: tuple[str, ...] = ("none", "nfkc", "lowercase", "collapse_whitespace")
DIGITS: tuple[str, ...] = ("none", "single", "rtl3")
NUMBERS: tuple[str, ...] = ("none", "tst-marker", "tst-vocab")
#: Special-token sets; the matrix's text holds ``<|im_start|>``, so "several" has one that occurs in it.
SPECIALS: dict[str, tuple[str, ...] | None] = {
    "default": None,  # TrainConfig's default, <|endoftext|>
    "several": ("<|endoftext|>", "<pad>", "<|im_start|>"),
    "none": (),
}
FACTORS = ("algorithm", "normalizer", "digits", "numbers", "specials")


@dataclass(frozen=True)
class Refusal:
    """A combination refused when the config is made: where it ``applies`` (to the config's options)
    and ``why``, the message of its ConfigError (formatted with the options)."""

    applies: Callable[[Mapping[str, Any]], bool]
    why: str
    short: str  # the README table's footnote


#: The combinations refused at config time, each with the reason: none today (the rule is kept so
#: that a refusal has one place, its message and its README footnote). (A sentencepiece-style
#: ``pattern="metaspace"`` with an algorithm other than Unigram is the layout's own check, in
#: ``TrainConfig``; the matrix gives metaspace to Unigram only.)
REFUSALS: tuple[Refusal, ...] = ()


def check(options: Mapping[str, Any]) -> None:
    """ConfigError when the options (``TrainConfig``'s fields, or some of them) are a refused combination."""
    for rule in REFUSALS:
        if rule.applies(options):
            raise ConfigError(rule.why.format(**{"numbers": "none", **options}))


def refusal(options: Mapping[str, Any]) -> Refusal | None:
    """The rule that refuses these options, or None."""
    return next((rule for rule in REFUSALS if rule.applies(options)), None)


#: Why tokenizer.json cannot express a part (its folder loads in transformers through tokforge's class).
HF_LIMITS = {
    "morph": "the morph stage (root-affix analysis, case markers) has no tokenizer.json step",
    "tst-vocab": "tst-vocab's 9,990 fixed triad tokens cannot be matched after the normalizer in tokenizer.json",
}


def hf_limit(options: Mapping[str, Any]) -> str | None:
    """Why tokenizer.json cannot express a tokenizer trained with these options (None: it can)."""
    if options.get("algo") == "morph":
        return HF_LIMITS["morph"]
    if options.get("numbers") == "tst-vocab":
        return HF_LIMITS["tst-vocab"]
    return None


@dataclass(frozen=True)
class Cell:
    """One combination of the matrix: a value of each factor (keys of the tables above)."""

    algorithm: str
    normalizer: str
    digits: str
    numbers: str
    specials: str

    def options(self) -> dict[str, Any]:
        """The ``TrainConfig`` options of the cell's pipeline (sizes are the caller's)."""
        out: dict[str, Any] = {**ALGORITHMS[self.algorithm], "normalizer": (self.normalizer,),
                               "digits": self.digits, "numbers": self.numbers}
        if SPECIALS[self.specials] is not None:
            out["special_tokens"] = SPECIALS[self.specials]
        return out

    @property
    def refusal(self) -> Refusal | None:
        return refusal(self.options())

    @property
    def hf_limit(self) -> str | None:
        return hf_limit(self.options())

    @property
    def id(self) -> str:
        return "-".join(getattr(self, f) for f in FACTORS)


def _pairs(values: tuple[str, ...]) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    return {((a, values[i]), (b, values[j])) for (i, a), (j, b) in combinations(enumerate(FACTORS), 2)}


def covered_pairs(cells: list[Cell]) -> set[tuple[tuple[str, str], tuple[str, str]]]:
    """The pairs of factor values that appear together in a cell that trains."""
    return {p for c in cells if c.refusal is None for p in _pairs(tuple(getattr(c, f) for f in FACTORS))}


def every_cell() -> list[Cell]:
    """Every combination of the factors' values (the full matrix)."""
    values = (tuple(ALGORITHMS), NORMALIZERS, DIGITS, NUMBERS, tuple(SPECIALS))
    return [Cell(*combo) for combo in product(*values)]


def _cells() -> list[Cell]:
    """Every algorithm x digits x numbers; the normalizer and the special tokens of each cell chosen
    greedily (a choice that covers the most pairs not yet covered by a cell that trains); then, while a
    pair that some trainable combination has is not covered (an algorithm with fewer trainable cells
    than normalizers), the combination that covers the most of them."""
    cells: list[Cell] = []
    covered: set = set()
    for algorithm, numbers, digits in product(ALGORITHMS, NUMBERS, DIGITS):
        options = [Cell(algorithm, n, digits, numbers, s) for s, n in product(SPECIALS, NORMALIZERS)]
        if options[0].refusal is not None:  # nothing is tested past the refusal: the defaults
            cells.append(options[0])
            continue
        turn = len(cells) % len(options)  # ties: a different choice each cell, so the rest vary too
        best = max(options[turn:] + options[:turn], key=lambda c: len(covered_pairs([c]) - covered))
        covered |= covered_pairs([best])
        cells.append(best)
    everything = every_cell()
    while missing := covered_pairs(everything) - covered:
        best = max(everything, key=lambda c: len(covered_pairs([c]) & missing))
        covered |= covered_pairs([best])
        cells.append(best)
    return cells


_tested_cells = functools.cache(_cells)


def __getattr__(name: str) -> Any:
    """``CELLS`` is chosen on first use (about 25 ms): training, which imports this module, never needs it."""
    if name == "CELLS":
        return _tested_cells()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def matrix_table() -> str:
    """The README's table of :data:`CELLS` (Markdown): a row per algorithm and number stage, a column
    per digit policy; each cell says what it does, with the normalizer and special tokens it is tested
    with.

    >>> matrix_table().splitlines()[2].startswith("| bpe | none |")
    True
    """
    notes: list[str] = []

    def note(text: str) -> str:
        if text not in notes:
            notes.append(text)
        return f"({chr(ord('a') + notes.index(text))})"

    by_key: dict[tuple[str, str, str], list[Cell]] = {}
    for c in _tested_cells():
        by_key.setdefault((c.algorithm, c.numbers, c.digits), []).append(c)
    rows = ["| algorithm | numbers | " + " | ".join(f"digits {d}" for d in DIGITS) + " |",
            "|---|---|" + "---|" * len(DIGITS)]
    for algorithm, numbers in product(ALGORITHMS, NUMBERS):
        entries = []
        for digits in DIGITS:
            cell, *more = by_key[(algorithm, numbers, digits)]
            if cell.refusal is not None:
                entries.append(f"refused {note(cell.refusal.short)}")
                continue
            hf = "yes" if cell.hf_limit is None else f"through tokforge's class {note(cell.hf_limit)}"
            entries.append(f"{hf}: " + "; ".join(f"{c.normalizer}, {c.specials}" for c in (cell, *more)))
        rows.append(f"| {algorithm} | {numbers} | " + " | ".join(entries) + " |")
    rows.append("")
    rows += [f"({chr(ord('a') + k)}) {text}" + ("  " if k < len(notes) - 1 else "") for k, text in enumerate(notes)]
    return "\n".join(rows)
