"""The morphology hybrid (``--algo morph``): ``rules`` (rule sets and the root-affix analyzer),
``stage`` (planning a word piece, writing affixes and case back), ``trainer`` and ``tokenizer``."""
