"""The models and their trainers: byte-level BPE (``bpe``, ``bpe_trainer``, ``bpe_extend``), SuperBPE
(``superbpe``), Unigram LM (``unigram``, ``unigram_trainer``, its EM core ``unigram_em``,
``unigram_extend``) and the morphology hybrid (``morph``)."""
