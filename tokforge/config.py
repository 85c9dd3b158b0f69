"""The one training configuration schema (every CLI option and API argument maps to a field).

    >>> TrainConfig(vocab_size=1000, pattern="gpt2").vocab_size
    1000
    >>> TrainConfig(vocab_size=10)
    Traceback (most recent call last):
    ...
    tokforge.errors.ConfigError: vocab_size 10 is smaller than the 1 special tokens + 256 byte tokens; use at least 257

| field            | default             | meaning |
|------------------|---------------------|---------|
| algo             | "bpe"               | training algorithm: "bpe" (byte-level BPE), "superbpe" (BPE, then superwords), "unigram" (byte-level Unigram LM) or "morph" (root-affix stage + BPE or Unigram fallback) |
| vocab_size       | 32000               | final vocabulary size, special and byte tokens included |
| min_frequency    | 2                   | bpe: stop merging when the best pair occurs fewer times; unigram: least frequency of a seed piece |
| special_tokens   | ("<|endoftext|>",)  | never split or merged, get the first ids, removed from training text |
| max_token_length | None                | longest learned token in bytes (None: no limit; unigram: 16 characters) |
| normalizer       | ("none",)           | "none", "nfc", "nfkc", "lowercase", "collapse_whitespace" (sentencepiece's remove_extra_whitespaces: lossy), applied in order |
| pattern          | "cl100k"            | split regex preset ("gpt2", "cl100k", "o200k", "whitespace"), a custom regex, or "metaspace" (unigram only: sentencepiece-style "▁" and byte fallback; adds the special token "<unk>"); a name that looks like a preset ("cl100") or text without regex syntax is an error |
| digits           | "none"              | digit policy applied before the split: "none", "single", "ltr3", "rtl3" |
| numbers          | "none"              | number stage before the pretokenizer: "none", "tst-marker", "tst-vocab" (tokforge/text/numbers.py) |
| text_field       | "text"              | field/column holding the text in .jsonl, .parquet and datasets |
| errors           | "strict"            | invalid UTF-8 policy: "strict", "replace", "skip" |
| held_out         | 0.01                | fraction of documents left out of training (chosen by a seeded hash of their text); the first 2 MB of them measure bytes/token |
| seed             | 0                   | seed of the held-out sampling (training itself is deterministic) |
| transition       | 0.8                 | superbpe: vocabulary size where stage 2 starts (int), or a fraction of vocab_size |
| max_words        | 4                   | superbpe: most words (runs of non-whitespace) in one superword token |
| superword_pattern| "superword"         | superbpe: stage-2 split regex (preset or your own); the preset keeps newlines, digits and sentence punctuation + space as boundaries |
| workers          | 0                   | counting processes: 0 = all cores (one process for corpora under 32 MB); never changes the result |
| memory_budget    | "2GB"               | bytes (or "512MB", "2GB") the word-count tables of one process may take; beyond it the rarest words are dropped, reproducibly, and reported |
| morph_rules      | "tr"                | morph: rule set, "tr", "en" or the path of your JSON rule set (tokforge/models/morph/rules.py) |
| morph_roots      | 0.8                 | morph: share of the learnable vocabulary (after specials, stage and byte tokens) given to root tokens (the most frequent roots seen) |
| morph_fallback   | "bpe"               | morph: the statistical model for everything the stage leaves: "bpe" (byte-level BPE) or "unigram" (byte-level Unigram LM, as algo "unigram") |

Fields marked "superbpe:" or "morph:" apply to that algorithm only (``ALGORITHM_FIELDS``): a value other
than the default with another algorithm is a ConfigError, never silently ignored.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Callable

from tokforge.corpus.utf8 import ERROR_POLICIES
from tokforge.errors import ConfigError
from tokforge.text.numbers import number_stage
from tokforge.text.pretokenizers import DIGIT_POLICIES, METASPACE, PRESETS, check_split_pattern

ALGORITHMS = ("bpe", "superbpe", "unigram", "morph")

#: The fields that only some algorithms use, with those algorithms (every other field applies to
#: all). Giving one of them a value other than its default with another algorithm is an error
#: (``check_fields_apply``): it would be silently ignored.
ALGORITHM_FIELDS: dict[str, tuple[str, ...]] = {
    "transition": ("superbpe",),
    "max_words": ("superbpe",),
    "superword_pattern": ("superbpe",),
    "morph_rules": ("morph",),
    "morph_roots": ("morph",),
    "morph_fallback": ("morph",),
}


def check_fields_apply(algo: str, given: Any, spell: Callable[[str], str] = repr) -> None:
    """ConfigError if a field of ``given`` (names) is not used by ``algo``; ``spell`` writes a field's
    name in the message (the CLI: as its option).

    >>> check_fields_apply("bpe", ["vocab_size", "transition"])
    Traceback (most recent call last):
    ...
    tokforge.errors.ConfigError: 'transition' applies only to algo superbpe, not to algo 'bpe': ...
    """
    for name in given:
        users = ALGORITHM_FIELDS.get(name)
        if users is not None and algo not in users:
            raise ConfigError(f"{spell(name)} applies only to algo {' and '.join(users)}, not to algo {algo!r}: "
                              f"it would be ignored. Leave it out, or choose algo {' or '.join(users)}")


@dataclass(frozen=True)
class TrainConfig:
    algo: str = "bpe"
    vocab_size: int = 32000
    min_frequency: int = 2
    special_tokens: tuple[str, ...] = ("<|endoftext|>",)
    max_token_length: int | None = None
    normalizer: tuple[str, ...] = ("none",)
    pattern: str = "cl100k"
    digits: str = "none"
    numbers: str = "none"
    text_field: str = "text"
    errors: str = "strict"
    held_out: float = 0.01
    seed: int = 0
    transition: float | int = 0.8
    max_words: int = 4
    superword_pattern: str = "superword"
    workers: int = 0
    memory_budget: int | str = "2GB"
    morph_rules: str = "tr"
    morph_roots: float = 0.8
    morph_fallback: str = "bpe"

    def __post_init__(self) -> None:
        object.__setattr__(self, "special_tokens", tuple(self.special_tokens))
        if self.pattern == "metaspace":
            from tokforge.models.unigram import UNK_TOKEN
            if self.algo != "unigram":
                raise ConfigError(f"pattern 'metaspace' (sentencepiece-style: '▁' for spaces, byte fallback) is for "
                                  f"algo 'unigram', got algo {self.algo!r}; byte-level algorithms split with a "
                                  "preset such as 'whitespace' instead")
            if UNK_TOKEN not in self.special_tokens:  # HF's byte-fallback Unigram needs an unknown token
                object.__setattr__(self, "special_tokens", self.special_tokens + (UNK_TOKEN,))
        norm = (self.normalizer,) if isinstance(self.normalizer, str) else tuple(self.normalizer)
        object.__setattr__(self, "normalizer", norm)
        object.__setattr__(self, "memory_budget", parse_size(self.memory_budget, "memory_budget"))
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 0:
            raise ConfigError(f"workers must be a whole number >= 0 (0: all cores), got {self.workers!r}")
        if self.algo not in ALGORITHMS:
            raise ConfigError(f"algo {self.algo!r} is not available; choose one of {', '.join(ALGORITHMS)}")
        check_fields_apply(self.algo, [f.name for f in fields(self) if f.name in ALGORITHM_FIELDS
                                       and getattr(self, f.name) != f.default])
        check_split_pattern(self.pattern, "pattern", (*PRESETS, METASPACE))
        if self.algo == "superbpe":
            check_split_pattern(self.superword_pattern, "superword_pattern")
        n_reserved = self.n_reserved()  # ConfigError if the number stage is unknown
        n_fixed = len(set(self.special_tokens)) + n_reserved + 256
        if not isinstance(self.vocab_size, int) or self.vocab_size < n_fixed:
            reserved = f" + {n_reserved:,} fixed number tokens ({self.numbers})" if n_reserved else ""
            raise ConfigError(f"vocab_size {self.vocab_size} is smaller than the {len(set(self.special_tokens))} "
                              f"special tokens{reserved} + 256 byte tokens; use at least {n_fixed}")
        if self.vocab_size >= 2**31:
            raise ConfigError(f"vocab_size {self.vocab_size} is too large (max {2**31 - 1})")
        if len(set(self.special_tokens)) != len(self.special_tokens) or any(not s for s in self.special_tokens):
            raise ConfigError(f"special tokens must be unique and non-empty, got {list(self.special_tokens)}")
        if self.min_frequency < 1:
            raise ConfigError(f"min_frequency must be >= 1, got {self.min_frequency}")
        if self.max_token_length is not None and self.max_token_length < 2:
            raise ConfigError(f"max_token_length must be >= 2 bytes (or None), got {self.max_token_length}")
        if self.digits not in DIGIT_POLICIES:
            raise ConfigError(f"digits {self.digits!r} is unknown; choose one of {', '.join(DIGIT_POLICIES)}")
        if self.errors not in ERROR_POLICIES:
            raise ConfigError(f"errors {self.errors!r} is unknown; choose one of {', '.join(ERROR_POLICIES)}")
        if not 0.0 <= self.held_out <= 0.5:
            raise ConfigError(f"held_out must be a fraction between 0 and 0.5, got {self.held_out}")
        if self.algo == "unigram" and self.numbers != "none":
            raise ConfigError(f"numbers={self.numbers!r} is not supported with algo 'unigram' yet; "
                              "use numbers='none', or algo 'bpe'/'superbpe'")
        if self.algo == "superbpe":
            self.transition_size()
            if not isinstance(self.max_words, int) or self.max_words < 1:
                raise ConfigError(f"max_words must be a whole number >= 1, got {self.max_words!r}")

        if self.algo == "morph":
            self._check_morph()

    def _check_morph(self) -> None:
        from tokforge.models.morph.rules import load_rules
        from tokforge.models.morph.trainer import FALLBACKS

        if self.numbers != "none":
            raise ConfigError(f"algo 'morph' does not combine with numbers={self.numbers!r}; use numbers='none' "
                              "(digits policies such as rtl3 work)")
        if self.morph_fallback not in FALLBACKS:
            raise ConfigError(f"morph_fallback {self.morph_fallback!r} is not available; choose one of {', '.join(FALLBACKS)}")
        if isinstance(self.morph_roots, bool) or not isinstance(self.morph_roots, (int, float)) \
                or not 0.0 <= self.morph_roots <= 1.0:
            raise ConfigError(f"morph_roots must be a fraction between 0 and 1, got {self.morph_roots!r}")
        rules = load_rules(self.morph_rules)
        n_fixed = len(set(self.special_tokens)) + 2 + len(rules.affixes) + 256
        if self.vocab_size < n_fixed:
            raise ConfigError(f"vocab_size {self.vocab_size} is smaller than the {len(set(self.special_tokens))} special "
                              f"tokens + 2 case markers + {len(rules.affixes)} affix tokens of rule set "
                              f"{rules.name!r} + 256 byte tokens; use at least {n_fixed}")

    def n_reserved(self) -> int:
        """How many fixed tokens the number stage reserves (after the special tokens)."""
        stage = number_stage(self.numbers)
        return len(stage.reserved_tokens()) if stage else 0

    def transition_size(self) -> int:
        """SuperBPE's transition as a vocabulary size (``transition`` is a size or a fraction).

        >>> TrainConfig(algo="superbpe", vocab_size=64000, transition=0.75).transition_size()
        48000
        """
        t, n_fixed = self.transition, len(self.special_tokens) + self.n_reserved() + 256
        if isinstance(t, bool) or not isinstance(t, (int, float)):
            raise ConfigError(f"transition must be a vocabulary size or a fraction of vocab_size, got {t!r}")
        size = round(t * self.vocab_size) if isinstance(t, float) and t <= 1.0 else t
        if size != int(size) or not n_fixed <= size <= self.vocab_size:
            raise ConfigError(f"transition {t!r} gives a stage-1 vocabulary of {size}; it must lie between "
                              f"{n_fixed} (special, reserved and byte tokens) and vocab_size {self.vocab_size} "
                              "(give a size, or a fraction like 0.8)")
        return int(size)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["special_tokens"] = list(self.special_tokens)
        d["normalizer"] = list(self.normalizer)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown configuration keys {unknown}; valid keys: {sorted(known)}")
        return cls(**d)


_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "g": 1 << 30, "gb": 1 << 30,
          "t": 1 << 40, "tb": 1 << 40}
MIN_MEMORY_BUDGET = 1 << 20


def parse_size(value: int | str, name: str = "size") -> int:
    """A memory size in bytes from an int or a string such as "512MB", "2GB" or "1.5g" (powers of 1024).

    >>> parse_size("2GB"), parse_size("1.5m"), parse_size(4096 * 1024)
    (2147483648, 1572864, 4194304)
    """
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a size such as 512MB or 2GB, got {value!r}")
    if isinstance(value, int):
        size = value
    else:
        text = str(value).strip().lower().replace(" ", "").removesuffix("ib").removesuffix("i")
        number = text.rstrip("kmgtb")
        unit = text[len(number):]
        try:
            size = int(float(number) * _UNITS[unit])
        except (ValueError, KeyError):
            raise ConfigError(f"{name} {value!r} is not a size: give bytes or a number with KB, MB, GB or TB, "
                              "e.g. 512MB or 2GB") from None
    if size < MIN_MEMORY_BUDGET:
        raise ConfigError(f"{name} {value!r} is too small: give at least 1MB")
    return size
