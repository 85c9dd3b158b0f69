"""``tokforge eval`` and ``tokforge compare``: tokenizers behind one interface (``adapters``), the
measures (``metrics``, ``gold``), the evaluation over a corpus (``evaluate``), its tables and plots
(``report``, ``plots``) and the word-by-word comparison (``compare``)."""
