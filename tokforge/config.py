"""The one training configuration schema (every CLI option and API argument maps to a field).

    >>> TrainConfig(vocab_size=1000, pattern="gpt2").vocab_size
    1000
    >>> TrainConfig(vocab_size=10)
    Traceback (most recent call last):
    ...
    tokforge.errors.ConfigError: vocab_size 10 is smaller than the 1 special tokens + 256 byte tokens; use at least 257

| field            | default             | meaning |
|------------------|---------------------|---------|
| algo             | "bpe"               | training algorithm: "bpe" (byte-level BPE) or "unigram" (byte-level Unigram LM) |
| vocab_size       | 32000               | final vocabulary size, special and byte tokens included |
| min_frequency    | 2                   | bpe: stop merging when the best pair occurs fewer times; unigram: least frequency of a seed piece |
| special_tokens   | ("<|endoftext|>",)  | never split or merged, get the first ids, removed from training text |
| max_token_length | None                | longest learned token in bytes (None: no limit; unigram: 16 characters) |
| normalizer       | ("none",)           | "none", "nfc", "nfkc", "lowercase", applied in order |
| pattern          | "cl100k"            | split regex preset ("gpt2", "cl100k", "o200k", "whitespace") or a custom regex |
| digits           | "none"              | digit policy applied before the split: "none", "single", "ltr3", "rtl3" |
| text_field       | "text"              | field/column holding the text in .jsonl, .parquet and datasets |
| errors           | "strict"            | invalid UTF-8 policy: "strict", "replace", "skip" |
| held_out         | 0.01                | fraction of documents held out to measure bytes/token (max 2 MB) |
| seed             | 0                   | seed of the held-out sampling (training itself is deterministic) |
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from tokforge.corpus import ERROR_POLICIES
from tokforge.errors import ConfigError
from tokforge.pretokenizers import DIGIT_POLICIES

ALGORITHMS = ("bpe", "unigram")


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
    text_field: str = "text"
    errors: str = "strict"
    held_out: float = 0.01
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "special_tokens", tuple(self.special_tokens))
        norm = (self.normalizer,) if isinstance(self.normalizer, str) else tuple(self.normalizer)
        object.__setattr__(self, "normalizer", norm)
        if self.algo not in ALGORITHMS:
            raise ConfigError(f"algo {self.algo!r} is not available; choose one of {', '.join(ALGORITHMS)}")
        n_fixed = len(set(self.special_tokens)) + 256
        if not isinstance(self.vocab_size, int) or self.vocab_size < n_fixed:
            raise ConfigError(f"vocab_size {self.vocab_size} is smaller than the {len(set(self.special_tokens))} "
                              f"special tokens + 256 byte tokens; use at least {n_fixed}")
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
