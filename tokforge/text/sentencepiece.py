"""The split in front of an imported sentencepiece-style BPE (Llama 2, Mistral v1): HF's ``Metaspace``
pre-tokenizer, or none (the legacy spelling, where ``Prepend`` and ``Replace`` normalizers write the
``▁``). The token strings are the text itself (``tokforge.text.layout.sentencepiece_layout``).

    >>> first = SentencepieceSplit({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
    ...                             "split": False}, None)
    >>> first.split("Hello  world"), first.split("after a special token", first=False)
    (['▁Hello▁▁world'], ['after▁a▁special▁token'])
    >>> SentencepieceSplit({"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
    ...                     "split": True}, None).split("a  b")
    ['▁a', '▁', '▁b']
    >>> SentencepieceSplit(None, None).split("▁Hello▁world")           # legacy: the normalizer did it
    ['▁Hello▁world']
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tokforge.errors import ModelFormatError
from tokforge.text.decoders import Decoder
from tokforge.text.layout import Layout, sentencepiece_layout
from tokforge.text.pretokenizers import Pretokenizer

PATTERN = "sentencepiece"  # its pattern in tokforge.json


class SentencepieceSplit(Pretokenizer):
    """HF's Metaspace pre-tokenizer (``metaspace``: its tokenizer.json object) or none (None); ``decoder``:
    the file's decoder, which turns its token strings back into text."""

    def __init__(self, metaspace: dict[str, Any] | None, decoder: dict[str, Any] | None) -> None:
        if metaspace is not None:
            rep, scheme, split = metaspace.get("replacement"), metaspace.get("prepend_scheme", "always"), \
                metaspace.get("split", True)
            if not (isinstance(rep, str) and len(rep) == 1 and scheme in ("always", "first", "never")
                    and isinstance(split, bool)):
                raise ModelFormatError(f"tokenizer.json Metaspace pre_tokenizer {metaspace!r} is not supported; "
                                       "tokforge reads one replacement character, prepend_scheme always/first/never "
                                       "and split true/false")
            self._rep, self._scheme, self._split = rep, scheme, split
        try:
            Decoder.from_hf(decoder)  # the tokenizer decodes with it (``layout.hf_decoder``): checked now
        except ValueError as e:
            raise ModelFormatError(f"tokenizer.json {e}") from None
        self._spec, self._decoder_spec = metaspace, decoder
        self._layout: Layout = sentencepiece_layout(decoder)
        self._pattern, self._regex, self._digits = PATTERN, "", "none"
        self._metaspace = self._prefix_space = False

    @classmethod
    def from_hf(cls, obj: Any, decoder: Any) -> "SentencepieceSplit":
        """Read the ``pre_tokenizer`` of a byte-fallback BPE tokenizer.json: null, or a Metaspace (alone or
        in a Sequence of one); ModelFormatError naming anything else."""
        if isinstance(obj, dict) and obj.get("type") == "Sequence" and len(obj.get("pretokenizers") or []) == 1:
            obj = obj["pretokenizers"][0]
        if obj is not None and not (isinstance(obj, dict) and obj.get("type") == "Metaspace"):
            shown = obj.get("type") if isinstance(obj, dict) else obj
            raise ModelFormatError(f"tokenizer.json pre_tokenizer {shown!r} is not supported with a byte-fallback "
                                   "BPE; tokforge reads a Metaspace pre-tokenizer or none")
        return cls(obj, decoder)

    def split(self, text: str, first: bool = True) -> list[str]:
        if not text:
            return []
        if self._spec is None:
            return [text]
        rep = self._rep
        text = text.replace(" ", rep)
        if (self._scheme == "always" or (self._scheme == "first" and first)) and not text.startswith(rep):
            text = rep + text
        if not self._split:
            return [text]
        pieces, start = [], 0
        for i in range(1, len(text)):  # a piece starts at each replacement character (merged with what follows)
            if text[i] == rep:
                pieces.append(text[start:i])
                start = i
        pieces.append(text[start:])
        return pieces

    def scan_bytes(self, buf: bytes, doc_bounds: np.ndarray) -> np.ndarray | None:
        return None

    @property
    def has_scanner(self) -> bool:
        return False

    def to_hf(self) -> dict[str, Any] | None:
        return None if self._spec is None else dict(self._spec)

    def config(self) -> dict[str, Any]:
        return {"pattern": PATTERN, "metaspace": self._spec, "decoder": self._decoder_spec}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pretokenizer):
            return NotImplemented
        return isinstance(other, SentencepieceSplit) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(("SentencepieceSplit", repr(self.config())))

    def __repr__(self) -> str:
        return f"SentencepieceSplit({self._spec!r})"

    def __reduce__(self):
        return (SentencepieceSplit, (self._spec, self._decoder_spec))


def pretokenizer_from_config(config: Any) -> Pretokenizer:
    """The pretokenizer of a tokforge.json ``pretokenizer`` config (``Pretokenizer.from_config``, or this one's)."""
    if isinstance(config, dict) and config.get("pattern") == PATTERN:
        return SentencepieceSplit(config.get("metaspace"), config.get("decoder"))
    return Pretokenizer.from_config(config)
