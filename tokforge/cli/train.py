"""``tokforge train`` and ``tokforge count``: the options of ``TrainConfig``, the training summary."""
from __future__ import annotations

from typing import Any, Callable

import click
from click.core import ParameterSource

from tokforge.cli.options import DEFAULTS
from tokforge.config import ALGORITHM_FIELDS, Option, TrainConfig, check_fields_apply, options
from tokforge.counting.engines import count_corpus
from tokforge.counting.saved import COUNT_FOLDER, load_counts, merge_saved, write_counts
from tokforge.errors import ExportError
from tokforge.formats.folder import MODEL_FOLDER
from tokforge.io.folders import OutputFolder
from tokforge.training import train as train_tokenizer


def config_options(*sections: str) -> Callable:
    """The click options of the ``TrainConfig`` options of ``sections``, in order, from their metadata
    (``tokforge.config.Option``: flag, help, type, choices, default)."""
    def decorate(command):
        for option in reversed([o for section in sections for o in options(section)]):
            for click_option in reversed(_click_options(option)):
                command = click_option(command)
        return command
    return decorate


def _click_options(o: Option) -> list[Callable]:
    if o.multiple:  # repeated, one value each time; or none at all
        return [click.option(o.flag, o.name, multiple=True, help=o.help),
                click.option(f"--no-{o.name.replace('_', '-')}", is_flag=True, help="Train without any special token.")]
    kind = click.Choice(list(o.choices)) if o.choices else click.IntRange(o.minimum) if o.minimum is not None else o.type
    default = ",".join(o.default) if isinstance(o.default, tuple) else o.default
    return [click.option(o.flag, o.name, type=kind, default=default, show_default=default is not None, help=o.help)]


def _config_fields(values: dict[str, Any]) -> dict[str, Any]:
    """The ``TrainConfig`` fields of the values of the ``config_options``."""
    values = dict(values)
    no_special_tokens = values.pop("no_special_tokens", False)
    if no_special_tokens and values["special_tokens"]:
        raise click.UsageError("--no-special-tokens and --special-token exclude each other")
    values["special_tokens"] = () if no_special_tokens else tuple(values["special_tokens"] or DEFAULTS.special_tokens)
    values["normalizer"] = tuple(n.strip() for n in values["normalizer"].split(","))
    if "transition" in values:
        values["transition"] = _size_or_fraction(values["transition"])
    return values


@click.command()
@click.argument("corpus", nargs=-1)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder to write: tokforge.json (native model: config + merges) and the Hugging Face "
                   "files tokenizer.json, tokenizer_config.json, special_tokens_map.json. Written as a whole, "
                   "checked before training: a model folder there is replaced once the new one is complete.")
@click.option("--from-counts", type=click.Path(file_okay=False),
              help="Train on the word counts saved by `tokforge count -o DIR` instead of a corpus. The "
                   "pipeline options (normalizer, pattern, digits, special tokens, held-out, seed) must be "
                   "those of the counts. Not for superbpe, which counts the corpus twice.")
@config_options("model", "pipeline", "corpus", "superbpe", "morph")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def train(corpus, output, from_counts, quiet, **values):
    """Train a tokenizer on CORPUS: folders (recursive), files or globs of .txt, .jsonl, .parquet,
    optionally .gz/.zst compressed, or a folder saved by `datasets.save_to_disk`; or on saved
    word counts (--from-counts DIR, written by `tokforge count`).

    Text files are read line by line; each line (with its newline) is a document.

    Nothing is ignored silently: an option of another --algo is an error, and a vocabulary that
    stops short of --vocab-size (the corpus has no more pairs to merge) is reported, with why, on
    standard error and in the training report of tokforge.json.
    """
    if bool(corpus) == bool(from_counts):
        raise click.UsageError("give a CORPUS or --from-counts DIR (one of the two)")
    flags = {o.name: o.flag for o in options()}
    check_fields_apply(values["algo"], _given_options(ALGORITHM_FIELDS), spell=flags.__getitem__)
    config = TrainConfig(**_config_fields(values))
    with OutputFolder(output, MODEL_FOLDER) as out:  # locked and known writable before training starts
        tok = train_tokenizer(list(corpus) or None, config, progress=not quiet, from_counts=from_counts)
        try:
            written = tok.write_files(out)
            not_exported = None
        except ExportError as e:  # e.g. numbers=tst-vocab, algo=morph: the native model only, never an approximate file
            written = tok.write_files(out, hf=False)
            not_exported = e
    click.echo(_summary(tok.training))
    click.echo("wrote " + ", ".join(str(p) for p in written))
    short = _short_vocab(tok.training)
    if short:
        click.echo(f"notice: {short}", err=True)
    if not_exported is not None:
        click.echo(f"notice: no Hugging Face files written: {not_exported}", err=True)
    elif not any(p.name == "tokenizer.json" for p in written):
        click.echo("notice: tokenizer.json cannot express this tokenizer; transformers loads the folder through "
                   "tokforge's tokenizer class: AutoTokenizer.from_pretrained(folder, trust_remote_code=True), "
                   "with tokforge installed", err=True)


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Count folder to write: manifest.json and the .npy arrays of the word counts. Written as a "
                   "whole, checked before counting: a count folder there is replaced once the new one is complete.")
@click.option("--merge", is_flag=True,
              help="SOURCES are count folders (of the same pipeline): merge them, in order, into one.")
