"""Model files: ``native`` (``tokforge.json``, every algorithm), ``hf`` (Hugging Face ``tokenizer.json``
and its companion files, export and import), ``fields`` (reading either field by field)."""
