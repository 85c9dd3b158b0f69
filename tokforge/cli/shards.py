"""``tokforge shards``: a corpus as token-id shards for training."""
from __future__ import annotations

from pathlib import Path

import click

from tokforge.cli.options import reading_options, unigram_sampling_options
from tokforge.corpus import Corpus
from tokforge.sampling.shard_formats import FORMATS
from tokforge.sampling.shards import finished_shards, write_shards
from tokforge.sampling.stochastic import Sampling
from tokforge.tasks import ENGINES
from tokforge.tokenizer import Tokenizer


@click.command()
@click.argument("corpus", nargs=-1, required=True)
@click.option("--model", required=True, type=click.Path(), help="The tokenizer: a folder, tokforge.json or tokenizer.json.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Folder to write: epoch-NNNN/shard-NNNNN.* files, and manifest.json (last). Written as a whole: "
                   "a shards folder there is replaced once the new one is complete.")
@click.option("--format", "layout", type=click.Choice(list(FORMATS)), default="npy", show_default=True,
              help="npy: .ids.npy + .bounds.npy a shard. bin: a flat uint16/uint32 token stream a shard, each document "
                   "followed by the separator token (nanoGPT-style loaders). hf: a Hugging Face datasets folder a "
                   "epoch (datasets.load_from_disk), one row (input_ids) a document.")
@click.option("--separator", default=None,
              help="--format bin: the special token after each document (default <|endoftext|>, else the "
                   "tokenizer's first special token).")
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
              help="Processes that encode, here or in a --scheduler local cluster (0: all cores, or one for "
                   "corpora under 32 MB). The output is the same for any number.")
@click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
              help="local: processes on this machine; dask: a Dask cluster (the same output).")
@click.option("--scheduler", default="local", show_default=True,
              help="dask: the scheduler address (tcp://host:8786), or 'local' for a LocalCluster of --workers "
                   "processes. Its workers need the same tokforge; the documents are sent to them.")
@click.option("--resume", is_flag=True,
              help="Finish the interrupted run of the same command: keep the shards it finished (checked against "
                   "their recorded fingerprints) and write only the missing ones. Refused if options differ.")
@click.option("--shard-tokens", type=click.IntRange(1), default=50_000_000, show_default=True,
              help="A shard closes at the first document boundary past this many token ids.")
@click.option("--allow-special", "allow_special", multiple=True, metavar="TOKEN",
              help="A special token whose text inside a document becomes its id (repeatable; 'all': every one). "
                   "By default documents are data: special-token text in them is encoded as text.")
@reading_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def shards(corpus, model, output, layout, separator, epochs, static, stochastok, bpe_dropout, unigram_alpha,
           unigram_nbest, seed, workers, engine, scheduler, resume, shard_tokens, allow_special, text_field, errors,
           quiet):
    """Turn CORPUS (as for `tokforge train`) into token-id shards for training, optionally with
    stochastic tokenization, reproducibly, on this machine or a Dask cluster, resumably.

    \b
    Each document (a line of a text file, a record of .jsonl/.parquet) becomes one sequence of ids;
    uint16 when the vocabulary fits, else uint32. Read a shard (--format npy) with numpy:
      ids = np.load("epoch-0000/shard-00000.ids.npy"); bounds = np.load(".../shard-00000.bounds.npy")
      document d = ids[bounds[d]:bounds[d + 1]]
    An interrupted run (Ctrl-C, kill, a lost worker, a full disk) keeps its finished shards beside the
    output: the same command with --resume writes only the missing ones, and the same bytes.
    Example:
      tokforge shards corpora/ --model out/ -o shards/ --epochs 3 --stochastok 0.1 --seed 1 --workers 2
      tokforge shards corpora/ --model out/ -o shards/ --format bin --engine dask --scheduler tcp://10.0.0.5:8786
      tokforge shards corpora/ --model unigram-out/ -o shards/ --epochs 3 --unigram-alpha 0.1 --seed 1
    """
    sampling = Sampling(stochastok=stochastok, dropout=bpe_dropout, unigram_alpha=unigram_alpha,
                        unigram_nbest=unigram_nbest)
    tok = Tokenizer.load(model)
    source = Corpus(list(corpus), text_field=text_field, errors=errors)
    try:
        manifest = write_shards(source, tok, output, sampling=sampling, seed=seed, epochs=epochs, static=static,
                                workers=workers, shard_tokens=shard_tokens, tokenizer_source=str(model),
                                engine=engine, scheduler=scheduler, format=layout, separator=separator,
                                resume=resume, progress=not quiet,
                                allowed_special="all" if "all" in allow_special else set(allow_special))
    except BaseException:
        kept = finished_shards(output)
        if kept:   # on stdout: the error itself stays one line on stderr
            click.echo(f"{kept} finished shard(s) kept beside {output}: run the same command with --resume to "
                       "write only the missing ones")
        raise
    for folder in manifest["folders"]:
        click.echo(f"{folder['name']}: {manifest['documents']:,} documents, {folder['tokens']:,} tokens "
                   f"in {len(folder['shards'])} shards")
    report = manifest["report"]
    resumed = f", {report['resumed_shards']} shard(s) kept from the interrupted run" if report["resumed_shards"] else ""
    click.echo(f"encoded {report['bytes'] / 1e6:,.1f} MB in {report['seconds']:,.1f} s: {report['mb_per_second']:,.2f} MB/s, "
               f"{report['tokens_per_second']:,} tokens/s ({report['workers']} workers, {report['engine']}){resumed}")
    click.echo(f"wrote {Path(output) / 'manifest.json'}")
