"""``tokforge shards``: a corpus as token-id shards for training."""
from __future__ import annotations

from pathlib import Path

import click

from tokforge.cli.options import reading_options, unigram_sampling_options
from tokforge.corpus import Corpus
from tokforge.sampling.shards import write_shards
from tokforge.sampling.stochastic import Sampling
from tokforge.tokenizer import Tokenizer


@click.command()
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
@unigram_sampling_options
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed: a document's sampling depends only on (seed, epoch, its index in the corpus).")
@click.option("--workers", type=click.IntRange(0), default=0, show_default=True,
              help="Processes that encode (0: all cores, or one for corpora under 32 MB). "
                   "The output is the same for any number.")
@click.option("--shard-tokens", type=click.IntRange(1), default=50_000_000, show_default=True,
              help="A shard closes at the first document boundary past this many token ids.")
@click.option("--allow-special", "allow_special", multiple=True, metavar="TOKEN",
              help="A special token whose text inside a document becomes its id (repeatable; 'all': every one). "
                   "By default documents are data: special-token text in them is encoded as text.")
@reading_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def shards(corpus, model, output, epochs, static, stochastok, bpe_dropout, unigram_alpha, unigram_nbest, seed,
           workers, shard_tokens, allow_special, text_field, errors, quiet):
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
    sampling = Sampling(stochastok=stochastok, dropout=bpe_dropout, unigram_alpha=unigram_alpha,
                        unigram_nbest=unigram_nbest)
    tok = Tokenizer.load(model)
    source = Corpus(list(corpus), text_field=text_field, errors=errors, progress=not quiet, desc="encoding")
    manifest = write_shards(source, tok, output, sampling=sampling, seed=seed, epochs=epochs, static=static,
                            workers=workers, shard_tokens=shard_tokens, tokenizer_source=str(model),
                            allowed_special="all" if "all" in allow_special else set(allow_special))
    for folder in manifest["folders"]:
        click.echo(f"{folder['name']}: {manifest['documents']:,} documents, {folder['tokens']:,} tokens "
                   f"in {len(folder['shards'])} shards")
    click.echo(f"wrote {Path(output) / 'manifest.json'}")
