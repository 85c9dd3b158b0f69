"""The ``tokforge`` command line: train, encode, decode, export, info."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tokforge.config import ALGORITHMS, TrainConfig
from tokforge.corpus import ERROR_POLICIES
from tokforge.errors import TokforgeError
from tokforge.pretokenizers import DIGIT_POLICIES, PRESETS

DEFAULTS = TrainConfig()


class _Group(click.Group):
    """Shows tokforge's own errors as one clear line (no traceback) and exits with status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TokforgeError as e:
            raise click.ClickException(str(e)) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tokforge")
def main() -> None:
    """tokforge: train byte-level BPE and Unigram tokenizers fast on CPU and export them to Hugging Face.

    \b
    Typical use:
      tokforge train corpora/ --vocab-size 8000 -o out/
      tokforge encode out/ "Merhaba dünya!"
      tokforge decode out/ 44 1234 99
      tokforge info out/
    """


@main.command()
@click.argument("corpus", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder to write: tokforge.json (native model: config + merges) and the Hugging Face "
                   "files tokenizer.json, tokenizer_config.json, special_tokens_map.json.")
@click.option("--algo", type=click.Choice(ALGORITHMS), default=DEFAULTS.algo, show_default=True,
              help="Training algorithm: byte-level BPE, or byte-level Unigram LM (sentencepiece's EM and "
                   "pruning; encodes with the most likely segmentation).")
@click.option("--vocab-size", type=int, default=DEFAULTS.vocab_size, show_default=True,
              help="Final vocabulary size, counting special tokens and the 256 byte tokens.")
@click.option("--min-frequency", type=int, default=DEFAULTS.min_frequency, show_default=True,
              help="BPE: stop merging when the most frequent pair occurs fewer times than this. "
                   "Unigram: seed pieces must occur at least this many times.")
@click.option("--special-token", "special_tokens", multiple=True,
              help="A special token (repeat the option for several): never split, never merged, removed "
                   "from the training text, given the first ids. Default: <|endoftext|>. "
                   "Pass --no-special-tokens for none.")
@click.option("--no-special-tokens", is_flag=True, help="Train without any special token.")
@click.option("--max-token-length", type=int, default=None,
              help="Longest learned token in bytes (default: no limit; Unigram: 16 characters).")
@click.option("--normalizer", default=",".join(DEFAULTS.normalizer), show_default=True,
              help="Comma-separated normalizers applied in order: none, nfc, nfkc, lowercase.")
@click.option("--pattern", default=DEFAULTS.pattern, show_default=True,
              help=f"Pretokenizer split regex: a preset ({', '.join(PRESETS)}) or your own regex.")
@click.option("--digits", type=click.Choice(DIGIT_POLICIES), default=DEFAULTS.digits, show_default=True,
              help="Digit policy applied before the split: single digits, groups of up to 3 from the "
                   "left (ltr3) or from the right (rtl3: 1234567 -> 1|234|567).")
@click.option("--text-field", default=DEFAULTS.text_field, show_default=True,
              help="Field (.jsonl) or column (.parquet, datasets) that holds the text.")
@click.option("--errors", type=click.Choice(ERROR_POLICIES), default=DEFAULTS.errors, show_default=True,
              help="Invalid UTF-8: strict stops with the file and byte offset; replace substitutes U+FFFD; "
                   "skip drops the line/record. Counts are reported either way.")
@click.option("--held-out", type=float, default=DEFAULTS.held_out, show_default=True,
              help="Fraction of documents (lines/records) set aside, up to 2 MB, to report bytes/token.")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
              help="Seed of the held-out sampling; same corpus + options + seed = same tokenizer.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def train(corpus, output, algo, vocab_size, min_frequency, special_tokens, no_special_tokens,
          max_token_length, normalizer, pattern, digits, text_field, errors, held_out, seed, quiet):
    """Train a tokenizer on CORPUS: folders (recursive), files or globs of .txt, .jsonl, .parquet,
    optionally .gz/.zst compressed, or a folder saved by `datasets.save_to_disk`.

    Text files are read line by line; each line (with its newline) is a document.
    """
    from tokforge.training import train as train_tokenizer

    if no_special_tokens and special_tokens:
        raise click.UsageError("--no-special-tokens and --special-token exclude each other")
    specials = () if no_special_tokens else (special_tokens or DEFAULTS.special_tokens)
    config = TrainConfig(algo=algo, vocab_size=vocab_size, min_frequency=min_frequency,
                         special_tokens=tuple(specials), max_token_length=max_token_length,
                         normalizer=tuple(n.strip() for n in normalizer.split(",")), pattern=pattern,
                         digits=digits, text_field=text_field, errors=errors, held_out=held_out, seed=seed)
    tok = train_tokenizer(list(corpus), config, progress=not quiet)
    written = tok.save(output)
    click.echo(_summary(tok.training))
    click.echo("wrote " + ", ".join(str(p) for p in written))


