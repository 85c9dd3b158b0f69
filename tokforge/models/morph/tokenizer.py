"""The morphology hybrid (``--algo morph``): a root-affix stage in front of a statistical model.

After the pretokenizer, each word piece (an optional non-letter, then letters: ``" Kitaplarımızdan"``)
goes through the stage:

1. **Case.** A word that is Capitalized or ALL CAPS (2+ letters) is lowercased with the rule set's
   case mapping (Turkish: I/ı, İ/i) after a marker token, ``⟦Cap⟧`` or ``⟦CAPS⟧``; so ``Kitap``
   and ``kitap`` share their ids. Other casings (``iPhone``) are left as they are.
2. **Root + affixes.** The lowercase word is analysed (``tokforge.models.morph.rules``): a known root + a valid
   affix chain that the phonological rules write back exactly; failing that, an unknown stem +
   an affix chain (``debian-lar-ı``, the stem going to the fallback model). Each affix group has one token
   ``⟦PL:lAr⟧`` for all its allomorphs (``-ler``/``-lar``): decoding writes the form the rules give
   after the text before it; after an apostrophe (``İstanbul'da``) the affixes are written after the
   word before it. A root gets its own token ``⟦kitap⟧`` (shared by ``kitap``/``kitab-``), and after
   a space ``⟦ kitap⟧``, when it is among the most frequent of the training corpus (``morph_roots``:
   the share of the learnable vocabulary given to roots); other roots are text for the fallback model.
3. **Fallback.** Everything else -- words without an analysis, roots without a token, the
   non-letter in front of a word, numbers, punctuation, whitespace -- is encoded by the fallback
   model (``morph_fallback``: byte-level BPE or byte-level Unigram LM, trained on exactly that
   material).

Whitespace: the space in front of a word is in its root token when the root has one after a space,
else ordinary text: the byte token ``" "`` before a root token, or part of the fallback model's word
(``" foo"``); every other whitespace is fallback text. So ``decode(encode(text)) == text`` for
any text: the stage only uses a case marker, an affix token or a root token when decoding gives the
word back exactly, and a word piece is analysed only when its letters cannot run into the letters
of the previous or (for ALL CAPS) next piece, so decoding knows where a word starts and ends.

Speed: batches are planned by the numba kernel ``tokforge.kernels.morph`` (``packed_units``); the
stage's Python code (``MorphStage``) plans single pieces for offsets and is the tests' oracle.

Export: a tokenizer.json cannot express the stage (rule-based analysis, context-dependent affix
surfaces and case restoration are no Hugging Face steps), so ``tokforge export`` raises
``ExportError``; the model folder loads in transformers through tokforge's tokenizer class
(``tokforge.formats.hf_code``).

The fallback model is any model (``tokforge.models.protocol``), chosen by name when training
(``tokforge.models.morph.trainer``): ``"bpe"`` (``tokforge.models.bpe``) or ``"unigram"``
(``tokforge.models.unigram``, Viterbi encoding). The model file stores it as the plain model of that
algorithm stores it (merges, or scored pieces) with the stage in ``"morph"`` (``tokforge.formats.native``).
"""
from __future__ import annotations

import itertools
from typing import Any, Iterator

import numpy as np

from tokforge.errors import InputError, ModelFormatError
from tokforge.formats import native
from tokforge.models.morph.compiled import compile_stage, plan_batch
from tokforge.models.morph.stage import CAP, CAPS, MorphStage, affix_token, root_token
from tokforge.models.protocol import Model
from tokforge.packed import Units, lengths_of, offsets_from_lengths, utf8
from tokforge.text.normalizers import Normalizer
from tokforge.text.numbers import TriadicSuffixStage
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.specials import Allowed
from tokforge.tokenizer import Ids, Tokenizer

FALLBACK_LABELS = {"bpe": "BPE", "unigram": "Unigram LM"}  # for messages

