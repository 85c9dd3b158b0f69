"""The corpus: sources (files, folders, globs, ``datasets`` objects) read as a stream of documents.

``Corpus`` (``stream``) resolves the sources (``sources``), reads each in its format (``readers``,
``compression``) under the invalid-UTF-8 policy (``utf8``) and packs the documents into blocks and
byte-range shards (``blocks``); ``limits`` holds how much is read at once, ``stats`` what a pass read.
"""
from tokforge.corpus.blocks import Block
from tokforge.corpus.stats import CorpusStats
from tokforge.corpus.stream import Corpus, iter_documents

__all__ = ["Corpus", "Block", "CorpusStats", "iter_documents"]
