"""The one training configuration schema: ``TrainConfig``, every option of the CLI and the API, in
sections (``SECTIONS``). Each option is declared once, with its metadata (``Option``: section, help
text, the algorithms that use it, command-line flag and choices): the CLI builds its options from it
(``tokforge.cli.train``), the README's option table is made from it (``options_table``; a test
checks the README against it), and the check of options given to another algorithm reads it.

    >>> TrainConfig(vocab_size=1000, pattern="gpt2").vocab_size
    1000
    >>> [o.flag for o in options("superbpe")]
    ['--transition', '--max-words', '--superword-pattern']
    >>> TrainConfig(vocab_size=10)
    Traceback (most recent call last):
    ...
    tokforge.errors.ConfigError: vocab_size 10 is smaller than the 1 special tokens + 256 byte tokens; use at least 257

Options of one algorithm's section (``superbpe``, ``morph``) apply to that algorithm only
(``ALGORITHM_FIELDS``): a value other than the default with another algorithm is a ConfigError,
never silently ignored. A combination of stages an algorithm cannot take is refused here too, by
the rules of the composition matrix (``tokforge.compat``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Callable

from tokforge.compat import check as check_composition
from tokforge.corpus.utf8 import ERROR_POLICIES
from tokforge.errors import ConfigError
from tokforge.models.morph.rules import load_rules
from tokforge.models.protocol import check_training_args
from tokforge.processes import check_workers
from tokforge.text.layout import METASPACE_PATTERN, layout_of
from tokforge.text.numbers import NUMBER_MODES, number_stage
from tokforge.text.presets import DIGIT_POLICIES, PRESETS
from tokforge.text.pretokenizers import check_split_pattern

ALGORITHMS = ("bpe", "superbpe", "unigram", "morph")
MORPH_FALLBACKS = ("bpe", "unigram")  # the models the morph hybrid can fall back to (tokforge.models.morph.trainer)
SECTIONS = {
    "model": "the algorithm and the vocabulary",
    "pipeline": "the text before the model; these decide the counted words",
    "corpus": "reading the corpus, holding out documents, counting",
    "superbpe": "superbpe only",
    "morph": "morph only",
}


@dataclass(frozen=True)
class Option:
    """An option of ``TrainConfig``: the field ``name``, its default and its metadata."""

    name: str
    default: Any
    section: str                           # a key of SECTIONS
    help: str                              # the help of the CLI option and the README's table
    algorithms: tuple[str, ...] | None     # the algorithms that use it (None: every one)
    flag: str                              # the command-line flag
    type: type = str                       # what the command line parses (int, float, str)
    choices: tuple[str, ...] | None = None
    minimum: int | None = None             # the least value the command line takes
    multiple: bool = False                 # the flag is repeated, one value each time (a tuple)


def _option(default: Any, section: str, help: str, *, type: type = str, choices: tuple[str, ...] | None = None,
            minimum: int | None = None, flag: str | None = None, multiple: bool = False) -> Any:
    """A field of ``TrainConfig`` with its metadata (the field's name completes the ``Option``)."""
    return field(default=default, metadata={"option": dict(
        default=default, section=section, help=help, algorithms=(section,) if section in ALGORITHMS else None,
        flag=flag, type=type, choices=choices, minimum=minimum, multiple=multiple)})


@dataclass(frozen=True)
class TrainConfig:
    """The training configuration: the options below, by section (``options``; ``options_table``)."""

    # -- model: the algorithm and the vocabulary ---------------------------------------------------------
    algo: str = _option(
        "bpe", "model", choices=ALGORITHMS,
        help="Training algorithm: bpe (byte-level BPE), superbpe (BPE up to --transition, then superword tokens "
             "that cross spaces, e.g. ' by the way'), unigram (byte-level Unigram LM: sentencepiece's EM and "
             "pruning; encodes with the most likely segmentation), or morph (root-affix stage with shared "
             "allomorph ids and case markers, then --morph-fallback for the rest; transformers loads it through "
             "tokforge's tokenizer class). Options "
             "marked superbpe: or morph: apply to that algorithm only; giving one with another --algo is an error.")
    vocab_size: int = _option(
        32000, "model", type=int,
        help="Final vocabulary size, counting special tokens and the 256 byte tokens.")
    min_frequency: int = _option(
        2, "model", type=int,
        help="BPE: stop merging when the most frequent pair occurs fewer times than this. Unigram: seed pieces "
             "must occur at least this many times.")
    max_token_length: int | None = _option(
        None, "model", type=int,
        help="Longest learned token in bytes (default: no limit; Unigram: 16 characters).")
    # -- pipeline: the text before the model; these decide the counted words -----------------------------
    special_tokens: tuple[str, ...] = _option(
        ("<|endoftext|>",), "pipeline", flag="--special-token", multiple=True,
        help="A special token (repeat the option for several): never split, never merged, removed from the "
             "training text, given the first ids. Default: <|endoftext|>. Pass --no-special-tokens for none.")
    normalizer: tuple[str, ...] = _option(
        ("none",), "pipeline",
        help="Comma-separated normalizers applied in order: none, nfc, nfkc, lowercase, collapse_whitespace "
             "(whitespace runs become one space, none at the ends of a document: sentencepiece's default; "
             "lossy, like nfkc and lowercase).")
    pattern: str = _option(
        "cl100k", "pipeline",
        help=f"Pretokenizer split regex: a preset ({', '.join(PRESETS)}) or your own regex; or "
             f"'{METASPACE_PATTERN}' (--algo unigram only): sentencepiece's layout, '▁' for spaces and <0xNN> "
             "byte fallback tokens (adds the special token <unk>). A name that looks like a preset (cl100, "
             "GPT-2) or text without regex syntax is an error, not a literal regex.")
    digits: str = _option(
        "none", "pipeline", choices=DIGIT_POLICIES,
        help="Digit policy applied before the split: single digits, groups of up to 3 from the left (ltr3) "
             "or from the right (rtl3: 1234567 -> 1|234|567).")
    numbers: str = _option(
        "none", "pipeline", choices=NUMBER_MODES,
        help="Number stage before the pretokenizer (Triadic Suffix Tokenization): tst-marker puts a place "
             "marker token after every triad (1<e6>234<e3>567<e0>; exports to tokenizer.json); tst-vocab "
             "makes each triad+place one of 9,990 fixed tokens (tokenizer.json cannot express it: transformers "
             "loads it through tokforge's tokenizer class). See `tokforge numbers explain`.")
    # -- corpus: reading the corpus, holding out documents, counting --------------------------------------
    text_field: str = _option(
        "text", "corpus",
        help="Field (.jsonl) or column (.parquet, datasets) that holds the text.")
    errors: str = _option(
        "strict", "corpus", choices=ERROR_POLICIES,
        help="Invalid UTF-8: strict stops with the file and byte offset; replace substitutes U+FFFD; skip "
             "drops the line/record. Malformed JSON Lines records (not JSON, not an object, no string text "
             "field): skip drops them, strict and replace stop with the file and line. Counts are reported "
             "either way.")
    held_out: float = _option(
        0.01, "corpus", type=float,
        help="Fraction of documents (lines/records) left out of training, chosen by a seeded hash of their "
             "text; the first 2 MB of them measure bytes/token.")
    seed: int = _option(
        0, "corpus", type=int,
        help="Seed of the held-out sampling; same corpus + options + seed = same tokenizer.")
    workers: int = _option(
        0, "corpus", type=int, minimum=0,
        help="Threads or processes counting the corpus (0: all cores; processes only for corpora of 32 MB or "
             "more). Threads when compiled kernels do all the work (text files, no normalizer, a preset split, "
             "no number stage), else processes. The result is the same for any number.")
    memory_budget: int | str = _option(
        "2GB", "corpus",
        help="Memory the word-count tables of one process may take (e.g. 512MB, 2GB). Beyond it the rarest "
             "words are dropped (reproducibly, whatever --workers) and the report says how many.")
    # -- superbpe only ------------------------------------------------------------------------------------
    transition: float | int = _option(
        0.8, "superbpe",
        help="superbpe: where stage 2 starts, as a vocabulary size (48000) or a fraction of --vocab-size "
             "(0.8). Equal to --vocab-size gives plain BPE.")
    max_words: int = _option(
        4, "superbpe", type=int,
        help="superbpe: most words (runs of non-whitespace) in one superword token.")
    superword_pattern: str = _option(
        "superword", "superbpe",
        help="superbpe: stage-2 split regex. The 'superword' preset ends pieces only at digits (1-3 per piece), "
             "as the SuperBPE paper does, so superwords cross spaces, newlines and punctuation; "
             "'superword-sentences' also ends them at newlines and after . ! ? ; : followed by whitespace; "
             "or give your own regex.")
    # -- morph only ---------------------------------------------------------------------------------------
    morph_rules: str = _option(
        "tr", "morph",
        help="morph: rule set (roots, affix groups, phonological rules): tr, en, or the path of your JSON "
             "rule set (format in tokforge/models/morph/rules.py).")
    morph_roots: float = _option(
        0.8, "morph", type=float,
        help="morph: share of the learnable vocabulary given to root tokens (the most frequent roots of the "
             "corpus); the rest goes to the fallback model (--morph-fallback).")
    morph_fallback: str = _option(
        "bpe", "morph", choices=MORPH_FALLBACKS,
        help="morph: the model trained on, and encoding, everything the root-affix stage leaves (words "
             "without an analysis, roots without a token, numbers, punctuation, whitespace): bpe (byte-level "
             "BPE) or unigram (byte-level Unigram LM, as --algo unigram: most likely segmentation).")

    def __post_init__(self) -> None:
        object.__setattr__(self, "special_tokens", tuple(self.special_tokens))
        layout = layout_of(self.pattern)
        if layout.algorithms is not None and self.algo not in layout.algorithms:
            raise ConfigError(f"pattern {self.pattern!r} (sentencepiece-style: '▁' for spaces, byte fallback) is for "
                              f"algo {' or '.join(map(repr, layout.algorithms))}, got algo {self.algo!r}; byte-level "
                              "algorithms split with a preset such as 'whitespace' instead")
        if layout.unk_token is not None and layout.unk_token not in self.special_tokens:
            # HF's byte-fallback Unigram needs an unknown token
            object.__setattr__(self, "special_tokens", self.special_tokens + (layout.unk_token,))
        norm = (self.normalizer,) if isinstance(self.normalizer, str) else tuple(self.normalizer)
        object.__setattr__(self, "normalizer", norm)
        object.__setattr__(self, "memory_budget", parse_size(self.memory_budget, "memory_budget"))
        check_workers(self.workers)
        if self.algo not in ALGORITHMS:
            raise ConfigError(f"algo {self.algo!r} is not available; choose one of {', '.join(ALGORITHMS)}")
        check_fields_apply(self.algo, [f.name for f in fields(self) if f.name in ALGORITHM_FIELDS
                                       and getattr(self, f.name) != f.default])
        check_split_pattern(self.pattern, "pattern", (*PRESETS, METASPACE_PATTERN))
        if self.algo == "superbpe":
            check_split_pattern(self.superword_pattern, "superword_pattern")
        n_reserved = self.n_reserved()  # ConfigError if the number stage is unknown
        check_training_args(self.vocab_size, self.special_tokens, self.min_frequency, self.max_token_length,
                            (n_reserved, self.numbers))
        if self.digits not in DIGIT_POLICIES:
            raise ConfigError(f"digits {self.digits!r} is unknown; choose one of {', '.join(DIGIT_POLICIES)}")
        if self.errors not in ERROR_POLICIES:
            raise ConfigError(f"errors {self.errors!r} is unknown; choose one of {', '.join(ERROR_POLICIES)}")
        if not 0.0 <= self.held_out <= 0.5:
            raise ConfigError(f"held_out must be a fraction between 0 and 0.5, got {self.held_out}")
        check_composition({f.name: getattr(self, f.name) for f in fields(self)})
        if self.algo == "superbpe":
            self.transition_size()
            if not isinstance(self.max_words, int) or self.max_words < 1:
                raise ConfigError(f"max_words must be a whole number >= 1, got {self.max_words!r}")
        if self.algo == "morph":
            self._check_morph()

    def _check_morph(self) -> None:
        """The morph options, and room in the vocabulary for the tokens of the rule set (read here, once:
        a vocabulary too small for it is an error before any counting)."""
        if self.morph_fallback not in MORPH_FALLBACKS:
            raise ConfigError(f"morph_fallback {self.morph_fallback!r} is not available; choose one of "
                              f"{', '.join(MORPH_FALLBACKS)}")
        if isinstance(self.morph_roots, bool) or not isinstance(self.morph_roots, (int, float)) \
                or not 0.0 <= self.morph_roots <= 1.0:
            raise ConfigError(f"morph_roots must be a fraction between 0 and 1, got {self.morph_roots!r}")
        rules = load_rules(self.morph_rules)
        n_reserved = self.n_reserved()
        n_fixed = len(set(self.special_tokens)) + n_reserved + 2 + len(rules.affixes) + 256
        if self.vocab_size < n_fixed:
            numbers = f" + {n_reserved:,} fixed number tokens ({self.numbers})" if n_reserved else ""
            raise ConfigError(f"vocab_size {self.vocab_size} is smaller than the {len(set(self.special_tokens))} special "
                              f"tokens{numbers} + 2 case markers + {len(rules.affixes)} affix tokens of rule set "
                              f"{rules.name!r} + 256 byte tokens; use at least {n_fixed}")

    @property
    def model_algorithm(self) -> str:
        """The algorithm of the model trained: ``"bpe"`` (bpe, superbpe), ``"unigram"``, or the morph
        hybrid's fallback.

        >>> TrainConfig(algo="superbpe").model_algorithm, TrainConfig(algo="morph", morph_fallback="unigram").model_algorithm
        ('bpe', 'unigram')
        """
        return {"superbpe": "bpe", "morph": self.morph_fallback}.get(self.algo, self.algo)

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

    def section(self, name: str) -> dict[str, Any]:
        """The values of one section's options (``SECTIONS``), in declaration order.

        >>> TrainConfig(pattern="gpt2").section("pipeline")["pattern"]
        'gpt2'
        """
        return {o.name: getattr(self, o.name) for o in options(name)}

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


def options(section: str | None = None) -> list[Option]:
    """The options of ``TrainConfig`` (of one section, or all), in declaration order."""
    out = []
    for f in fields(TrainConfig):
        meta = dict(f.metadata["option"])
        meta["flag"] = meta["flag"] or "--" + f.name.replace("_", "-")
        if section is None or meta["section"] == section:
            out.append(Option(f.name, **meta))
    return out


#: The fields that only some algorithms use, with those algorithms (every other field applies to
#: all). Giving one of them a value other than its default with another algorithm is an error
#: (``check_fields_apply``): it would be silently ignored.
ALGORITHM_FIELDS: dict[str, tuple[str, ...]] = {o.name: o.algorithms for o in options() if o.algorithms}


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


def options_table() -> str:
    """The README's table of options (Markdown), one row an option, by section.

    >>> options_table().splitlines()[2].startswith("| **model**")
    True
    """
    rows = ["| option | default | meaning |", "|---|---|---|"]
    for section, title in SECTIONS.items():
        rows.append(f"| **{section}** | | {title} |")
        for o in options(section):
            default = ",".join(o.default) if isinstance(o.default, tuple) else o.default
            rows.append(f"| `{o.flag}` (`{o.name}`) | `{default}` | {o.help.replace('|', chr(92) + '|')} |")
    return "\n".join(rows)
