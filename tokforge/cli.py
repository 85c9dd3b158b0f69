"""The ``tokforge`` command line: train, encode, shards, decode, export, info, eval, compare."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from tokforge.text.casing import FOLD_LANGUAGES
from tokforge.config import ALGORITHM_FIELDS, ALGORITHMS, TrainConfig, check_fields_apply
from tokforge.corpus.utf8 import ERROR_POLICIES
from tokforge.errors import ExportError, TokforgeError
from tokforge.io.folders import OutputFolder
from tokforge.models.morph.trainer import FALLBACKS
from tokforge.text.numbers import NUMBER_MODES
from tokforge.text.pretokenizers import DIGIT_POLICIES, PRESETS
from tokforge.processes import Stopped, stop_on_signals

DEFAULTS = TrainConfig()


class _Group(click.Group):
    """Shows tokforge's own errors as one clear line (no traceback) and exits with status 1; on
    SIGTERM or SIGINT stops its worker processes and exits with 128 + the signal number."""

    def invoke(self, ctx):
        try:
            with stop_on_signals():
                return super().invoke(ctx)
        except TokforgeError as e:
            raise click.ClickException(str(e)) from None
        except Stopped as e:
            click.echo(f"Error: stopped by {e.name} before finishing", err=True)
            ctx.exit(128 + e.signum)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tokforge")
def main() -> None:
    """tokforge: train byte-level BPE and Unigram tokenizers fast on CPU and export them to Hugging Face.

    \b
    Typical use:
      tokforge train corpora/ --vocab-size 8000 -o out/
      tokforge count corpora/ -o counts/ && tokforge train --from-counts counts/ -o out/
      tokforge encode out/ "Merhaba dünya!"
      tokforge encode out/ "Merhaba dünya!" --stochastok 0.1 --seed 1
      tokforge encode unigram-out/ "Merhaba dünya!" --unigram-alpha 0.1 --seed 1
      tokforge shards corpora/ --model out/ -o shards/ --epochs 2 --stochastok 0.1
      tokforge decode out/ 44 1234 99
      tokforge info out/
      tokforge eval out/ other/tokenizer.json --corpus corpora/ --plots plots/
      tokforge compare out/ other/tokenizer.json --text "Merhaba dünya!"
      tokforge numbers explain "1,234,567.891"
    """


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


@main.command()
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
    from tokforge.tokenizer import MODEL_FOLDER
    from tokforge.training import train as train_tokenizer

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


@main.command()
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
    from tokforge.counting.engines import count_corpus
    from tokforge.counting.saved import COUNT_FOLDER, load_counts, merge_saved, write_counts

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


def _read_text(text: str | None, file: str | None) -> str:
    if text is not None and file is not None:
        raise click.UsageError("give TEXT or --file, not both")
    if file is not None:
        try:
            return Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise click.ClickException(f"cannot read {file}: {e}") from None
    return text if text is not None else sys.stdin.read()


def _unigram_sampling_options(command):
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


@main.command()
@click.argument("model", type=click.Path())
@click.argument("text", required=False)
@click.option("--file", "file", type=click.Path(dir_okay=False), help="Encode this UTF-8 file instead of TEXT.")
@click.option("--tokens", is_flag=True, help="Print the tokens (byte-level text) instead of ids.")
@click.option("--stochastok", type=float, default=0.0, show_default=True,
              help="StochasTok: after encoding n tokens, make floor(P*n) attempts to split a random token "
                   "into two vocabulary tokens (0.1 in the paper). Decoding is unchanged.")
@click.option("--bpe-dropout", type=float, default=0.0, show_default=True,
              help="BPE-dropout: skip each merge with this probability (Hugging Face tokenizers' semantics).")
@_unigram_sampling_options
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
    from tokforge.sampling.stochastic import Sampling, StochasticEncoder
    from tokforge.tokenizer import Tokenizer

    sampling = Sampling(stochastok=stochastok, dropout=bpe_dropout, unigram_alpha=unigram_alpha,
                        unigram_nbest=unigram_nbest)
    tok = Tokenizer.load(model)
    body = _read_text(text, file)
    if not sampling.is_deterministic:
        ids = StochasticEncoder(tok, sampling, seed).encode(body, epoch=epoch, example_id=example_id)
    else:
        ids = tok.encode(body)
    click.echo(" ".join(_shown_token(tok, i) for i in ids) if tokens else " ".join(map(str, ids)))


def _shown_token(tok, i: int) -> str:
    """The token as in tokenizer.json; a TST marker or fixed token as e.g. <e3> or 234<e3>
    (their text holds control characters)."""
    if tok.numbers is not None:
        from tokforge.text.numbers import MARKERS, describe
        raw = tok.model.vocab[i]
        if any(chr(b) in MARKERS.values() for b in raw):
            return describe(raw.decode("utf-8", errors="replace"))
    return tok.id_to_token(i)


@main.command()
@click.argument("corpus", nargs=-1, required=True)
@click.option("--model", required=True, type=click.Path(), help="The tokenizer: a folder, tokforge.json or tokenizer.json.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder to write: epoch-NNNN/shard-NNNNN.ids.npy + .bounds.npy, and manifest.json (last). "
                   "Written as a whole: a shards folder there is replaced once the new one is complete.")
@click.option("--epochs", type=click.IntRange(1), default=1, show_default=True,
              help="Epochs to write, each sampled with its own epoch number (one folder each).")
@click.option("--static", is_flag=True, help="Sample once (epoch 0) and write one folder for every epoch.")
@click.option("--stochastok", type=float, default=0.0, show_default=True,
              help="StochasTok proportion P: floor(P*n) split attempts per document of n tokens (0.1 in the paper).")
@click.option("--bpe-dropout", type=float, default=0.0, show_default=True, help="BPE-dropout probability (BPE models).")
@_unigram_sampling_options
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed: a document's sampling depends only on (seed, epoch, its index in the corpus).")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
              help="Processes that encode (0: all cores, or one for corpora under 32 MB). "
                   "The output is the same for any number.")
@click.option("--shard-tokens", type=click.IntRange(1), default=50_000_000, show_default=True,
              help="A shard closes at the first document boundary past this many token ids.")
@click.option("--text-field", default=DEFAULTS.text_field, show_default=True,
              help="Field (.jsonl) or column (.parquet, datasets) that holds the text.")
@click.option("--errors", type=click.Choice(ERROR_POLICIES), default=DEFAULTS.errors, show_default=True,
              help="Invalid UTF-8: strict stops, replace substitutes U+FFFD, skip drops the document. "
                   "Malformed JSON Lines records: skip drops them, the others stop.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def shards(corpus, model, output, epochs, static, stochastok, bpe_dropout, unigram_alpha, unigram_nbest, seed,
           workers, shard_tokens, text_field, errors, quiet):
    """Turn CORPUS (as for `tokforge train`) into token-id shards for training, optionally with
    stochastic tokenization, reproducibly.

    \b
    Each document (a line of a text file, a record of .jsonl/.parquet) becomes one sequence of ids;
    uint16 when the vocabulary fits, else uint32. Read a shard with numpy:
      ids = np.load("epoch-0000/shard-00000.ids.npy"); bounds = np.load(".../shard-00000.bounds.npy")
      document d = ids[bounds[d]:bounds[d + 1]]
    Example:
      tokforge shards corpora/ --model out/ -o shards/ --epochs 3 --stochastok 0.1 --seed 1 --workers 2
      tokforge shards corpora/ --model unigram-out/ -o shards/ --epochs 3 --unigram-alpha 0.1 --seed 1
    """
    from tokforge.corpus import Corpus
    from tokforge.sampling.shards import write_shards
    from tokforge.sampling.stochastic import Sampling
    from tokforge.tokenizer import Tokenizer

    sampling = Sampling(stochastok=stochastok, dropout=bpe_dropout, unigram_alpha=unigram_alpha,
                        unigram_nbest=unigram_nbest)
    tok = Tokenizer.load(model)
    source = Corpus(list(corpus), text_field=text_field, errors=errors, progress=not quiet, desc="encoding")
    manifest = write_shards(source, tok, output, sampling=sampling, seed=seed, epochs=epochs, static=static,
                            workers=workers, shard_tokens=shard_tokens, tokenizer_source=str(model))
    for folder in manifest["folders"]:
        click.echo(f"{folder['name']}: {manifest['documents']:,} documents, {folder['tokens']:,} tokens "
                   f"in {len(folder['shards'])} shards")
    click.echo(f"wrote {Path(output) / 'manifest.json'}")


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
              help="Folder for tokenizer.json, tokenizer_config.json and special_tokens_map.json, written as a "
                   "whole (not a folder holding a tokforge.json).")
def export(model, output):
    """Export MODEL to a Hugging Face tokenizer folder that transformers.AutoTokenizer loads
    offline and that gives the same ids as tokforge. Fails (writing nothing) if the model
    cannot be expressed exactly."""
    from tokforge.formats.hf import HF_FOLDER, hf_files
    from tokforge.tokenizer import Tokenizer

    with OutputFolder(output, HF_FOLDER) as out:
        written = [out.write_json(name, doc) for name, doc in hf_files(Tokenizer.load(model)).items()]
    click.echo("wrote " + ", ".join(str(p) for p in written))


@main.command()
@click.argument("model", type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
def info(model, as_json):
    """Describe MODEL: vocabulary, special tokens, pipeline and training report."""
    from tokforge.tokenizer import Tokenizer

    tok = Tokenizer.load(model)
    facts = {
        "algorithm": tok.algorithm_label,
        **({"morph": tok.stage.describe()} if tok.algorithm == "morph" else {}),
        "vocab_size": tok.vocab_size,
        **({"merges": len(tok.model.merges)} if tok.algorithm == "bpe" else {}),
        "special_tokens": tok.special_tokens,
        "normalizer": list(tok.normalizer.names),
        "pretokenizer": tok.pretokenizer.config(),
        "numbers": tok.numbers.mode if tok.numbers else "none",
        "longest_token_bytes": max(len(t) for t in tok.model.vocab),
    }
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


def _sizes(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        sizes = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise click.BadParameter(f"{text!r}: give vocabulary sizes separated by commas, e.g. 2000,4000,8000",
                                 param_hint="--sweep") from None
    if not sizes or min(sizes) < 1:
        raise click.BadParameter("give positive vocabulary sizes, e.g. 2000,4000,8000", param_hint="--sweep")
    return sorted(set(sizes))


@main.command("eval")
@click.argument("tokenizers", nargs=-1)
@click.option("--corpus", "corpus", multiple=True,
              help="Corpus to measure on (repeatable): a folder whose top-level subfolders and files are the "
                   "domains (e.g. corpora/ gives ar, code, de, ...), or a file (one domain).")
@click.option("--name", "names", multiple=True,
              help="A label for each TOKENIZER, in order (default: the folder or file name).")
@click.option("--gold", multiple=True, type=click.Path(dir_okay=False),
              help="Gold morpheme segmentations (repeatable), for %pure tokens and boundary precision/recall/F1: "
                   "'word<TAB>seg1 seg2 ...' lines, or a .conllu file (the lemma ends the root).")
@click.option("--wordlist", type=click.Path(dir_okay=False),
              help="Word list (one word a line, first field) for the share of valid-word tokens.")
@click.option("--language", "--wordlist-language", "wordlist_language", type=click.Choice(list(FOLD_LANGUAGES)),
              default=None,
              help="Case-fold with this language's rules: the --wordlist and the tokens, and the forms and "
                   "lemmas of a .conllu --gold. tr or az map İ -> i and I -> ı (so ISPARTA matches ısparta). "
                   "Default: Unicode casefold.")
@click.option("--parallel", type=click.Path(file_okay=False),
              help="Folder of line-aligned translations, one file per language (en.txt, tr.txt, ...), for the "
                   "token premium of each language.")
@click.option("--reference", default=None, help="Reference language of --parallel (default: en, if present).")
@click.option("--sweep", default=None,
              help="Also train tokforge BPE on the corpus at these vocabulary sizes (e.g. 2000,4000,8000) and "
                   "report (and plot) bytes/token against vocabulary size.")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True, help="Seed of the --sweep training.")
@click.option("--alpha", type=float, default=2.5, show_default=True, help="Order of the Renyi efficiency.")
@click.option("--max-digits", type=click.IntRange(1, 100), default=12, show_default=True,
              help="Number splitting is reported per digit-run length 1..N (longer runs pooled at N).")
@click.option("--sample-words", type=click.IntRange(0), default=2000, show_default=True,
              help="Distinct words per domain checked for non-unique encodings (0: skip).")
@click.option("--text-field", default=DEFAULTS.text_field, show_default=True,
              help="Field (.jsonl) or column (.parquet) that holds the text.")
@click.option("--errors", type=click.Choice(ERROR_POLICIES), default=DEFAULTS.errors, show_default=True,
              help="Invalid UTF-8 in the corpus: strict stops, replace substitutes U+FFFD, skip drops the document. "
                   "Malformed JSON Lines records: skip drops them, the others stop.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="Write every table to this CSV file.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the full report as JSON.")
@click.option("--plots", type=click.Path(file_okay=False),
              help='Write PNG plots into this folder (needs matplotlib: pip install "tokforge[plot]").')
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def eval_command(tokenizers, corpus, names, gold, wordlist, wordlist_language, parallel, reference, sweep, seed,
                 alpha, max_digits, sample_words, text_field, errors, csv_path, json_path, plots, quiet):
    """Measure and compare TOKENIZERS: tokforge models (a folder from `tokforge train -o`, or its
    tokforge.json) and any Hugging Face tokenizer (a tokenizer.json, or a folder with one).

    \b
    Per domain of --corpus: bytes and characters per token, fertility (tokens per word), the share
    of words cut into several tokens, vocabulary use, Renyi efficiency, how numbers are split, and
    the share of words the vocabulary could also spell with as few tokens (non-unique encodings).
    With --gold: %pure tokens and morpheme-boundary precision/recall/F1; with --wordlist: the share
    of tokens that are words; with --parallel: token premiums; with --sweep: compression against
    vocabulary size. Prints tables; --csv, --json and --plots write files.

    \b
    Examples:
      tokforge eval out/ gpt2/tokenizer.json --corpus corpora/ --plots plots/
      tokforge eval out/ --gold tr_segments.tsv --wordlist tr_words.txt
      tokforge eval --corpus corpora/ --sweep 1000,2000,4000,8000 --plots plots/
    """
    from tokforge.eval.adapters import load_tokenizer, unique_names
    from tokforge.eval.evaluate import (Options, Report, check_corpus_given, evaluate, evaluate_gold,
                                   evaluate_parallel, parallel_files, sweep_rows, sweep_tokenizers)
    from tokforge.eval.gold import read_gold, read_wordlist
    from tokforge.io.atomic import write_atomic
    from tokforge.eval.report import render_csv, render_json, render_text

    sizes = _sizes(sweep)
    if not tokenizers and not sizes:
        raise click.UsageError("give at least one TOKENIZER (or --sweep sizes to train)")
    if names and len(names) != len(tokenizers):
        raise click.UsageError(f"--name was given {len(names)} times for {len(tokenizers)} tokenizers; "
                               "give one name per tokenizer, in order")
    if sizes and not corpus:
        raise click.UsageError("--sweep trains on the --corpus: give --corpus")
    check_corpus_given(corpus, gold, parallel)
    if plots:
        from tokforge.eval.plots import require_matplotlib
        require_matplotlib()  # fail now, not after the measurements
    options = Options(alpha=alpha, max_digits=max_digits, sample_words=sample_words,
                      wordlist=read_wordlist(wordlist, wordlist_language) if wordlist else None,
                      wordlist_language=wordlist_language,
                      text_field=text_field, errors=errors, progress=not quiet)
    golds = [read_gold(g, wordlist_language) for g in gold]
    languages = parallel_files(parallel, options) if parallel else None
    toks = [load_tokenizer(t, n) for t, n in zip(tokenizers, names or [None] * len(tokenizers))]
    unique_names(toks)
    swept = sweep_tokenizers(corpus, sizes, seed=seed, text_field=text_field, errors=errors,
                             progress=not quiet) if sizes else []
    report = Report([t.describe() for t in toks + swept],
                    options={"alpha": alpha, "max_digits": max_digits, "sample_words": sample_words,
                             "corpus": list(corpus), "gold": list(gold), "wordlist": wordlist,
                             "wordlist_language": wordlist_language,
                             "parallel": parallel, "sweep": sizes})
    if corpus:
        evaluate(toks + swept, corpus, options, report)
    sweep_rows(report, swept, sizes)
    report.morphology = [evaluate_gold(t, g) for g in golds for t in toks]
    if languages:
        report.premium = evaluate_parallel(toks, languages, reference)
    click.echo(render_text(report))
    written = []
    if csv_path:
        write_atomic(csv_path, render_csv(report))
        written.append(csv_path)
    if json_path:
        write_atomic(json_path, render_json(report))
        written.append(json_path)
    if plots:
        from tokforge.eval.plots import write_plots
        written += [str(p) for p in write_plots(report, plots)]
    if written:
        click.echo("\nwrote " + ", ".join(map(str, written)))


def _is_file(text: str) -> bool:
    """Whether ``text`` names an existing file (else it is the text itself)."""
    if "\n" in text or "\0" in text:
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # e.g. a name too long to be a path
        return False


@main.command()
@click.argument("tokenizer_a", type=click.Path())
@click.argument("tokenizer_b", type=click.Path())
@click.option("--text", "text", required=True,
              help="The text to encode: a path to a UTF-8 file, or else the text itself.")
@click.option("-n", "--limit", type=click.IntRange(0), default=20, show_default=True,
              help="How many differing words to show.")
def compare(tokenizer_a, tokenizer_b, text, limit):
    """Show how TOKENIZER_A and TOKENIZER_B (tokforge models or Hugging Face tokenizers) cut the
    same text differently: token counts, the number of words cut differently and the first of
    them, each cut at its token boundaries (kit|ap|ları).

    \b
    Example:
      tokforge compare out/ gpt2/tokenizer.json --text corpora/tr/denemeler_tokforge_tr.txt
    """
    from tokforge.eval.adapters import load_tokenizer, unique_names
    from tokforge.eval.compare import compare as compare_tokenizers, render

    body = _read_text(None, text) if _is_file(text) else text
    toks = [load_tokenizer(tokenizer_a), load_tokenizer(tokenizer_b)]
    unique_names(toks)
    click.echo(render(compare_tokenizers(toks[0], toks[1], body, limit)))
@main.group()
def numbers():
    """Numbers: digit policies and Triadic Suffix Tokenization (TST)."""


@numbers.command()
@click.argument("text", required=False)
@click.option("--pattern", default=DEFAULTS.pattern, show_default=True,
              help=f"Split regex used for the ordinary text: a preset ({', '.join(PRESETS)}) or your own regex.")
def explain(text, pattern):
    """Show how TEXT (or standard input) is cut under each digit policy and each TST variant.

    \b
    Digit policies: the pretokenizer's pieces (digits split before the main regex).
    TST: <eN> is the marker of a triad's place (10^N) after it; [234 e3] is a fixed
    token of tst-vocab; other pieces are ordinary text, pretokenized as usual.
    """
    from tokforge.text.numbers import TriadicSuffixStage, describe
    from tokforge.text.pretokenizers import Pretokenizer, check_split_pattern

    check_split_pattern(pattern)
    text = _read_text(text, None)
    rows = [(f"digits={d}", [_quoted(p) for p in Pretokenizer(pattern, d).split(text)]) for d in DIGIT_POLICIES]
    plain = Pretokenizer(pattern, "none")
    for mode in ("tst-marker", "tst-vocab"):
        stage = TriadicSuffixStage(mode)
        shown = []
        for part, reserved in stage.units(stage.apply(text)):
            if not reserved:
                shown += [_quoted(p) for p in plain.split(part)]
            elif mode == "tst-vocab":
                shown.append("[" + describe(part).replace("<", " ").rstrip(">") + "]")
            else:
                shown.append(describe(part))
        rows.append((mode, shown))
    click.echo(f"text           {_quoted(text)}")
    click.echo(f"pattern        {pattern}")
    for name, shown in rows:
        click.echo(f"{name:<14} {' '.join(shown)}")


def _quoted(piece: str) -> str:
    from tokforge.text.numbers import describe
    return repr(describe(piece))
