"""The Hugging Face files of a model that tokenizer.json cannot express (the morph hybrid,
``numbers='tst-vocab'``): transformers loads the folder through tokforge's own tokenizer class.

``tokenizer_config.json`` names the class in its ``auto_map``: ``tokforge_tokenizer.TokforgeTokenizer``, a
small module written into the folder that imports tokforge
(``tokforge.formats.transformers.TokforgeTokenizer``), which encodes with the folder's ``tokforge.json``:

    >>> from transformers import AutoTokenizer                                   # doctest: +SKIP
    >>> tok = AutoTokenizer.from_pretrained("morph/", trust_remote_code=True)    # doctest: +SKIP

Where tokforge is imported, ``tokforge.hf.register()`` lets ``AutoTokenizer`` find the class without
``trust_remote_code``. Without tokforge installed, loading the folder fails with ``pip install tokforge``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tokforge.formats.hf import hf_configs, token_strings

if TYPE_CHECKING:
    from tokforge.tokenizer import Tokenizer

MODULE_FILE = "tokforge_tokenizer.py"
CLASS_NAME = "TokforgeTokenizer"
CODE_FILES = ("tokenizer_config.json", "special_tokens_map.json", MODULE_FILE)  # what files() writes
AUTO_MAP = {"AutoTokenizer": [f"{MODULE_FILE[:-3]}.{CLASS_NAME}", None]}  # tokenizer_config.json's auto_map

MODULE_TEXT = f'''"""Loads this folder's tokforge model in transformers:
AutoTokenizer.from_pretrained(folder, trust_remote_code=True). Written by tokforge; it needs tokforge
installed (pip install tokforge), which encodes with the tokforge.json beside this file."""
try:
    from tokforge.formats.transformers import {CLASS_NAME} as _{CLASS_NAME}
except ImportError as e:
    raise ImportError("this tokenizer folder was written by tokforge and is loaded by it: pip install tokforge "
                      f"(then load the folder again); {{e}}") from e


class {CLASS_NAME}(_{CLASS_NAME}):
    """tokforge's tokenizer class, named in this module so that save_pretrained copies the module."""
'''


def files(tok: Tokenizer) -> dict[str, Any]:
    """The files by name (JSON documents, and the module's text) that load ``tok`` in transformers through
    tokforge's class; ExportError when two tokens share a string (transformers maps strings to ids)."""
    token_strings(tok)
    config, special_tokens_map = hf_configs(tok)
    config = {**config, "tokenizer_class": CLASS_NAME, "auto_map": AUTO_MAP}
    return dict(zip(CODE_FILES, (config, special_tokens_map, MODULE_TEXT)))
