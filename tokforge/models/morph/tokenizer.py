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
   after the text before it. A root gets its own token ``⟦kitap⟧`` (shared by ``kitap``/``kitab-``)
   when it is among the most frequent roots of the training corpus (``morph_roots``: the share
   of the learnable vocabulary given to roots); other roots are ordinary text for the fallback model.
3. **Fallback.** Everything else -- words without an analysis, roots without a token, the
   non-letter in front of a word, numbers, punctuation, whitespace -- is encoded by the fallback
   model (``morph_fallback``: byte-level BPE or byte-level Unigram LM, trained on exactly that
   material).

Whitespace: the space in front of a word stays ordinary text: with a root token it is the byte
token ``" "`` (the paper's space token), otherwise it is part of the fallback model's word
(``" foo"``); every other whitespace is fallback text. So ``decode(encode(text)) == text`` for
any text: the stage only uses a case marker, an affix token or a root token when decoding gives the
word back exactly, and a word piece is analysed only when its letters cannot run into the letters
of the previous or (for ALL CAPS) next piece, so decoding knows where a word starts and ends.

Export: a tokenizer.json cannot express the stage (rule-based analysis, context-dependent affix
surfaces and case restoration are no Hugging Face steps), so ``save(hf=True)`` and
``tokforge export`` raise ``ExportError``; ``tokforge train`` writes ``tokforge.json`` only.

The fallback model is any model (``tokforge.models.protocol``), chosen by name when training
(``tokforge.models.morph.trainer``): ``"bpe"`` (``tokforge.models.bpe``) or ``"unigram"``
(``tokforge.models.unigram``, Viterbi encoding). The model file stores it as the plain model of that
algorithm stores it (merges, or scored pieces) with the stage in ``"morph"`` (``tokforge.formats.native``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tokforge.errors import InputError, ModelFormatError
from tokforge.formats import native
from tokforge.models.morph.stage import CAP, CAPS, LETTER, MorphStage, affix_token, root_token
from tokforge.models.protocol import Model
from tokforge.packed import utf8
from tokforge.text.normalizers import Normalizer
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.specials import Allowed, SpecialSplitter
from tokforge.tokenizer import Ids, Tokenizer

FALLBACK_LABELS = {"bpe": "BPE", "unigram": "Unigram LM"}  # for messages

class MorphTokenizer(Tokenizer):
    """A tokenizer with the morphology stage between the pretokenizer and the fallback model: text
    becomes the stage's units (``model_units``), ids become text through the stage (``decode``);
    tokforge.json names it ``"morph"``, and tokenizer.json cannot express it (``MorphStage.hf_parts``)."""

    algorithm = "morph"
    spells_text = False  # an affix token stands for several surface forms, a case marker for none

    def __init__(self, model: Model, stage: MorphStage, normalizer: Normalizer | None = None,
                 pretokenizer: Pretokenizer | None = None, training: dict[str, Any] | None = None):
        super().__init__(model, normalizer, pretokenizer, training)
        self.stage = stage
        self.fallback = model.algorithm  # "bpe" or "unigram": the fallback model's algorithm
        reserved = stage.reserved_tokens()
        missing = [t for t in reserved if t not in model.special_tokens]
        if missing:
            raise ModelFormatError(f"the morph stage needs its {len(reserved):,} tokens in the vocabulary as reserved "
                                   f"tokens; {len(missing):,} are missing (e.g. {missing[0]!r})")
        reserved_set = set(reserved)
        self._user_specials = {t: i for t, i in model.special_tokens.items() if t not in reserved_set}
        self._specials = SpecialSplitter(self._user_specials)
        ids = model.special_tokens
        self._kind: dict[int, tuple[str, Any]] = {ids[CAP]: ("case", "cap"), ids[CAPS]: ("case", "caps")}
        for k in range(len(stage.rules.affixes)):
            self._kind[ids[affix_token(stage.rules, k)]] = ("affix", k)
        for r in stage.roots:
            self._kind[ids[root_token(r)]] = ("root", r)
        self._plans: dict[tuple[str, bool, bool], list[tuple[int, int, int]]] = {}

    # ---- encoding ----------------------------------------------------------------------------
    def model_units(self, text: str, *, allowed_special: Allowed = "all",
                    disallowed_special: Allowed = ()) -> list[tuple[str, int | None]]:
        """The stage's units of ``text``: ``(token, id)`` for a special or stage token (``pieces`` shows
        a stage token by name), ``(text, None)`` for what the fallback model encodes."""
        units: list[tuple[str, int | None]] = []
        ids = self.model.special_tokens
        specials, _ = self._special_splitters(text, allowed_special, disallowed_special)
        for segment, special in specials.segments(text):
            if special is not None:
                units.append((segment, special))
                continue
            pieces = self.pretokenizer.split(self.normalizer.normalize(segment))
            for j, p in enumerate(pieces):
                units.extend((u.token, ids[u.token]) if u.token is not None else (u.text, None)
                             for u in self.stage.plan(p, *_neighbours(pieces, j)))
        return units

    def packed_pieces(self, texts: list[str], *, allowed_special: Allowed = "all"
                      ) -> tuple[bytes, np.ndarray, np.ndarray] | None:
        return None  # the stage plans each piece in Python: no byte kernels path

    def encode(self, text: str) -> list[int]:
        return self.encode_with_offsets(text)[0]

    def encode_batch(self, texts, num_threads: int | None = None) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[int], list[int]]:
        """Token ids and each token's character span ``[start, end)`` in ``text`` (in the
        normalized text when there is a normalizer). A case marker has an empty span at the start
        of its piece; a root token spans its stem, an affix token its surface form."""
        if not isinstance(text, str):
            raise InputError(f"encode takes a str, got {type(text).__name__}")
        ids: list[int] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for segment, special in self._specials.segments(text):
            if special is not None:
                ids.append(special)
                starts.append(pos)
                ends.append(pos + len(segment))
                pos += len(segment)
                continue
            normalized = self.normalizer.normalize(segment)
            pieces = self.pretokenizer.split(normalized)
            for j, p in enumerate(pieces):
                for i, s, e in self._plan_ids(p, *_neighbours(pieces, j)):
                    ids.append(i)
                    starts.append(pos + s)
                    ends.append(pos + e)
                pos += len(p)
        return ids, starts, ends

    def _plan_ids(self, piece: str, prev_letter: bool, next_letter: bool) -> list[tuple[int, int, int]]:
        key = (piece, prev_letter, next_letter)
        cached = self._plans.get(key)
        if cached is not None:
            return cached
        out: list[tuple[int, int, int]] = []
        special = self.model.special_tokens
        for u in self.stage.plan(piece, prev_letter, next_letter):
            if u.token is not None:
                out.append((special[u.token], u.start, u.end))
                continue
            data = utf8(u.text)
            pieces_ids = self.model.encode_pieces([data])[0]
            # character span of each token: its bytes' characters in the unit's text
            byte_pos, char_of_byte = 0, _char_index_of_bytes(u.text)
            for i in pieces_ids:
                n = len(self.model.vocab[i])
                out.append((i, u.start + char_of_byte[byte_pos], u.start + char_of_byte[byte_pos + n]))
                byte_pos += n
        if len(self._plans) > 200_000:
            self._plans.clear()
        self._plans[key] = out
        return out

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
            if what[0] == "root":
                following = kind.get(ids[n + 1]) if n + 1 < len(ids) else None
                text = stage.stem(what[1], following[1] if following and following[0] == "affix" else None)
            else:
                text = stage.affix_after(what[1], "".join(out[-8:]))
            out.append(text)
            size += len(text)
        if buf:
            out.append(buf.decode("utf-8", errors="replace"))
        return stage.apply_case("".join(out), marks)

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
            return cls(model, stage, parts.normalizer, parts.pretokenizer, parts.training)


def _neighbours(pieces: list[str], j: int) -> tuple[bool, bool]:
    prev_letter = j > 0 and bool(LETTER.match(pieces[j - 1][-1:]))
    next_letter = j + 1 < len(pieces) and bool(LETTER.match(pieces[j + 1][:1]))
    return prev_letter, next_letter


def _char_index_of_bytes(text: str) -> list[int]:
    """For each UTF-8 byte offset of ``text`` (and its end), the index of the character it lies in."""
    out: list[int] = []
    for k, c in enumerate(text):
        out.extend([k] * len(c.encode("utf-8", errors="surrogatepass")))
    out.append(len(text))
    return out
