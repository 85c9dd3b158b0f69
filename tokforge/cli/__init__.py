"""The ``tokforge`` command line: the click group, its error handling, and one module per command group
(``train``: train and count; ``model``: encode, decode, info, export; ``shards``; ``evaluate``: eval
and compare; ``mixture``; ``numbers``); ``options`` holds what they share."""
from __future__ import annotations

import atexit
import gc

import click

from tokforge.cli import evaluate, extend, mixture, model, numbers, shards, train
from tokforge.errors import TokforgeError
from tokforge.processes import Stopped, stop_on_signals


class _Group(click.Group):
    """Shows tokforge's own errors as one clear line (no traceback) and exits with status 1; on
    SIGTERM or SIGINT stops its workers (threads or processes) and exits with 128 + the signal number.
    At exit the objects left are frozen out of CPython's last garbage collections (``gc.freeze``):
    those walk every object -- numba's kernels hold some 100k -- and took 0.1-0.3 s of every command;
    the process is ending and every output is written and closed before then."""
    def invoke(self, ctx):
        atexit.unregister(gc.freeze)  # once, however many commands one process runs
        atexit.register(gc.freeze)
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
      tokforge mixture out/ --category en=samples/en.txt --category code=samples/code/
      tokforge numbers explain "1,234,567.891"
      tokforge extend out/ -o out-tr/ --corpus corpora/tr --add 1000 --old-text corpora/en
    """


for _command in (train.train, train.count, extend.extend, model.encode, model.decode, model.info, model.export,
                 shards.shards, evaluate.eval_command, evaluate.compare, mixture.mixture, numbers.numbers):
    main.add_command(_command)