@config_options("pipeline", "corpus")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: threads or worker processes on this machine (see --workers); dask: the workers "
                   "of a Dask cluster (pip install 'tokforge[cluster]').")
@click.option("--scheduler", default="local", show_default=True,
              help="dask: the scheduler address (tcp://host:8786), or 'local' for a LocalCluster of "
                   "--workers processes on this machine.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def count(sources, output, merge, engine, scheduler, quiet, **values):
    """Count the words of a corpus (SOURCES, as for train) and save them to a folder that
    `tokforge train --from-counts DIR` trains on, possibly on another machine. The corpus is cut
    into shards (files, and 16 MB ranges of large text files) counted in parallel; the counts do
    not depend on --workers or --engine.

    \b
    Examples:
      tokforge count corpora/ -o counts/ --workers 8 --memory-budget 4GB
      tokforge count shard1/ -o c1/ && tokforge count shard2/ -o c2/
      tokforge count --merge c1/ c2/ -o counts/
      tokforge train --from-counts counts/ --vocab-size 32000 -o out/
      tokforge count data/ -o counts/ --engine dask --scheduler tcp://10.0.0.5:8786
    """
    config = TrainConfig(**_config_fields(values))
    with OutputFolder(output, COUNT_FOLDER) as out:  # locked and known writable before counting starts
        if merge:
            result = merge_saved([load_counts(s) for s in sources], config.memory_budget)
        else:
            result = count_corpus(list(sources), config, engine=engine, scheduler=scheduler, progress=not quiet)
        write_counts(result, out)
    c, p = result.corpus, result.report.get("pruning", {})
    click.echo(f"corpus     {c.get('bytes', 0) / 1e6:.2f} MB in {c.get('files', 0)} files, "
               f"{c.get('documents', 0):,} documents ({result.held_out.excluded_documents:,} held out)")
    click.echo(f"words      {result.counts.total:,} ({len(result.counts):,} unique)")
    if "seconds" in result.report:
        click.echo(f"counting   {result.report['seconds']:.1f} s, {result.report['shards']} shards, "
                   f"{result.report['workers']} workers ({result.report['engine']})")
    if p.get("pruned"):
        click.echo(f"pruned     {p['words_dropped']:,} words ({p['occurrences_dropped']:,} occurrences) dropped "
                   f"to stay within the memory budget (counts below {p['max_threshold']})")
    click.echo(f"wrote {output}")


def _given_options(names) -> list[str]:
    """Those of the options ``names`` (parameter names) given on the command line or by an environment
    variable, even when equal to the default."""
    ctx = click.get_current_context()
    return [n for n in names if ctx.get_parameter_source(n) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)]


def _size_or_fraction(text: str) -> int | float:
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is neither a vocabulary size (48000) nor a fraction (0.8)",
                                 param_hint="--transition") from None


def _short_vocab(report: dict) -> str | None:
    """What the training report says about a vocabulary smaller than asked for (None if it is not)."""
    vocab = report.get("vocab") or {}
    if vocab.get("reached", 0) >= vocab.get("requested", 0):
        return None
    return (f"the vocabulary has {vocab['reached']:,} tokens, not the {vocab['requested']:,} asked for: "
            f"{vocab.get('stopped') or 'training stopped early'}")


def _summary(report: dict) -> str:
    c, s, h = report["corpus"], report["seconds"], report["held_out"]
    lines = [
        f"corpus     {c['bytes'] / 1e6:.2f} MB in {c['files']} files, {c['documents']:,} documents",
        f"words      {c['word_occurrences']:,} ({c['unique_words']:,} unique)",
        f"vocab      {report['vocab_size']:,} tokens" + (f" ({report['merges']:,} merges)" if report["merges"] else "")
        + (f", short of the {report['vocab']['requested']:,} asked for" if _short_vocab(report) else ""),
        *([f"superbpe   stage 1 up to {report['superbpe']['transition']:,} tokens, then superwords "
           f"({report['superbpe'].get('stage2_unique_words', 0):,} unique stage-2 words)"]
          if "superbpe" in report else []),
        f"time       {s['count'] + s['merge']:.1f} s (counting {s['count']:.1f} s, "
        f"{'merging' if report['merges'] else 'training'} {s['merge']:.1f} s)",
    ]
    if h["bytes_per_token"] is not None:
        lines.append(f"held-out   {h['bytes_per_token']:.3f} bytes/token on {h['bytes']:,} bytes "
                     f"({h['documents']:,} documents)")
    else:
        lines.append("held-out   none (corpus too small or --held-out 0)")
    if c.get("malformed_records"):
        lines.append(f"malformed  {c['malformed_records']:,} JSON Lines records skipped (not JSON, not an object or "
                     f"without the text field); first at {c['first_malformed_record']}")
    if c["skipped_documents"] or c["replaced_documents"]:
        lines.append(f"invalid    UTF-8 in {c['skipped_documents'] + c['replaced_documents']:,} documents "
                     f"(skipped {c['skipped_documents']:,}, replaced {c['replaced_documents']:,}); "
                     f"first at {c['first_invalid_utf8']}")
    if c["ignored_files"]:
        shown = ", ".join(c["ignored_files"][:5]) + (" ..." if len(c["ignored_files"]) > 5 else "")
        lines.append(f"ignored    {len(c['ignored_files'])} files (unknown extension, or not a regular file): {shown}")
    return "\n".join(lines)
