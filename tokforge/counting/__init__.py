"""Counting the words of a corpus: ``feed`` (one stream of documents through the text pipeline into a
word-count table, ``HeldOut`` documents set aside), ``engines`` (the corpus cut into shards counted in
worker processes or on a Dask cluster, merged in order), ``saved`` (count folders) and ``words``
(the word-count tables)."""
