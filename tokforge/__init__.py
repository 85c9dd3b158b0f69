"""tokforge: fast, exact tokenizer training on CPU, exported to Hugging Face tokenizer.json.

    >>> import tokforge
    >>> tok = tokforge.train("corpora/", vocab_size=4000)      # doctest: +SKIP
    >>> tok.save("out/")                                       # doctest: +SKIP
    >>> tok = tokforge.Tokenizer.load("out/")                  # doctest: +SKIP
    >>> tok.decode(tok.encode("Merhaba dünya!"))               # doctest: +SKIP
    'Merhaba dünya!'
"""
from __future__ import annotations

from tokforge.config import TrainConfig
from tokforge.corpus import Corpus
from tokforge.counting.feed import feed
from tokforge.errors import (ConfigError, CorpusError, ExportError, InputError, ModelFormatError,
                             OutputError, TokforgeError, WorkerError)
from tokforge.extending import extend
from tokforge.tokenizer import Tokenizer
from tokforge.training import train
from tokforge.version import __version__

__all__ = [
    "__version__", "train", "extend", "feed", "Tokenizer", "TrainConfig", "Corpus",
    "TokforgeError", "CorpusError", "ConfigError", "ModelFormatError", "ExportError", "InputError",
    "OutputError", "WorkerError",
]
