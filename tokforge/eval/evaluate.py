"""``tokforge eval``: measure tokenizers on a corpus, per domain, and on gold segmentations and
parallel text. The metrics themselves are the pure functions of ``tokforge.eval.metrics``; this module
streams the corpus, encodes each block once per tokenizer and sums what the metrics need.

    >>> from tokforge.eval.adapters import load_tokenizer                   # doctest: +SKIP
    >>> report = evaluate([load_tokenizer("out/")], ["corpora/"])     # doctest: +SKIP
    >>> report.rows[0]["bytes_per_token"]                             # doctest: +SKIP

Domains: each top-level subfolder of a corpus folder is a domain (``corpora/tr``), and so is each
corpus file directly inside it (named by its stem); a corpus file given directly is one domain.
Every domain is also summed into the domain ``ALL``.
"""
from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tokforge.background import prefetch
from tokforge.corpus import Corpus
from tokforge.errors import CorpusError, InputError
from tokforge.eval import metrics
from tokforge.eval.adapters import EvalTokenizer, TextBatch, from_tokforge
from tokforge.eval.gold import GoldSet
from tokforge.text import portable_regex

ALL = "ALL"
DEFAULT_MAX_DIGITS = 12      # digit runs longer than this are pooled with this length
DEFAULT_SAMPLE_WORDS = 2000  # distinct words per domain checked for non-unique encodings
LATTICE_MAX_BYTES = 32       # longer words are not checked (the lattice grows with the length)

_LETTERS = portable_regex.lazy(r"\p{L}+")  # a root of letters (not punctuation or numbers)


@dataclass
class Options:
    """What ``evaluate`` measures, and how the corpus is read."""

    alpha: float = metrics.DEFAULT_RENYI_ALPHA
    max_digits: int = DEFAULT_MAX_DIGITS
    sample_words: int = DEFAULT_SAMPLE_WORDS
    wordlist: set[str] | None = None
    wordlist_language: str | None = None  # case folding of the word list and tokens (tokforge.text.casing)
    text_field: str = "text"
    errors: str = "strict"
    progress: bool = False


