"""``tokforge mixture``: infer the training mixture of a BPE tokenizer from its merges."""
from __future__ import annotations

import json

import click

from tokforge.cli.options import reading_options
from tokforge.config import parse_size
from tokforge.eval.plots import require_matplotlib
from tokforge.io.atomic import write_atomic
from tokforge.mixture import categories_of, infer, write_plot


@click.command()
@click.argument("tokenizer", type=click.Path())
@click.option("--category", "categories", multiple=True, required=True, metavar="NAME=PATH",
              help="A category and its sample text (repeat for each category; a name may not repeat): files, "
                   "folders or globs, read as `tokforge train` reads a corpus. Give at least two.")
@click.option("--merges", "n_merges", type=click.IntRange(1), default=None,
              help="Use the first T merges of the tokenizer (default: 30,000, or all if it has fewer).")
@click.option("--sample-bytes", default="100MB", show_default=True,
              help="Read at most this much text of each category (e.g. 20MB): more text, closer estimates, "
                   "longer counting.")
@reading_options
@click.option("--plots", type=click.Path(file_okay=False),
              help='Write a bar chart of the shares (mixture.png) into this folder (pip install "tokforge[plot]").')
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the result as JSON.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def mixture(tokenizer, categories, n_merges, sample_bytes, text_field, errors, plots, json_path, quiet):
    """Infer what share of each category (language, code, domain) the training text of TOKENIZER
    held, from the order of its BPE merges (Hayase et al. 2024, "Data Mixture Inference").

    \b
    TOKENIZER is a tokforge BPE model or any byte-level BPE tokenizer.json. Each category's text
    goes through the tokenizer's own normalizer and pretokenizer; the first T merges are replayed
    on it; a linear program (HiGHS) finds the shares under which each merge was the most frequent
    pair at its step. Prints the shares (of bytes of text), the LP's objective (total slack) and
    the number of constraints it used.

    \b
    Example:
      tokforge mixture out/ --category en=samples/en.txt --category code=samples/code/ \\
          --category tr=samples/tr.txt --merges 30000 --plots plots/
    """
    cats = categories_of(list(categories))
    limit = parse_size(sample_bytes, "--sample-bytes")
    if plots:
        require_matplotlib()  # fail now, not after the counting
    result = infer(tokenizer, cats, merges=n_merges, sample_bytes=limit, text_field=text_field, errors=errors,
                   progress=not quiet)
    click.echo(result.render())
    written = []
    if json_path:
        write_atomic(json_path, json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
        written.append(json_path)
    if plots:
        written.append(str(write_plot(result, plots)))
    if written:
        click.echo("wrote " + ", ".join(written))
