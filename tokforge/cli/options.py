"""What several commands share: reading a text argument or file, the corpus reading options of ``shards``
and ``eval``, the sampling options of ``encode`` and ``shards``, and the defaults of ``TrainConfig``."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from tokforge.config import TrainConfig
from tokforge.corpus.utf8 import ERROR_POLICIES

DEFAULTS = TrainConfig()


def read_text(text: str | None, file: str | None) -> str:
    if text is not None and file is not None:
        raise click.UsageError("give TEXT or --file, not both")
    if file is not None:
        try:
            return Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise click.ClickException(f"cannot read {file}: {e}") from None
    return text if text is not None else sys.stdin.read()


def unigram_sampling_options(command):
    """--unigram-alpha / --unigram-nbest, shared by `encode` and `shards`."""
    command = click.option(
        "--unigram-nbest", type=int, default=-1, show_default=True,
        help="Unigram sampling among the N best segmentations (N > 1), all of them (-1 or 0), or none (1: "
             "the Viterbi encoding). Needs --unigram-alpha.")(command)
    return click.option(
        "--unigram-alpha", type=float, default=None,
        help="Unigram sampling (Unigram models, subword regularization): draw each word's segmentation s with "
             "probability proportional to exp(ALPHA * score(s)), exactly. Smaller ALPHA samples more "
             "uniformly, larger approaches the deterministic encoding; 0.1 to 1 is usual.")(command)


def reading_options(command):
    """--text-field / --errors of a command that reads a corpus without training on it."""
    command = click.option(
        "--errors", type=click.Choice(ERROR_POLICIES), default=DEFAULTS.errors, show_default=True,
        help="Invalid UTF-8 in the corpus: strict stops, replace substitutes U+FFFD, skip drops the document. "
             "Malformed JSON Lines records: skip drops them, the others stop.")(command)
    return click.option("--text-field", default=DEFAULTS.text_field, show_default=True,
                        help="Field (.jsonl) or column (.parquet, datasets) that holds the text.")(command)
