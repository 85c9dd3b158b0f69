"""Training data: stochastic encoders (StochasTok, BPE-dropout, Unigram sampling; ``stochastic``) and
token-id shards of a corpus (``shards``)."""
