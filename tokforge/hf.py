"""transformers support: tokforge's tokenizer class and its registration with ``AutoTokenizer``.

A model folder whose tokenizer tokenizer.json cannot express (the morph hybrid, ``numbers='tst-vocab'``)
loads through tokforge's class, ``AutoTokenizer.from_pretrained(folder, trust_remote_code=True)``;
after ``import tokforge.hf`` (or ``tokforge.hf.register()``) ``trust_remote_code`` is not needed.
Every other model folder holds a tokenizer.json, which transformers loads on its own.

    >>> import tokforge.hf                                           # doctest: +SKIP
    >>> from transformers import AutoTokenizer                       # doctest: +SKIP
    >>> AutoTokenizer.from_pretrained("morph/")("Kitaplarımızı")     # doctest: +SKIP
"""
from tokforge.formats.transformers import TokforgeTokenizer, register

__all__ = ["TokforgeTokenizer", "register"]
