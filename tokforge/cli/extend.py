"""``tokforge extend``: more tokens (BPE merges, Unigram pieces) for new text, every old id kept."""
from __future__ import annotations

import click

from tokforge.extending import extend as extend_tokenizer
from tokforge.formats.folder import MODEL_FOLDER
from tokforge.io.folders import OutputFolder


@click.command()
@click.argument("base", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Model folder to write (tokforge.json and the Hugging Face files), as a whole.")
@click.option("--corpus", "corpus", required=True, multiple=True,
              help="The new text (files, folders, globs as for `tokforge train`; repeatable).")
@click.option("--add", "add", required=True, type=click.IntRange(1), help="Tokens to add: merges (BPE) or scored pieces (Unigram).")
@click.option("--min-frequency", type=click.IntRange(1), default=2, show_default=True,
              help="A pair (BPE) or candidate piece (Unigram) must occur this often in the new text to be added.")
@click.option("--old-text", "old_text", multiple=True,
              help="A sample of the text BASE was made for: the report counts its documents that now encode "
                   "differently (repeatable). Without it that is not measured.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the held-out tenth of the new corpus.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def extend(base, output, corpus, add, min_frequency, old_text, seed, quiet):
    """Add --add merges (BPE) or scored pieces (Unigram) learned on --corpus to BASE (a tokforge model
    folder, tokforge.json, or a byte-level BPE or Unigram tokenizer.json tokforge imports), after its
    own: every old id, token and merge or score is kept. Prints bytes/token of held-out new text
    before and after.

    \b
    Example:
      tokforge extend out-en/ -o out-en-tr/ --corpus corpora/tr --add 1000 --old-text corpora/en
    """
    with OutputFolder(output, MODEL_FOLDER) as out:  # locked and known writable before the work
        tok = extend_tokenizer(base, list(corpus), add=add, min_frequency=min_frequency,
                               old_text=list(old_text) or None, seed=seed, progress=not quiet)
        tok.write_files(out)
    r = tok.training["extended"]
    new = r["new_text"]["bytes_per_token"]
    click.echo(f"vocabulary {r['base_vocab_size']:,} -> {r['vocab_size']:,} tokens; new text (held out, "
               f"{r['new_text']['documents']:,} documents): {new['before']} -> {new['after']} bytes/token")
    old = r["old_text"]
    if old["measured"]:
        click.echo(f"old text: {old['changed_documents']:,} of {old['documents']:,} documents encode differently; "
                   f"{old['bytes_per_token']['before']} -> {old['bytes_per_token']['after']} bytes/token")
    else:
        click.echo(f"old text: not measured ({old['why']})")
    click.echo(f"wrote {output}")
