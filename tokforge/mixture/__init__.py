"""Data mixture inference (``tokforge mixture``): the share of each category (language, code, domain)
in the text a BPE tokenizer was trained on, read from the order of its merges (Hayase, Liu, Choi, Oh,
Smith 2024, "Data Mixture Inference: What do BPE Tokenizers Reveal about their Training Data?").

``samples`` reads the tokenizer and counts each category's sample with its pipeline; ``inference``
replays the first T merges on each sample (``kernels/pair_replay.py``) and asks ``lp`` for the
shares under which each merge was the most frequent pair at its step (lazy constraint generation,
``kernels/mixture_scan.py`` finding the violated constraints). The shares are of bytes of text.
"""
from tokforge.mixture.inference import MixtureResult, infer, infer_from_samples, write_plot
from tokforge.mixture.samples import Category, categories_of, parse_category

__all__ = ["infer", "infer_from_samples", "MixtureResult", "Category", "categories_of", "parse_category",
           "write_plot"]
