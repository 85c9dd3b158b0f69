"""tokforge's tokenizer class for transformers: a ``PreTrainedTokenizer`` that encodes and decodes with a
tokforge model (its ``tokforge.json``), for models tokenizer.json cannot express (the morph hybrid,
``numbers='tst-vocab'``; the folder's files: ``tokforge.formats.hf_code``). The ids, decoding and special
tokens are tokforge's; transformers adds batching, padding, truncation, tensors and ``save_pretrained``.

    >>> from tokforge.formats.transformers import TokforgeTokenizer, register   # doctest: +SKIP
    >>> register()   # AutoTokenizer finds the class by name, without trust_remote_code
    >>> tok = TokforgeTokenizer.from_pretrained("morph/")                       # doctest: +SKIP

Importing this module needs transformers (``pip install "tokforge[hf]"``) and registers the class.
Special tokens in the text become their ids, as ``tokforge.Tokenizer.encode`` does (the class adds no
BOS/EOS); tokens added later with ``add_tokens`` are not matched in the text.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tokforge.errors import ConfigError, InputError
from tokforge.formats.folder import model_files
from tokforge.formats.hf import MODEL_MAX_LENGTH, token_strings
from tokforge.formats.hf_code import AUTO_MAP, CLASS_NAME, MODULE_FILE, MODULE_TEXT
from tokforge.formats.native import NATIVE_FILE
from tokforge.io.atomic import write_atomic
from tokforge.tokenizer import Tokenizer

try:
    from transformers import AutoTokenizer, PretrainedConfig, PreTrainedTokenizer
except ImportError as e:  # the optional dependency
    raise ImportError(f'tokforge.formats.transformers needs transformers: pip install "tokforge[hf]" ({e})') from e


class TokforgeTokenizer(PreTrainedTokenizer):
    """A tokforge model as a transformers tokenizer (see the module docstring)."""

    vocab_files_names = {"tokforge_file": NATIVE_FILE}
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, tokforge_file: str | os.PathLike | None = None, **kwargs: Any):
        if tokforge_file is None:
            raise ConfigError(f"{CLASS_NAME} needs the model's {NATIVE_FILE}: load the folder written by tokforge "
                              f"with {CLASS_NAME}.from_pretrained(folder) or AutoTokenizer")
        self.tokforge = Tokenizer.load(tokforge_file)
        self._ids = token_strings(self.tokforge)
        self._tokens = list(self._ids)
        kwargs.setdefault("model_max_length", MODEL_MAX_LENGTH)
        kwargs.setdefault("clean_up_tokenization_spaces", False)
        super().__init__(**kwargs)
        self._auto_map = AUTO_MAP  # save_pretrained writes it: the saved folder loads as this one does

    @property
    def vocab_size(self) -> int:
        return self.tokforge.vocab_size

    def get_vocab(self) -> dict[str, int]:
        return dict(self._ids)

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:
        """The tokens of ``text`` (their strings), as tokforge encodes it."""
        return [self._tokens[i] for i in self.tokforge.encode(text)]

    def _tokenize(self, text: str, **kwargs: Any) -> list[str]:
        return self.tokenize(text)

    def _convert_token_to_id(self, token: str) -> int:
        i = self._ids.get(token)
        if i is None:
            raise InputError(f"{token!r} is not a token of this tokforge model; give text to encode, or ids")
        return i

    def _convert_id_to_token(self, index: int) -> str:
        return self._tokens[index]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self.tokforge.decode([self._ids[t] for t in tokens])

    def _decode(self, token_ids: int | list[int], skip_special_tokens: bool = False, **kwargs: Any) -> str:
        return self.tokforge.decode(token_ids, skip_special_tokens=skip_special_tokens)

    def build_inputs_with_special_tokens(self, token_ids_0: list[int],
                                         token_ids_1: list[int] | None = None) -> list[int]:
        """No BOS/EOS: the ids as tokforge gives them (a pair: one after the other)."""
        return list(token_ids_0) + list(token_ids_1 or [])

    def get_special_tokens_mask(self, token_ids_0: list[int], token_ids_1: list[int] | None = None,
                                already_has_special_tokens: bool = False) -> list[int]:
        if already_has_special_tokens:
            specials = set(self.tokforge.special_tokens.values())
            return [int(i in specials) for i in list(token_ids_0) + list(token_ids_1 or [])]
        return [0] * (len(token_ids_0) + len(token_ids_1 or []))

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        """Write the model's ``tokforge.json`` and the module that names this class into ``save_directory``."""
        path = Path(save_directory) / ((filename_prefix + "-" if filename_prefix else "") + NATIVE_FILE)
        write_atomic(path, model_files(self.tokforge.to_native(), {})[NATIVE_FILE])
        write_atomic(Path(save_directory) / MODULE_FILE, MODULE_TEXT)
        return (str(path), str(Path(save_directory) / MODULE_FILE))


class TokforgeConfig(PretrainedConfig):
    """The configuration ``AutoTokenizer.register`` files ``TokforgeTokenizer`` under (no model uses it)."""

    model_type = "tokforge"


def register() -> None:
    """Let ``AutoTokenizer.from_pretrained`` load tokforge's folders without ``trust_remote_code``: it finds
    ``TokforgeTokenizer``, which their ``tokenizer_config.json`` names, among the registered classes."""
    AutoTokenizer.register(TokforgeConfig, slow_tokenizer_class=TokforgeTokenizer, exist_ok=True)


register()
