"""The models and their trainers: byte-level BPE (``bpe``, ``bpe_trainer``), SuperBPE
(``superbpe``), Unigram LM (``unigram``, ``unigram_trainer``) and the morphology hybrid (``morph``)."""
