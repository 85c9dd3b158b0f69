"""Commands on a trained model: ``encode``, ``decode``, ``info`` and ``export``."""
from __future__ import annotations

import json
import sys

import click

from tokforge.cli.options import read_text, unigram_sampling_options
from tokforge.cli.train import _summary
from tokforge.formats.hf import HF_FOLDER, hf_files
from tokforge.io.folders import OutputFolder
from tokforge.sampling.stochastic import Sampling, StochasticEncoder
from tokforge.text.numbers import MARKERS, describe
from tokforge.tokenizer import Tokenizer


@click.command()
@click.argument("model", type=click.Path())
@click.argument("text", required=False)
@click.option("--file", "file", type=click.Path(dir_okay=False), help="Encode this UTF-8 file instead of TEXT.")
@click.option("--tokens", is_flag=True, help="Print the tokens (byte-level text) instead of ids.")
@click.option("--stochastok", type=float, default=0.0, show_default=True,
              help="StochasTok: after encoding n tokens, make floor(P*n) attempts to split a random token "
                   "into two vocabulary tokens (0.1 in the paper). Decoding is unchanged.")
@click.option("--bpe-dropout", type=float, default=0.0, show_default=True,
              help="BPE-dropout: skip each merge with this probability (Hugging Face tokenizers' semantics).")
@unigram_sampling_options
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the sampling: the same seed, epoch and example id give the same ids.")
@click.option("--epoch", type=int, default=0, show_default=True, help="Epoch of the sampling.")
@click.option("--example-id", type=int, default=0, show_default=True,
              help="Example id of the sampling (in `tokforge shards`: the document's index in the corpus).")
def encode(model, text, file, tokens, stochastok, bpe_dropout, unigram_alpha, unigram_nbest, seed, epoch,
           example_id):
    """Encode TEXT (or --file, or standard input) with MODEL (a folder, tokforge.json or
    tokenizer.json) and print the ids separated by spaces. --stochastok / --bpe-dropout (BPE) /
    --unigram-alpha (Unigram) sample a stochastic encoding, reproducibly from --seed, --epoch and
    --example-id."""
    sampling = Sampling(stochastok=stochastok, dropout=bpe_dropout, unigram_alpha=unigram_alpha,
                        unigram_nbest=unigram_nbest)
    tok = Tokenizer.load(model)
    body = read_text(text, file)
    if not sampling.is_deterministic:
        ids = StochasticEncoder(tok, sampling, seed).encode(body, epoch=epoch, example_id=example_id)
    else:
        ids = tok.encode(body)
    click.echo(" ".join(_shown_token(tok, i) for i in ids) if tokens else " ".join(map(str, ids)))


def _shown_token(tok, i: int) -> str:
    """The token as in tokenizer.json; a TST marker or fixed token as e.g. <e3> or 234<e3>
    (their text holds control characters)."""
    if tok.numbers is not None:
        raw = tok.model.vocab[i]
        if any(chr(b) in MARKERS.values() for b in raw):
            return describe(raw.decode("utf-8", errors="replace"))
    return tok.id_to_token(i)


@click.command()
@click.argument("model", type=click.Path())
@click.argument("ids", nargs=-1)
@click.option("--skip-special-tokens", is_flag=True, help="Leave special tokens out of the text.")
def decode(model, ids, skip_special_tokens):
    """Decode IDS (arguments, or whitespace-separated on standard input) with MODEL."""
    words = list(ids) or sys.stdin.read().split()
    try:
        values = [int(w) for w in words]
    except ValueError:
        bad = next(w for w in words if not w.lstrip("-").isdigit())
        raise click.UsageError(f"{bad!r} is not an integer token id") from None
    tok = Tokenizer.load(model)
    click.echo(tok.decode(values, skip_special_tokens=skip_special_tokens), nl=False)


@click.command()
@click.argument("model", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder for tokenizer.json, tokenizer_config.json and special_tokens_map.json, written as a "
                   "whole (not a folder holding a tokforge.json).")
def export(model, output):
    """Export MODEL to a Hugging Face tokenizer folder that transformers.AutoTokenizer loads
    offline and that gives the same ids as tokforge. Fails (writing nothing) if the model
    cannot be expressed exactly."""
    with OutputFolder(output, HF_FOLDER) as out:
        written = [out.write_json(name, doc) for name, doc in hf_files(Tokenizer.load(model)).items()]
    click.echo("wrote " + ", ".join(str(p) for p in written))


@click.command()
@click.argument("model", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(model, as_json):
    """Describe MODEL: vocabulary, special tokens, pipeline and training report."""
    tok = Tokenizer.load(model)
    facts = tok.describe()
    if as_json:
        click.echo(json.dumps({**facts, "training": tok.training}, ensure_ascii=False, indent=2))
        return
    for k, v in facts.items():
        click.echo(f"{k:<20} {v}")
    if "corpus" in tok.training:
        try:
            click.echo(_summary(tok.training))
        except (KeyError, TypeError, ValueError, AttributeError):  # a report edited, or of another version
            click.echo("training   (the report in the model file is incomplete; see info --json)")
