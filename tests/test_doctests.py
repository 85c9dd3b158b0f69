"""The worked examples in the docstrings of the kernels and modules are true."""
import doctest
import importlib

import pytest

MODULES = ["tokforge.kernels.hashtable", "tokforge.kernels.spans", "tokforge.kernels.word_count", "tokforge.kernels.bpe_train",
           "tokforge.kernels.bpe_encode", "tokforge.counting.words", "tokforge.models.bpe", "tokforge.models.bpe_trainer", "tokforge.text.specials",
           "tokforge.io.atomic", "tokforge.io.folders", "tokforge.config", "tokforge.text.bytelevel", "tokforge.kernels.pretokenize",
           "tokforge.kernels.unigram_lattice", "tokforge.kernels.unigram_seed", "tokforge.models.unigram", "tokforge.models.unigram_trainer", "tokforge.models.unigram_em", "tokforge.models.unigram_extend",
           "tokforge.eval.metrics", "tokforge.eval.gold", "tokforge.eval.report", "tokforge.eval.compare",
           "tokforge.text.numbers", "tokforge.models.superbpe", "tokforge.kernels.sampling",
           "tokforge.kernels.rng", "tokforge.kernels.stochastok", "tokforge.kernels.unigram_sample", "tokforge.sampling.stochastic", "tokforge.sampling.shards",
           "tokforge.models.morph.rules", "tokforge.models.morph.stage", "tokforge.models.morph.trainer", "tokforge.text.casing", "tokforge.text.pretokenizers",
           "tokforge.tokenizer", "tokforge.formats.fields", "tokforge.formats.native", "tokforge.packed", "tokforge.kernels.numba_cache", "tokforge.kernels.util", "tokforge.processes",
           "tokforge.corpus.sources", "tokforge.corpus.readers", "tokforge.corpus.utf8", "tokforge.corpus.blocks",
           "tokforge.corpus.compression", "tokforge.counting.feed", "tokforge.background", "tokforge.large_arrays",
           "tokforge.text.layout", "tokforge.text.presets", "tokforge.models.protocol", "tokforge.formats.folder",
           "tokforge.kernels.pair_replay", "tokforge.kernels.mixture_scan", "tokforge.mixture.samples",
           "tokforge.mixture.inference"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no worked example"
    assert result.failed == 0