def _summary(report: dict) -> str:
    c, s, h = report["corpus"], report["seconds"], report["held_out"]
    lines = [
        f"corpus     {c['bytes'] / 1e6:.2f} MB in {c['files']} files, {c['documents']:,} documents",
        f"words      {c['word_occurrences']:,} ({c['unique_words']:,} unique)",
        f"vocab      {report['vocab_size']:,} tokens" + (f" ({report['merges']:,} merges)" if report["merges"] else ""),
        f"time       {s['count'] + s['merge']:.1f} s (counting {s['count']:.1f} s, "
        f"{'merging' if report['merges'] else 'training'} {s['merge']:.1f} s)",
    ]
    if h["bytes_per_token"] is not None:
        lines.append(f"held-out   {h['bytes_per_token']:.3f} bytes/token on {h['bytes']:,} bytes "
                     f"({h['documents']:,} documents)")
    else:
        lines.append("held-out   none (corpus too small or --held-out 0)")
    if c["skipped_documents"] or c["replaced_documents"]:
        lines.append(f"invalid    UTF-8 in {c['skipped_documents'] + c['replaced_documents']:,} documents "
                     f"(skipped {c['skipped_documents']:,}, replaced {c['replaced_documents']:,}); "
                     f"first at {c['first_invalid_utf8']}")
    if c["ignored_files"]:
        shown = ", ".join(c["ignored_files"][:5]) + (" ..." if len(c["ignored_files"]) > 5 else "")
        lines.append(f"ignored    {len(c['ignored_files'])} files with unknown extensions: {shown}")
    return "\n".join(lines)


def _read_text(text: str | None, file: str | None) -> str:
    if text is not None and file is not None:
        raise click.UsageError("give TEXT or --file, not both")
    if file is not None:
        try:
            return Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise click.ClickException(f"cannot read {file}: {e}") from None
    return text if text is not None else sys.stdin.read()


@main.command()
@click.argument("model", type=click.Path())
@click.argument("text", required=False)
@click.option("--file", "file", type=click.Path(dir_okay=False), help="Encode this UTF-8 file instead of TEXT.")
@click.option("--tokens", is_flag=True, help="Print the tokens (byte-level text) instead of ids.")
def encode(model, text, file, tokens):
    """Encode TEXT (or --file, or standard input) with MODEL (a folder, tokforge.json or
    tokenizer.json) and print the ids separated by spaces."""
    from tokforge.tokenizer import Tokenizer

    tok = Tokenizer.load(model)
    ids = tok.encode(_read_text(text, file))
    click.echo(" ".join(tok.id_to_token(i) for i in ids) if tokens else " ".join(map(str, ids)))


@main.command()
@click.argument("model", type=click.Path())
@click.argument("ids", nargs=-1)
@click.option("--skip-special-tokens", is_flag=True, help="Leave special tokens out of the text.")
def decode(model, ids, skip_special_tokens):
    """Decode IDS (arguments, or whitespace-separated on standard input) with MODEL."""
    from tokforge.tokenizer import Tokenizer

    words = list(ids) or sys.stdin.read().split()
    try:
        values = [int(w) for w in words]
    except ValueError:
        bad = next(w for w in words if not w.lstrip("-").isdigit())
        raise click.UsageError(f"{bad!r} is not an integer token id") from None
    tok = Tokenizer.load(model)
    click.echo(tok.decode(values, skip_special_tokens=skip_special_tokens), nl=False)


@main.command()
@click.argument("model", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder for tokenizer.json, tokenizer_config.json and special_tokens_map.json.")
def export(model, output):
    """Export MODEL to a Hugging Face tokenizer folder that transformers.AutoTokenizer loads
    offline and that gives the same ids as tokforge. Fails (writing nothing) if the model
    cannot be expressed exactly."""
    from tokforge.hf import hf_files
    from tokforge.io import write_json_files
    from tokforge.tokenizer import Tokenizer

    written = write_json_files(hf_files(Tokenizer.load(model)), output)
    click.echo("wrote " + ", ".join(str(p) for p in written))


@main.command()
@click.argument("model", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(model, as_json):
    """Describe MODEL: vocabulary, special tokens, pipeline and training report."""
    from tokforge.tokenizer import Tokenizer

    tok = Tokenizer.load(model)
    facts = {
        "algorithm": f"{tok.algorithm} (byte-level)",
        "vocab_size": tok.vocab_size,
        **({"merges": len(tok.model.merges)} if tok.algorithm == "bpe" else {}),
        "special_tokens": tok.special_tokens,
        "normalizer": list(tok.normalizer.names),
        "pretokenizer": tok.pretokenizer.config(),
        "longest_token_bytes": max(len(t) for t in tok.model.vocab),
    }
    if as_json:
        click.echo(json.dumps({**facts, "training": tok.training}, ensure_ascii=False, indent=2))
        return
    for k, v in facts.items():
        click.echo(f"{k:<20} {v}")
    if "corpus" in tok.training:
        click.echo(_summary(tok.training))
