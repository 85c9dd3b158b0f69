"""``tokforge eval`` and ``tokforge compare``: measuring tokenizers."""
from __future__ import annotations

from pathlib import Path

import click

from tokforge.cli.options import DEFAULTS, read_text, reading_options
from tokforge.eval.adapters import load_tokenizer, unique_names
from tokforge.eval.compare import compare as compare_tokenizers, render
from tokforge.eval.evaluate import (Options, Report, check_corpus_given, evaluate, evaluate_gold,
                                    evaluate_parallel, parallel_files, sweep_rows, sweep_tokenizers)
from tokforge.eval.gold import read_gold, read_wordlist
from tokforge.eval.plots import require_matplotlib, write_plots
from tokforge.eval.report import render_csv, render_json, render_text
from tokforge.io.atomic import write_atomic
from tokforge.text.casing import FOLD_LANGUAGES


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


@click.command("eval")
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
@reading_options
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


@click.command()
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
    body = read_text(None, text) if _is_file(text) else text
    toks = [load_tokenizer(tokenizer_a), load_tokenizer(tokenizer_b)]
    unique_names(toks)
    click.echo(render(compare_tokenizers(toks[0], toks[1], body, limit)))