class MorphTokenizer(Tokenizer):
    """A tokenizer with the morphology stage between the pretokenizer and the fallback model: text
    becomes the stage's units (``model_units``; in batches, ``packed_units`` plans with the numba kernel
    ``tokforge.kernels.morph``), ids become text through the stage (``decode``); tokforge.json names it
    ``"morph"``, and tokenizer.json cannot express it (``MorphStage.hf_parts``)."""

    algorithm = "morph"
    spells_text = False  # an affix token stands for several surface forms, a case marker for none

    def __init__(self, model: Model, stage: MorphStage, normalizer: Normalizer | None = None,
                 pretokenizer: Pretokenizer | None = None, training: dict[str, Any] | None = None,
                 numbers: TriadicSuffixStage | None = None):
        reserved = stage.reserved_tokens()
        missing = [t for t in reserved if t not in model.special_tokens]
        if missing:
            raise ModelFormatError(f"the morph stage needs its {len(reserved):,} tokens in the vocabulary as reserved "
                                   f"tokens; {len(missing):,} are missing (e.g. {missing[0]!r})")
        self.stage = stage
        super().__init__(model, normalizer, pretokenizer, training, numbers)
        self.fallback = model.algorithm  # "bpe" or "unigram": the fallback model's algorithm
        ids = model.special_tokens
        self._kind: dict[int, tuple[str, Any]] = {ids[CAP]: ("case", "cap"), ids[CAPS]: ("case", "caps")}
        for k in range(len(stage.rules.affixes)):
            self._kind[ids[affix_token(stage.rules, k)]] = ("affix", k)
        for r in stage.roots:
            self._kind[ids[root_token(r)]] = ("root", r)
        for r in stage.spaced_roots:
            self._kind[ids[root_token(r, spaced=True)]] = ("spaced root", r)
        self._tables = compile_stage(stage.rules)
        # the planner's stage codes (tokforge.kernels.morph) as ids: case markers, affixes, roots (-1: no token)
        codes = [ids[CAP], ids[CAPS], *(ids[affix_token(stage.rules, k)] for k in range(len(stage.rules.affixes)))]
        self._stage_codes = np.array(
            codes + [ids[root_token(r)] if r in stage.roots_set else -1 for r in stage.rules.roots]
            + [ids[root_token(r, spaced=True)] if r in stage.spaced_set else -1 for r in stage.rules.roots], np.int64)

    # ---- encoding ----------------------------------------------------------------------------
    def model_units(self, text: str, *, allowed_special: Allowed = "all",
                    disallowed_special: Allowed = ()) -> list[tuple[str, int | None]]:
        """The stage's units of ``text``: ``(token, id)`` for a special or stage token (``pieces`` shows
        a stage token by name) or a number stage's reserved unit, ``(text, None)`` for what the fallback
        model encodes."""
        ids = self.model.special_tokens
        return [(token, ids[token]) if token is not None else (piece, i)
                for piece, i, token, _, _ in self._units(text, allowed_special, disallowed_special)]

    def _units(self, text: str, allowed_special: Allowed = "all", disallowed_special: Allowed = ()
               ) -> Iterator[tuple[str, int | None, str | None, int, int]]:
        """(text for the model or a reserved unit's text, its id or None, stage token or None, start, end)
        of every unit of ``text``; spans in the normalized text. ``allowed_special``/``disallowed_special``:
        as in ``encode``."""
        pos = 0
        specials, _ = self._special_splitters(text, allowed_special, disallowed_special)
        for segment, special in specials.segments(text):
            if special is not None:
                yield segment, special, None, pos, pos + len(segment)
                pos += len(segment)
                continue
            for part, reserved in self._staged(self.normalizer.normalize(segment)):
                if reserved:
                    yield part, self._reserved_id(part), None, pos, pos + len(part)
                    pos += len(part)
                    continue
                pieces = self.pretokenizer.split(part)
                starts = [0, *itertools.accumulate(map(len, pieces))]
                for j, _, units in self.stage.plan_pieces(pieces):
                    for u in units:
                        yield u.text, None, u.token, pos + starts[j] + u.start, pos + starts[j] + u.end
                pos += len(part)

    def encode(self, text: str, *, allowed_special: Allowed = "all", disallowed_special: Allowed = (),
               add_special_tokens: bool = False) -> list[int]:
        if not isinstance(text, str):
            raise InputError(f"encode takes a str, got {type(text).__name__}")
        if self._tables is not None and not add_special_tokens:
            self._special_splitters(text, allowed_special, disallowed_special)  # a disallowed one: InputError
            scanned = self.scanned([text], allowed_special=allowed_special)
            if scanned is not None:  # the kernel's plan of the scanned pieces (scanned once)
                ids, _ = self.units_of_pieces([text], *scanned, allowed_special=allowed_special).ids(self.model)
                return ids.tolist()
        return super().encode(text, allowed_special=allowed_special, disallowed_special=disallowed_special,
                              add_special_tokens=add_special_tokens)

    def units_of_pieces(self, texts: list[str], buf: bytes, piece_bounds: np.ndarray, first_piece: np.ndarray,
                        *, allowed_special: Allowed = "all") -> Units:
        """The units of the pieces, planned by the numba kernel (each distinct piece once; the documents
        with a letter whose case only Python maps, by the stage in Python)."""
        if self._tables is None:  # a rule set the kernel cannot express
            return self.python_units(texts, allowed_special=allowed_special)
        planned = plan_batch(self._tables, buf, piece_bounds, first_piece, self._stage_codes, self.stage.version)
        units = Units(planned.texts, planned.text_bounds, planned.codes, planned.doc_units)
        if planned.doc_python.any():
            units = _with_python_units(units, planned.doc_python,
                                       [self.model_units(t, allowed_special=allowed_special) for t in texts])
        return units

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[int], list[int]]:
        """Token ids and each token's character span ``[start, end)`` in ``text`` (in the
        normalized text when there is a normalizer). A case marker has an empty span at the start
        of its piece; a root token spans its stem, an affix token its surface form."""
        if not isinstance(text, str):
            raise InputError(f"encode takes a str, got {type(text).__name__}")
        ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        special = self.model.special_tokens
        for piece, i, token, start, end in self._units(text):
            if token is not None or i is not None:
                ids.append(special[token] if token is not None else i)
                starts.append(start)
                ends.append(end)
                continue
            # the model's tokens, with each token's character span: its bytes' characters in the unit
            char_of_byte = _char_index_of_bytes(piece)
            byte_pos = 0
            for i in self._encoded_pieces([piece])[piece]:
                n = len(self.model.vocab[i])
                ids.append(i)
                starts.append(start + char_of_byte[byte_pos])
                ends.append(start + char_of_byte[byte_pos + n])
                byte_pos += n
        return ids, starts, ends

    # ---- decoding ----------------------------------------------------------------------------
    def decode(self, ids: Ids, skip_special_tokens: bool = False) -> str:
        ids = self._check_ids(ids)
        vocab, kind, stage = self.model.vocab, self._kind, self.stage
        skipped = set(self._user_specials.values()) if skip_special_tokens else set()
        out: list[str] = []
        size = 0
        buf = bytearray()
        marks: list[tuple[int, str]] = []
        for n, i in enumerate(ids):
            what = kind.get(i)
            if what is None:
                if i not in skipped:
                    buf += vocab[i]
                continue
            if buf:
                out.append(buf.decode("utf-8", errors="replace"))
                size += len(out[-1])
                buf.clear()
            if what[0] == "case":
                marks.append((size, what[1]))
                continue
            if what[0] in ("root", "spaced root"):
                following = kind.get(ids[n + 1]) if n + 1 < len(ids) else None
                text = stage.stem(what[1], following[1] if following and following[0] == "affix" else None)
                if what[0] == "spaced root":
                    text = " " + text
            else:
                text = stage.affix_after(what[1], "".join(out[-8:]))
            out.append(text)
            size += len(text)
        if buf:
            out.append(buf.decode("utf-8", errors="replace"))
        text = stage.apply_case("".join(out), marks)
        return text if self.numbers is None else self.numbers.inverse(text)

    def decode_bytes(self, ids: Ids, skip_special_tokens: bool = False) -> bytes:
        return self.decode(ids, skip_special_tokens).encode("utf-8", errors="surrogatepass")

    @property
    def algorithm_label(self) -> str:
        return f"morph (root-affix stage + byte-level {FALLBACK_LABELS[self.fallback]} fallback)"

    # ---- saving and loading --------------------------------------------------------------------
    def to_native(self) -> dict[str, Any]:
        return {**super().to_native(), "morph": native.morph_section(self.stage, self.fallback)}

    @classmethod
    def from_native(cls, doc: dict[str, Any], source: str = "<dict>") -> "MorphTokenizer":
        model, stage, parts, f = native.read_morph(doc, source)
        with f.field("vocab"):
            return cls(model, stage, parts.normalizer, parts.pretokenizer, parts.training, parts.numbers)


