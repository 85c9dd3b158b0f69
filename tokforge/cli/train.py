"""``tokforge train`` and ``tokforge count``: the options of ``TrainConfig``, the training summary."""
from __future__ import annotations

import click
from click.core import ParameterSource

from tokforge.cli.options import DEFAULTS
from tokforge.config import ALGORITHM_FIELDS, ALGORITHMS, TrainConfig, check_fields_apply
from tokforge.corpus.utf8 import ERROR_POLICIES
from tokforge.counting.engines import count_corpus
from tokforge.counting.saved import COUNT_FOLDER, load_counts, merge_saved, write_counts
from tokforge.errors import ExportError
from tokforge.io.folders import OutputFolder
from tokforge.models.morph.trainer import FALLBACKS
from tokforge.text.numbers import NUMBER_MODES
from tokforge.text.pretokenizers import DIGIT_POLICIES, PRESETS
from tokforge.tokenizer import MODEL_FOLDER
from tokforge.training import train as train_tokenizer


def pipeline_options(command):
    """The options that decide which words are counted (shared by train and count)."""
    options = [
        click.option("--special-token", "special_tokens", multiple=True,
                     help="A special token (repeat the option for several): never split, never merged, removed "
                          "from the training text, given the first ids. Default: <|endoftext|>. "
                          "Pass --no-special-tokens for none."),
        click.option("--no-special-tokens", is_flag=True, help="Train without any special token."),
        click.option("--normalizer", default=",".join(DEFAULTS.normalizer), show_default=True,
                     help="Comma-separated normalizers applied in order: none, nfc, nfkc, lowercase, collapse_whitespace "
                          "(whitespace runs become one space, none at the ends of a document: "
                          "sentencepiece's default; lossy, like nfkc and lowercase)."),
        click.option("--pattern", default=DEFAULTS.pattern, show_default=True,
                     help=f"Pretokenizer split regex: a preset ({', '.join(PRESETS)}) or your own regex; or "
                          "'metaspace' (--algo unigram only): sentencepiece's layout, '▁' for spaces and "
                          "<0xNN> byte fallback tokens (adds the special token <unk>). A name that looks like a "
                          "preset (cl100, GPT-2) or text without regex syntax is an error, not a literal regex."),
        click.option("--digits", type=click.Choice(DIGIT_POLICIES), default=DEFAULTS.digits, show_default=True,
                     help="Digit policy applied before the split: single digits, groups of up to 3 from the "
                          "left (ltr3) or from the right (rtl3: 1234567 -> 1|234|567)."),
        click.option("--numbers", type=click.Choice(NUMBER_MODES), default=DEFAULTS.numbers, show_default=True,
                     help="Number stage before the pretokenizer (Triadic Suffix Tokenization): tst-marker puts "
                          "a place marker token after every triad (1<e6>234<e3>567<e0>; exports to "
                          "tokenizer.json); tst-vocab makes each triad+place one of 9,990 fixed tokens "
                          "(tokforge.json only: tokenizer.json cannot express it). See `tokforge numbers explain`."),
        click.option("--text-field", default=DEFAULTS.text_field, show_default=True,
                     help="Field (.jsonl) or column (.parquet, datasets) that holds the text."),
        click.option("--errors", type=click.Choice(ERROR_POLICIES), default=DEFAULTS.errors, show_default=True,
                     help="Invalid UTF-8: strict stops with the file and byte offset; replace substitutes "
                          "U+FFFD; skip drops the line/record. Malformed JSON Lines records (not JSON, not an "
                          "object, no string text field): skip drops them, strict and replace stop with the file "
                          "and line. Counts are reported either way."),
        click.option("--held-out", type=float, default=DEFAULTS.held_out, show_default=True,
                     help="Fraction of documents (lines/records) left out of training, chosen by a seeded hash "
                          "of their text; the first 2 MB of them measure bytes/token."),
        click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
                     help="Seed of the held-out sampling; same corpus + options + seed = same tokenizer."),
        click.option("--workers", type=click.IntRange(0), default=DEFAULTS.workers, show_default=True,
                     help="Processes counting the corpus (0: all cores, or one for corpora under 32 MB). "
                          "The result is the same for any number."),
        click.option("--memory-budget", default="2GB", show_default=True,
                     help="Memory the word-count tables of one process may take (e.g. 512MB, 2GB). Beyond "
                          "it the rarest words are dropped (reproducibly, whatever --workers) and the "
                          "report says how many."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _pipeline_config(special_tokens, no_special_tokens, normalizer, pattern, digits, numbers, text_field,
                     errors, held_out, seed, workers, memory_budget) -> dict:
    """The TrainConfig fields of the ``pipeline_options``."""
    if no_special_tokens and special_tokens:
        raise click.UsageError("--no-special-tokens and --special-token exclude each other")
    specials = () if no_special_tokens else (special_tokens or DEFAULTS.special_tokens)
    return dict(special_tokens=tuple(specials), normalizer=tuple(n.strip() for n in normalizer.split(",")),
                pattern=pattern, digits=digits, numbers=numbers, text_field=text_field, errors=errors,
                held_out=held_out,
                seed=seed, workers=workers, memory_budget=memory_budget)


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
@click.option("--algo", type=click.Choice(list(ALGORITHMS)), default=DEFAULTS.algo, show_default=True,
              help="Training algorithm: bpe (byte-level BPE), superbpe (BPE up to --transition, then "
                   "superword tokens that cross spaces, e.g. ' by the way'), unigram (byte-level Unigram LM: "
                   "sentencepiece's EM and pruning; encodes with the most likely segmentation), or morph "
                   "(root-affix stage with shared allomorph ids and case markers, then --morph-fallback for the "
                   "rest; tokforge.json only). Options marked superbpe: or morph: apply to that algorithm only; "
                   "giving one with another --algo is an error.")
@click.option("--vocab-size", type=int, default=DEFAULTS.vocab_size, show_default=True,
              help="Final vocabulary size, counting special tokens and the 256 byte tokens.")
@click.option("--min-frequency", type=int, default=DEFAULTS.min_frequency, show_default=True,
              help="BPE: stop merging when the most frequent pair occurs fewer times than this. "
                   "Unigram: seed pieces must occur at least this many times.")
@click.option("--max-token-length", type=int, default=None,
              help="Longest learned token in bytes (default: no limit; Unigram: 16 characters).")
@pipeline_options
@click.option("--transition", default=str(DEFAULTS.transition), show_default=True,
              help="superbpe: where stage 2 starts, as a vocabulary size (48000) or a fraction of "
                   "--vocab-size (0.8). Equal to --vocab-size gives plain BPE.")
@click.option("--max-words", type=int, default=DEFAULTS.max_words, show_default=True,
              help="superbpe: most words (runs of non-whitespace) in one superword token.")
@click.option("--superword-pattern", default=DEFAULTS.superword_pattern, show_default=True,
              help="superbpe: stage-2 split regex. The 'superword' preset keeps newlines, digits and "
                   "sentence punctuation followed by a space as boundaries; give your own regex to "
                   "cross them.")
@click.option("--morph-rules", default=DEFAULTS.morph_rules, show_default=True,
              help="morph: rule set (roots, affix groups, phonological rules): tr, en, or the path of your "
                   "JSON rule set (format in tokforge/models/morph/rules.py).")
@click.option("--morph-roots", type=float, default=DEFAULTS.morph_roots, show_default=True,
              help="morph: share of the learnable vocabulary given to root tokens (the most frequent roots "
                   "of the corpus); the rest goes to the fallback model (--morph-fallback).")
@click.option("--morph-fallback", type=click.Choice(list(FALLBACKS)), default=DEFAULTS.morph_fallback,
              show_default=True,
              help="morph: the model trained on, and encoding, everything the root-affix stage leaves (words "
                   "without an analysis, roots without a token, numbers, punctuation, whitespace): bpe "
                   "(byte-level BPE) or unigram (byte-level Unigram LM, as --algo unigram: most likely "
                   "segmentation).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def train(corpus, output, from_counts, algo, vocab_size, min_frequency, max_token_length,
          transition, max_words, superword_pattern, morph_rules, morph_roots, morph_fallback, quiet, **pipeline):
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
    check_fields_apply(algo, _given_options(ALGORITHM_FIELDS), spell=lambda name: "--" + name.replace("_", "-"))
    config = TrainConfig(algo=algo, vocab_size=vocab_size, min_frequency=min_frequency,
                         max_token_length=max_token_length, transition=_size_or_fraction(transition),
                         max_words=max_words, superword_pattern=superword_pattern, morph_rules=morph_rules,
                         morph_roots=morph_roots, morph_fallback=morph_fallback, **_pipeline_config(**pipeline))
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


@click.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Count folder to write: manifest.json and the .npy arrays of the word counts. Written as a "
                   "whole, checked before counting: a count folder there is replaced once the new one is complete.")
@click.option("--merge", is_flag=True,
              help="SOURCES are count folders (of the same pipeline): merge them, in order, into one.")
@pipeline_options
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: worker processes on this machine; dask: the workers of a Dask cluster "
                   "(pip install 'tokforge[cluster]').")
@click.option("--scheduler", default="local", show_default=True,
              help="dask: the scheduler address (tcp://host:8786), or 'local' for a LocalCluster of "
                   "--workers processes on this machine.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def count(sources, output, merge, engine, scheduler, quiet, **pipeline):
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
    config = TrainConfig(**_pipeline_config(**pipeline))
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