@dataclass
class Tally:
    """What one tokenizer's metrics need from one domain, summed over blocks."""

    vocab_size: int
    max_digits: int
    bytes: int = 0
    chars: int = 0
    tokens: int = 0
    words: int = 0
    continued: int = 0
    unknown_bytes: int = 0  # bytes of the text encoded as unknown tokens (lost)
    id_counts: np.ndarray = None
    numbers_by_length: np.ndarray = None   # [count, pieces, rtl3-aligned] x length 0..max_digits
    surfaces: dict[int, str] = field(default_factory=dict)           # first text of each id used
    lattice: dict[bytes, tuple[bool, bool]] = field(default_factory=dict)  # word -> (non-unique, not shortest)

    def __post_init__(self) -> None:
        if self.id_counts is None:
            self.id_counts = np.zeros(self.vocab_size, np.int64)
        if self.numbers_by_length is None:
            self.numbers_by_length = np.zeros((3, self.max_digits + 1), np.float64)

    def merge(self, other: "Tally") -> None:
        for name in ("bytes", "chars", "tokens", "words", "continued", "unknown_bytes"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.id_counts += other.id_counts
        self.numbers_by_length += other.numbers_by_length
        for k, v in other.surfaces.items():
            self.surfaces.setdefault(k, v)
        self.lattice.update(other.lattice)

    def row(self, options: Options) -> dict[str, Any]:
        count, pieces, aligned = self.numbers_by_length
        numbers = int(count.sum())
        row = {
            "bytes": self.bytes, "chars": self.chars, "words": self.words, "tokens": self.tokens,
            "unknown_bytes": self.unknown_bytes, "unknown_share": metrics.ratio(self.unknown_bytes, self.bytes),
            "lossy": self.unknown_bytes > 0,  # then bytes/token counts text the tokens do not hold
            "bytes_per_token": metrics.ratio(self.bytes, self.tokens),
            "chars_per_token": metrics.ratio(self.chars, self.tokens),
            "fertility": metrics.ratio(self.tokens, self.words),
            "continued_words": metrics.ratio(self.continued, self.words),
            "vocab_used": metrics.vocab_utilisation(self.id_counts),
            "renyi_efficiency": metrics.renyi_efficiency(self.id_counts, options.alpha),
            "numbers": numbers,
            "number_pieces": metrics.ratio(float(pieces.sum()), numbers),
            "numbers_rtl3": metrics.ratio(float(aligned.sum()), numbers),
            "lattice_words": len(self.lattice),
            "non_unique": metrics.ratio(sum(a for a, _ in self.lattice.values()), len(self.lattice)),
            "not_shortest": metrics.ratio(sum(b for _, b in self.lattice.values()), len(self.lattice)),
        }
        if options.wordlist is not None:
            used = [s for i, s in self.surfaces.items() if self.id_counts[i]]
            valid, counted = metrics.valid_word_tokens(used, options.wordlist, options.wordlist_language)
            row["valid_word_tokens"] = metrics.ratio(valid, counted)
        row["numbers_by_length"] = {
            (f"{n}+" if n == self.max_digits else str(n)): {
                "count": int(count[n]), "pieces": metrics.ratio(float(pieces[n]), count[n]),
                "rtl3": metrics.ratio(float(aligned[n]), count[n])}
            for n in range(1, self.max_digits + 1) if count[n]}
        return row


class Measurer:
    """Adds encoded batches to a tokenizer's tallies."""

    def __init__(self, tok: EvalTokenizer, options: Options):
        self.tok, self.options = tok, options
        self.token_bytes = tok.token_bytes() if options.sample_words > 0 else None
        known = [t for t in self.token_bytes or () if t]
        self.vocab = set(known) if known else None
        self.longest = max(map(len, known), default=0)
        self.unknown = np.array(tok.unknown_ids(), np.int64)

    def new_tally(self) -> Tally:
        return Tally(self.tok.vocab_size, self.options.max_digits)

    def add(self, tally: Tally, batch: TextBatch, words: tuple[np.ndarray, np.ndarray],
            runs: tuple[np.ndarray, np.ndarray]) -> None:
        enc = self.tok.encode(batch)
        ids, starts, ends = enc.ids, enc.starts, enc.ends
        tally.bytes += len(batch.index.data)
        tally.chars += len(batch.index.text)
        tally.tokens += len(ids)
        if len(self.unknown) and len(ids):
            lost = np.isin(ids, self.unknown)
            tally.unknown_bytes += metrics.covered_bytes(starts[lost], ends[lost])
        if len(ids):
            counts = np.bincount(ids)
            if len(counts) > len(tally.id_counts):
                tally.id_counts = np.concatenate([tally.id_counts,
                                                  np.zeros(len(counts) - len(tally.id_counts), np.int64)])
            tally.id_counts[:len(counts)] += counts
        lo, hi = metrics.token_ranges(starts, ends, *words)
        tally.words += len(lo)
        tally.continued += metrics.continued_words(hi - lo)
        if len(runs[0]):
            pieces, aligned = metrics.number_pieces(starts, ends, *runs)
            lengths = np.minimum(runs[1] - runs[0], self.options.max_digits)
            table = tally.numbers_by_length
            table[0] += np.bincount(lengths, minlength=table.shape[1])
            table[1] += np.bincount(lengths, weights=pieces, minlength=table.shape[1])
            table[2] += np.bincount(lengths, weights=aligned, minlength=table.shape[1])
        if self.options.wordlist is not None and len(ids):
            uniq, first = np.unique(ids, return_index=True)
            data = batch.index.data
            for i, j in zip(uniq.tolist(), first.tolist()):
                if i not in tally.surfaces:
                    tally.surfaces[i] = data[starts[j]:ends[j]].decode("utf-8", errors="replace")
        if self.vocab is not None and len(tally.lattice) < self.options.sample_words:
            self._sample_lattice(tally, ids, lo, hi)

    def _sample_lattice(self, tally: Tally, ids: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Check distinct words for alternative segmentations until the sample is full. A word's
        string is the bytes of the tokens that cover it, its canonical length their number; words
        with a special token are left out."""
        id_list, token_bytes = ids.tolist(), self.token_bytes
        for a, b in zip(lo.tolist(), hi.tolist()):
            pieces = [token_bytes[i] for i in id_list[a:b]]
            if not pieces or None in pieces:
                continue
            key = b"".join(pieces)
            if len(key) > LATTICE_MAX_BYTES or key in tally.lattice:
                continue
            tally.lattice[key] = metrics.has_alternative(key, b - a, self.vocab, self.longest)
            if len(tally.lattice) >= self.options.sample_words:
                return


@dataclass
class Report:
    """Everything ``tokforge eval`` measured; ``tokforge.eval.report`` renders it."""

    tokenizers: list[dict[str, Any]]
    rows: list[dict[str, Any]] = field(default_factory=list)        # per tokenizer and domain
    morphology: list[dict[str, Any]] = field(default_factory=list)  # per tokenizer and gold file
    premium: list[dict[str, Any]] = field(default_factory=list)     # per tokenizer and language
    sweep: list[dict[str, Any]] = field(default_factory=list)       # per sweep vocab size and domain
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"tokenizers": self.tokenizers, "options": self.options, "domains": self.rows,
                "morphology": self.morphology, "premium": self.premium, "sweep": self.sweep}


def domains_of(paths: Sequence[str | os.PathLike], options: Options) -> list[tuple[str, list[Any]]]:
    """(domain name, corpus sources) for each domain of the given corpus paths (see the module
    docstring), in order; names are made unique."""
    out: list[tuple[str, list[Any]]] = []
    for path in paths:
        p = Path(path)
        corpus = Corpus([str(p)], text_field=options.text_field, errors=options.errors)
        files = corpus.files
        if not p.is_dir() or not files:  # one file, a glob or a saved dataset: one domain
            out.append((_stem(p), [str(p)]))
            continue
        groups: dict[str, list[Any]] = defaultdict(list)
        for f in files:
            top = f.relative_to(p).parts[0]
            groups[top if (p / top).is_dir() else _stem(Path(top))].append(str(f))
        out.extend(groups.items())
    names: dict[str, int] = {}
    unique = []
    for name, sources in out:
        names[name] = names.get(name, 0) + 1
        unique.append((name if names[name] == 1 else f"{name}-{names[name]}", sources))
    return unique


def _stem(p: Path) -> str:
    return p.name.split(".")[0] or p.name


def evaluate(tokenizers: Sequence[EvalTokenizer], corpus: Sequence[str | os.PathLike] = (),
             options: Options | None = None, report: Report | None = None) -> Report:
    """Measure each tokenizer on each domain of ``corpus`` (and on all of it: domain ``ALL``).

    The corpus is read once; each block of documents is encoded by every tokenizer.
    """
    options = options or Options()
    report = report or Report([t.describe() for t in tokenizers])
    measurers = [Measurer(t, options) for t in tokenizers]
    totals = [m.new_tally() for m in measurers]
    domains = domains_of(corpus, options)
    for name, sources in domains:
        tallies = [m.new_tally() for m in measurers]
        source = Corpus(sources, text_field=options.text_field, errors=options.errors,
                        progress=options.progress, desc=f"eval {name}")
        for block in prefetch(source.iter_blocks()):
            batch = TextBatch.from_block(block.data, block.bounds, block.documents())
            words = metrics.word_spans(batch.index, block.bounds)
            runs = metrics.digit_runs(batch.index, block.bounds)
            for m, t in zip(measurers, tallies):
                m.add(t, batch, words, runs)
        for m, t, total in zip(measurers, tallies, totals):
            report.rows.append({"tokenizer": m.tok.name, "domain": name, **t.row(options)})
            total.merge(t)
    if len(domains) > 1:
        for m, total in zip(measurers, totals):
            report.rows.append({"tokenizer": m.tok.name, "domain": ALL, **total.row(options)})
    return report


def evaluate_gold(tok: EvalTokenizer, gold: GoldSet) -> dict[str, Any]:
    """%pure tokens and boundary precision/recall/F1 of one tokenizer on one gold file, and for a
    tokenizer with a root dictionary (the morph hybrid) the share of the gold words' roots it knows.

    Each word is encoded on its own after a space (as it appears inside running text); the
    tokens that overlap the word are clipped to it.
    """
    batch = TextBatch.of([" " + w.word for w in gold.words])
    enc = tok.encode(batch)
    bounds, tb = batch.bounds.tolist(), enc.bounds.tolist()
    starts, ends = enc.starts.tolist(), enc.ends.tolist()
    tp = predicted = n_gold = pure = total = 0
    for i, word in enumerate(gold.words):
        lo, hi = bounds[i] + 1, bounds[i + 1]
        s, e = starts[tb[i]:tb[i + 1]], ends[tb[i]:tb[i + 1]]
        gold_cuts = word.byte_boundaries(lo)
        a, b, c = metrics.boundary_counts(metrics.inner_boundaries(s, e, lo, hi), gold_cuts)
        tp, predicted, n_gold = tp + a, predicted + b, n_gold + c
        p, t = metrics.pure_tokens(s, e, lo, hi, gold_cuts)
        pure, total = pure + p, total + t
    precision, recall, f1 = metrics.precision_recall_f1(tp, predicted, n_gold)
    roots = [w.word[:w.boundaries[0]] if w.boundaries else w.word for w in gold.words]
    known = [tok.knows_root(r) for r in roots if _LETTERS.fullmatch(r)]
    return {"tokenizer": tok.name, "gold": gold.name, "words": len(gold.words), "skipped": gold.skipped,
            "tokens": total, "pure_tokens": metrics.ratio(pure, total), "boundary_precision": precision,
            "boundary_recall": recall, "boundary_f1": f1,
            "roots_known": None if None in known else metrics.ratio(sum(known), len(known))}


def parallel_files(folder: str | os.PathLike, options: Options) -> dict[str, list[str]]:
    """The lines of each file of a parallel folder, by language (the file name up to its first
    dot: ``en.txt``, ``tr.txt``); every file must have the same number of lines."""
    p = Path(folder)
    if not p.is_dir():
        raise InputError(f"--parallel {p}: not a folder; give a folder of line-aligned files such as en.txt, tr.txt")
    errors = "strict" if options.errors == "strict" else "replace"  # skipping lines would break the alignment
    files = Corpus([str(p)], errors=errors, text_field=options.text_field).files
    out: dict[str, list[str]] = {}
    for f in files:
        lang = _stem(f)
        if lang in out:
            raise InputError(f"--parallel {p}: two files for language {lang!r}; keep one file per language")
        out[lang] = [line.rstrip("\n") for line in Corpus([str(f)], errors=errors, text_field=options.text_field)]
    sizes = {lang: len(lines) for lang, lines in out.items()}
    if len(set(sizes.values())) > 1:
        raise InputError(f"--parallel {p}: the files are not line-aligned (lines per language: "
                         + ", ".join(f"{k} {v}" for k, v in sizes.items()) + "); give translations line by line")
    if len(out) < 2:
        raise InputError(f"--parallel {p}: needs at least two languages, found {sorted(out)}")
    return out


def evaluate_parallel(tokenizers: Sequence[EvalTokenizer], languages: dict[str, list[str]],
                      reference: str | None = None) -> list[dict[str, Any]]:
    """Token premium of each language relative to ``reference`` (default ``en`` if present, else
    the first language), for each tokenizer: total tokens of the language's lines over total
    tokens of the reference's lines."""
    reference = reference or ("en" if "en" in languages else next(iter(languages)))
    if reference not in languages:
        raise InputError(f"--reference {reference!r} is not one of the parallel languages {sorted(languages)}")
    rows = []
    for tok in tokenizers:
        counts = {lang: len(tok.encode(TextBatch.of(lines)).ids) for lang, lines in languages.items()}
        for lang, n in counts.items():
            rows.append({"tokenizer": tok.name, "language": lang, "reference": reference,
                         "lines": len(languages[lang]), "tokens": n,
                         "premium": metrics.ratio(n, counts[reference])})
    return rows


def sweep_tokenizers(corpus: Sequence[str | os.PathLike], sizes: Sequence[int], *, seed: int = 0,
                     text_field: str = "text", errors: str = "strict", progress: bool = False) -> list[EvalTokenizer]:
    """tokforge BPE tokenizers trained on ``corpus`` at each vocabulary size (default options)."""
    from tokforge.training import train

    out = []
    for size in sizes:
        tok = train([str(c) for c in corpus], vocab_size=size, seed=seed, text_field=text_field,
                    errors=errors, progress=progress)
        out.append(from_tokforge(tok, f"bpe-{size}", f"trained on the corpus, vocab {size}"))
    return out


def sweep_rows(report: Report, sweep: Sequence[EvalTokenizer], sizes: Sequence[int]) -> None:
    """Move the rows of the sweep tokenizers (trained at ``sizes``) from ``report.rows`` to
    ``report.sweep``, with the vocabulary size asked for and the one reached (smaller when the
    corpus runs out of pairs to merge)."""
    sizes_of = {t.name: (size, t.vocab_size) for t, size in zip(sweep, sizes)}
    report.sweep = [{**r, "requested_vocab_size": sizes_of[r["tokenizer"]][0], "vocab_size": sizes_of[r["tokenizer"]][1]}
                    for r in report.rows if r["tokenizer"] in sizes_of]
    report.rows = [r for r in report.rows if r["tokenizer"] not in sizes_of]
    report.tokenizers = [t for t in report.tokenizers if t["name"] not in sizes_of]


def check_corpus_given(corpus: Sequence[Any], gold: Sequence[Any], parallel: Any) -> None:
    if not corpus and not gold and parallel is None:
        raise CorpusError("nothing to evaluate on: give --corpus, --gold or --parallel")
