"""The layout of a tokenizer's tokens: how token strings spell their bytes, whether single bytes are
pieces or byte-fallback tokens, and what that makes of the pre-tokenizer and the decoder of a
tokenizer.json. One place for what ``pattern="metaspace"`` means; the other modules ask a ``Layout``.

- ``BYTE_LEVEL`` (GPT-2's, every pattern but ``"metaspace"``): each byte is a visible character in
  token strings (``Ġ`` for a space, ``tokforge.text.bytelevel``), every single byte is a piece, and
  tokenizer.json ends the pre-tokenizer with ``ByteLevel`` and decodes with ``ByteLevel``.
- ``METASPACE`` (sentencepiece's, ``pattern="metaspace"``, Unigram only): a piece is whole characters
  written with ``▁`` for spaces; the text is cut before each space (HF's ``Metaspace``, nothing
  prepended); 256 byte tokens ``<0x00>``..``<0xFF>`` stand for the bytes of a character no piece
  covers (byte fallback, with the special token ``<unk>`` HF's Unigram needs); decoding turns ``▁``
  back into spaces and runs of byte tokens into text. tokforge keeps spaces as spaces inside and
  writes ``▁`` only in token strings; a literal ``▁`` in the text is a space for HF, so tokforge
  turns it into one (decode gives a space).

    >>> layout_of("metaspace").spell(b" ab"), layout_of("cl100k").spell(b" ab")
    ('▁ab', 'Ġab')
    >>> METASPACE.byte_token(0x41), BYTE_LEVEL.byte_token(0x41), METASPACE.read("▁ab")
    ('<0x41>', 'A', b' ab')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tokforge.text.bytelevel import bytes_to_visible, visible_to_bytes

METASPACE_PATTERN = "metaspace"  # the pretokenizer pattern of the METASPACE layout
METASPACE_MARK = "\u2581"
METASPACE_REGEX = "[ \u2581][^ \u2581]*|[^ \u2581]+"  # a piece starts at each space (or "▁")
METASPACE_HF = {"type": "Metaspace", "replacement": METASPACE_MARK, "prepend_scheme": "never", "split": True}
# the last pre-tokenizer step and the decoder of the byte-level layout (both: HF's ByteLevel, no regex)
BYTELEVEL = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
# "▁" back to spaces, runs of <0xNN> tokens back to text
METASPACE_DECODER = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": METASPACE_MARK}, "content": " "},
    {"type": "ByteFallback"}, {"type": "Fuse"}]}


@dataclass(frozen=True)
class Layout:
    """How token strings spell bytes, and what the tokenizer.json around them is."""

    name: str
    label: str                           # for `tokforge info`
    byte_fallback: bool                  # byte tokens <0xNN> beside whole-character pieces (else every byte is a piece)
    unk_token: str | None                # a special token the layout needs in the vocabulary
    algorithms: tuple[str, ...] | None   # the training algorithms it is for (None: every one)
    hf_decoder: dict[str, Any]
    literal: bool = False                # token strings are the text itself (imported sentencepiece BPE)

    def spell(self, piece: bytes) -> str:
        """The token string of a piece (not of a special or byte-fallback token)."""
        if self.literal:
            return piece.decode("utf-8")
        return piece.decode("utf-8").replace(" ", METASPACE_MARK) if self.byte_fallback else bytes_to_visible(piece)

    def read(self, text: str) -> bytes:
        """The piece of a token string (inverse of ``spell``); ModelFormatError for a string no piece spells."""
        if self.literal:
            return text.encode("utf-8")
        return text.replace(METASPACE_MARK, " ").encode("utf-8") if self.byte_fallback else visible_to_bytes(text)

    def byte_token(self, byte: int) -> str:
        """The token string of the token that stands for the single byte ``byte``."""
        return f"<0x{byte:02X}>" if self.byte_fallback else bytes_to_visible(bytes([byte]))

    def hf_pre_tokenizer(self, digits: list[dict[str, Any]], split: dict[str, Any]) -> dict[str, Any]:
        """The ``"pre_tokenizer"`` of a tokenizer.json: the digit ``Split`` (if any), then the ``split``
        and ``ByteLevel``, or ``Metaspace`` (which splits on its own)."""
        if self.byte_fallback:
            metaspace = dict(METASPACE_HF)
            return {"type": "Sequence", "pretokenizers": [*digits, metaspace]} if digits else metaspace
        return {"type": "Sequence", "pretokenizers": [*digits, split, dict(BYTELEVEL)]}


BYTE_LEVEL = Layout("byte-level", "byte-level", False, None, None, BYTELEVEL)
METASPACE = Layout(METASPACE_PATTERN, "sentencepiece-style metaspace: '▁' for spaces, byte fallback", True, "<unk>",
                   ("unigram",), METASPACE_DECODER)


def sentencepiece_layout(decoder: dict[str, Any] | None) -> Layout:
    """The layout of an imported sentencepiece-style BPE (Llama 2, Mistral v1) or Unigram: its normalizer or
    Metaspace pre-tokenizer writes ``▁`` into the text, so token strings are the text itself; byte
    fallback; ids become text through the file's own ``decoder`` (``tokforge.text.decoders``)."""
    return Layout("sentencepiece", "sentencepiece-style: '▁' in the text, byte fallback", True, "<unk>",
                  ("bpe", "unigram"), decoder or {}, literal=True)


def layout_of(pattern: str) -> Layout:
    """The layout of a pretokenizer pattern: ``METASPACE`` for ``"metaspace"``, else ``BYTE_LEVEL``."""
    return METASPACE if pattern == METASPACE_PATTERN else BYTE_LEVEL


def metaspace_bounds(buf: bytes, doc_bounds: np.ndarray) -> np.ndarray | None:
    """The metaspace split of UTF-8 documents (a piece starts at each space), as piece bounds in
    ``buf``; None when a literal "▁" occurs (its pieces are not substrings of ``buf``: split() them).

    >>> metaspace_bounds(b"a  b\\nc d", np.array([0, 4, 8])).tolist()
    [0, 1, 2, 4, 6, 8]
    """
    if METASPACE_MARK.encode("utf-8") in buf:
        return None
    arr = np.frombuffer(buf, np.uint8)
    return np.union1d(np.asarray(doc_bounds, np.int64), np.flatnonzero(arr == 0x20)).astype(np.int64)