def _char_index_of_bytes(text: str) -> list[int]:
    """For each UTF-8 byte offset of ``text`` (and its end), the index of the character it lies in."""
    out: list[int] = []
    for k, c in enumerate(text):
        out.extend([k] * len(c.encode("utf-8", errors="surrogatepass")))
    out.append(len(text))
    return out


def _with_python_units(units: Units, python: np.ndarray, planned: list[list[tuple[str, int | None]]]) -> Units:
    """``units`` with the documents flagged in ``python`` given their units planned in Python."""
    pieces = [units.buf[a:b] for a, b in zip(units.piece_bounds[:-1].tolist(), units.piece_bounds[1:].tolist())]
    index = {p: j for j, p in enumerate(pieces)}
    codes, lengths = [], []
    for d, flagged in enumerate(python.tolist()):
        if not flagged:
            part = units.codes[units.text_units[d]:units.text_units[d + 1]].tolist()
        else:
            part = []
            for piece, i in planned[d]:
                if i is None:
                    data = utf8(piece)
                    i = -1 - index.setdefault(data, len(index))
                    if -1 - i == len(pieces):
                        pieces.append(data)
                part.append(i)
        codes += part
        lengths.append(len(part))
    return Units(b"".join(pieces), offsets_from_lengths(lengths_of(pieces)), np.array(codes, np.int64),
                 offsets_from_lengths(lengths))
