"""The morphology hybrid (``--algo morph``): ``rules`` (rule sets and the root-affix analyzer),
``stage`` (planning a word piece, writing affixes and case back), ``compiled`` (the rule set as arrays for
the numba planner, ``tokforge.kernels.morph``), ``trainer`` and ``tokenizer``."""
