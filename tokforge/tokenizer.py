"""The tokenizer, tokforge's facade: special tokens -> normalizer -> number stage -> pretokenizer ->
model (any ``tokforge.models.protocol.Model``), and back; saved and loaded through the file formats
(``tokforge.formats``: tokforge.json, Hugging Face files).

    >>> tok = Tokenizer.load("out/")                      # doctest: +SKIP
    >>> ids = tok.encode("Merhaba dünya!")                 # doctest: +SKIP
    >>> tok.decode(ids)                                    # doctest: +SKIP
    'Merhaba dünya!'
"""
from __future__ import annotations

import functools
import importlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Iterable, Sequence, Union

import numpy as np

from tokforge.errors import InputError, ModelFormatError
from tokforge.formats import folder, hf, hf_code, native
from tokforge.io.folders import OutputFolder
from tokforge.models.protocol import Model
from tokforge.models.unigram import combine_nbest
from tokforge.packed import Units, even_ranges, lengths_of, offsets_from_lengths, utf8
from tokforge.text.decoders import Decoder
from tokforge.text.normalizers import Normalizer
from tokforge.text.numbers import TriadicSuffixStage
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.specials import Allowed, AddedTokens, SpecialPolicy, SpecialSplitter

CACHE_LIMIT = 200_000  # pieces remembered by encode (cleared when full)
FAST_PATH_MIN_CHARS = 4096  # batches this large go through the byte kernels (scan + BPE)
FAST_PATH_CHUNK_CHARS = 1 << 20  # texts per kernel call, about this many characters

Ids = Union[Sequence[int], np.ndarray, int]  # what decode takes: see ``id_list``


#: The modules of the tokenizers with a stage in front of their model, by the algorithm they write in
#: tokforge.json: ``Tokenizer.from_native`` imports one when it meets its algorithm (tokforge does not
#: import them on start: BPE does without).
STAGED_TOKENIZERS = {"morph": "tokforge.models.morph.tokenizer"}


class Tokenizer:
    """A trained tokenizer: a model (BPE or Unigram, ``tokforge.models.protocol``) with its text pipeline.

    A subclass may put a stage in front of the model (the morphology hybrid,
    ``tokforge.models.morph.tokenizer``): it overrides how text becomes model units and how ids
    become text, and names the algorithm it writes in tokforge.json (``algorithm = "morph"``), which
    registers it here so that ``load`` gives it back. Its ``stage`` says what tokenizer.json can
    express of it (``hf_parts``).
    """

    stage: Any = None  # the stage in front of the model, if any (a subclass's: it has hf_parts, in_tokenizer_json, facts)
    spells_text: ClassVar[bool] = True  # the tokens' bytes, back to back, are the (normalized) text
    _by_algorithm: ClassVar[dict[str, type["Tokenizer"]]] = {}  # the subclasses by their tokforge.json algorithm

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if isinstance(cls.__dict__.get("algorithm"), str):
            Tokenizer._by_algorithm[cls.__dict__["algorithm"]] = cls

    def __init__(self, model: Model, normalizer: Normalizer | None = None,
                 pretokenizer: Pretokenizer | None = None, training: dict[str, Any] | None = None,
                 numbers: TriadicSuffixStage | None = None, added: AddedTokens | None = None):
        self.model = model
        self.added = added or AddedTokens()  # flags of imported added tokens, the post-processor's ids
        self.normalizer = normalizer or Normalizer("none")
        self.pretokenizer = pretokenizer or Pretokenizer("cl100k")
        self.training = dict(training or {})
        # number stage (tokforge/text/numbers.py): its fixed tokens are model specials matched only by the stage
        self.numbers = numbers
        reserved = set(numbers.reserved_tokens()) if numbers else set()
        missing = sorted(reserved - set(model.special_tokens))
        if missing:
            raise ModelFormatError(f"numbers={numbers.mode!r} needs its {len(reserved):,} fixed tokens in the "
                                   f"vocabulary as reserved tokens; {len(missing):,} are missing (e.g. {missing[0]!r})")
        if self.stage is not None:  # a subclass's stage in front of the model: its tokens are reserved too
            reserved |= set(self.stage.reserved_tokens())
        self._user_specials = {t: i for t, i in model.special_tokens.items() if t not in reserved}
        raw = {t: i for t, i in self._user_specials.items() if t not in self.added.normalized}
        self._specials = SpecialSplitter(raw, self.added.lstrip, self.added.rstrip)
        # added tokens matched in the normalized text (HF's normalized=true): their normalized content
        normalized = {self.normalizer.normalize(t): i for t, i in self._user_specials.items()
                      if t in self.added.normalized}
        self._normalized_specials = SpecialSplitter(normalized, *(
            {self.normalizer.normalize(t) for t in flag} for flag in (self.added.lstrip, self.added.rstrip)))
        self._splitters: dict[frozenset[str], tuple[SpecialSplitter, SpecialSplitter]] = {}
        self._cache: dict[str, list[int]] = {}
        if self.pretokenizer.layout.byte_fallback != model.byte_fallback:
            raise ModelFormatError("the 'metaspace' pretokenizer goes with a byte-fallback Unigram model and the "
                                   "byte-fallback model with it (with a byte-level pattern, every byte is a piece)")
        model.check()  # validate the vocabulary and merges now, not at the first encode

    # ---- vocabulary -------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.model.vocab)

    @property
    def special_tokens(self) -> dict[str, int]:
        """The special tokens (not the fixed number tokens of ``numbers='tst-vocab'``)."""
        return dict(self._user_specials)

    def id_to_token(self, i: int) -> str:
        """The token's text as in tokenizer.json (byte-level characters, or for the metaspace layout
        "▁" for spaces and ``<0xNN>`` byte tokens; specials as they are)."""
        if type(i) is not int or not 0 <= i < len(self.model.vocab):  # exporters call this once per token
            i, = self._check_ids([i])
        return self._token_strings[i]

    def token_to_id(self, token: str) -> int | None:
        return self._token_ids.get(token)

    @functools.cached_property
    def _token_strings(self) -> list[str]:
        """``id_to_token`` of every id, spelled once (the exporters ask for each token several times)."""
        vocab, specials, layout, fallback_byte = (self.model.vocab, self._special_ids, self.pretokenizer.layout,
                                                  self.model.fallback_byte)
        out = []
        for i, token in enumerate(vocab):
            if i in specials:
                out.append(token.decode("utf-8"))
                continue
            byte = fallback_byte(i)
            out.append(layout.byte_token(byte) if byte is not None else layout.spell(token))
        return out

    @functools.cached_property
    def _special_ids(self) -> set[int]:  # special and fixed number tokens: stored as UTF-8, not byte-level
        return set(self.model.special_tokens.values())

    @functools.cached_property
    def _token_ids(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self._token_strings)}

    # ---- encoding ---------------------------------------------------------------------------
    def pieces(self, text: str) -> list[str]:
        """The pretokenized pieces of ``text`` (special tokens kept whole), for inspection."""
        return [unit for unit, _ in self.model_units(text)]

    def model_units(self, text: str, *, allowed_special: Allowed = "all",
                    disallowed_special: Allowed = ()) -> list[tuple[str, int | None]]:
        """What the model is given for ``text``, in order: ``(piece, None)`` for each pretokenized
        piece it encodes, ``(text, id)`` for a special token or a reserved unit of the number stage
        (that one id). ``encode`` is these ids with each piece's model encoding in between.
        ``allowed_special``/``disallowed_special``: as in ``encode``."""
        units: list[tuple[str, int | None]] = []
        raw, normalized = self._special_splitters(text, allowed_special, disallowed_special)
        for k, (segment, special) in enumerate(raw.segments(text)):
            if special is not None:
                units.append((segment, special))
                continue
            text_start = k == 0
            if text_start:
                normalized_segment, text_start = self.normalizer.normalize_from_start(segment)
            else:
                normalized_segment = self.normalizer.normalize(segment)
            for j, (part, special) in enumerate(normalized.segments(normalized_segment)):
                if special is not None:
                    units.append((part, special))
                    continue
                for staged, reserved in self._staged(part):
                    if reserved:
                        units.append((staged, self._reserved_id(staged)))
                    else:  # first: at the text's start (a prefix "▁" with prepend_scheme "first" goes there only)
                        first = text_start and j == 0
                        units.extend((piece, None) for piece in self.pretokenizer.split(staged, first=first))
        return units

    def _special_splitters(self, text: str, allowed: Allowed, disallowed: Allowed
                           ) -> tuple[SpecialSplitter, SpecialSplitter]:
        """The splitters of the special tokens that are control for this call (raw text, normalized
        text); InputError when ``text`` holds a disallowed one."""
        if allowed == "all" and not disallowed:
            return self._specials, self._normalized_specials
        policy = SpecialPolicy.of(set(self._user_specials), allowed, disallowed)
        policy.check(text)
        pair = self._splitters.get(policy.control)
        if pair is None:
            normalized = {self.normalizer.normalize(t) for t in policy.control}
            pair = (self._specials.only(policy.control), self._normalized_specials.only(normalized))
            self._splitters[policy.control] = pair
        return pair

    def _staged(self, normalized: str) -> list[tuple[str, bool]]:
        """Normalized text through the number stage: (text, is a reserved unit) pieces."""
        if self.numbers is None:
            return [(normalized, False)]
        return self.numbers.units(self.numbers.apply(normalized))

    def _reserved_id(self, unit: str) -> int:
        """Id of a reserved unit of the number stage: a fixed token, or a marker's byte token (the byte's
        piece; with byte fallback, the piece of the marker character if the vocabulary has one, as HF's
        Unigram encodes the isolated marker)."""
        i = self.model.special_tokens.get(unit)
        if i is not None:
            return i
        if self.model.byte_fallback:
            (i,) = self._encoded_pieces([unit])[unit]
            return i
        return self.model.byte_id(ord(unit))

    def encode(self, text: str, *, allowed_special: Allowed = "all", disallowed_special: Allowed = (),
               add_special_tokens: bool = False) -> list[int]:
        """Token ids of ``text``.

        Special tokens in the text: by default each becomes its id, as in transformers
        (``tok(text)``). tiktoken's options choose instead: ``allowed_special`` (``"all"`` or a set)
        are the special tokens that become their id, ``disallowed_special`` (``"all"``: every one not
        allowed) those whose presence is an InputError; any other is encoded as plain text. tiktoken's
        safe default is ``encode(text, allowed_special=set(), disallowed_special="all")``; for data, where
        a special token's text is only text, ``allowed_special=set()``.

        ``add_special_tokens``: put the tokens of an imported tokenizer.json's post-processor around the
        ids (e.g. Llama's ``<s>``), as transformers' ``tok(text)`` does; transformers'
        ``tok(text, add_special_tokens=False)`` is the default here.
        """
        if not isinstance(text, str):
            raise InputError(f"encode takes a str, got {type(text).__name__}")
        units = self.model_units(text, allowed_special=allowed_special, disallowed_special=disallowed_special)
        encoded = self._encoded_pieces([piece for piece, i in units if i is None])
        out: list[int] = list(self.added.prefix) if add_special_tokens else []
        for piece, i in units:
            if i is None:
                out.extend(encoded[piece])
            else:
                out.append(i)
        if add_special_tokens:
            out.extend(self.added.suffix)
        return out

    def encode_nbest(self, text: str, n: int) -> list[tuple[list[int], float]]:
        """Unigram only: the ``n`` most likely encodings of ``text``, best first, with their
        log-probability (the sum of the pieces' scores); the first is ``encode(text)``."""
        if not self.model.scored:
            raise InputError("encode_nbest needs a Unigram tokenizer; BPE has one encoding per text")
        if not isinstance(text, str):
            raise InputError(f"encode_nbest takes a str, got {type(text).__name__}")
        options = [[([i], 0.0)] if i is not None else self.model.nbest(utf8(unit), n)
                   for unit, i in self.model_units(text)]
        return combine_nbest(options, n)

    def encode_batch(self, texts: Iterable[str], num_threads: int | None = None) -> list[list[int]]:
        """Token ids of each text: the same as ``encode`` on each, but fast on large batches
        (chunks of texts go through the byte kernels on ``num_threads`` threads, default: all cores)."""
        texts = list(texts)
        for t in texts:
            if not isinstance(t, str):
                raise InputError(f"encode_batch takes str texts, got {type(t).__name__}")
        if not self._batches_in_bytes() or sum(map(len, texts)) < FAST_PATH_MIN_CHARS:
            return [self.encode(t) for t in texts]
        lengths = lengths_of(texts)
        n_chunks = -(-int(lengths.sum()) // FAST_PATH_CHUNK_CHARS)
        chunks = [texts[i:j] for i, j in even_ranges(offsets_from_lengths(lengths), n_chunks)]
        with ThreadPoolExecutor(num_threads or os.cpu_count() or 1) as pool:
            results = list(pool.map(self._encode_chunk, chunks))
        return [ids for chunk in results for ids in chunk]

    def _batches_in_bytes(self) -> bool:
        """Whether ``packed_units`` can take the byte kernels' path (no normalizer or number stage)."""
        return self.normalizer.names == ("none",) and self.numbers is None

    def _encode_chunk(self, texts: list[str]) -> list[list[int]]:
        ids, bounds = self.packed_units(texts).ids(self.model)
        cuts = bounds.tolist()
        ids = ids.tolist()
        return [ids[cuts[i]:cuts[i + 1]] for i in range(len(texts))]

    def packed_units(self, texts: list[str], *, allowed_special: Allowed = "all") -> Units:
        """What the model is given for each text (``model_units``), packed (``tokforge.packed.Units``):
        from the byte kernels' pretokenization where it applies (``scanned``), else text by text.
        ``allowed_special``: the special tokens whose text is control (as in ``encode``)."""
        scanned = self.scanned(texts, allowed_special=allowed_special)
        if scanned is None:
            return self.python_units(texts, allowed_special=allowed_special)
        return self.units_of_pieces(texts, *scanned, allowed_special=allowed_special)

    def python_units(self, texts: list[str], *, allowed_special: Allowed = "all") -> Units:
        """``model_units`` of each text, packed: the exact Python path."""
        return Units.of([[(None, i) if i is not None else (utf8(p), None)
                          for p, i in self.model_units(t, allowed_special=allowed_special)] for t in texts])

    def units_of_pieces(self, texts: list[str], buf: bytes, piece_bounds: np.ndarray, first_piece: np.ndarray,
                        *, allowed_special: Allowed = "all") -> Units:
        """The units of texts pretokenized by the byte kernels (``scanned``): here, every piece."""
        return Units(buf, piece_bounds, -1 - np.arange(len(piece_bounds) - 1, dtype=np.int64), first_piece)

    def scanned(self, texts: list[str], *, allowed_special: Allowed = "all"
                ) -> tuple[bytes, np.ndarray, np.ndarray] | None:
        """The byte kernels' pretokenization of ``texts`` when it applies (no normalizer, number
        stage or special token that is control, ``allowed_special``; a split the scanner knows), else
        None: (the UTF-8 of the texts joined, bounds of the pieces in it, index of each text's first
        piece and the end). The pieces are those of ``model_units``."""
        if not self._batches_in_bytes():
            return None
        encoded = [utf8(t) for t in texts]
        buf = b"".join(encoded)
        doc_bounds = offsets_from_lengths(lengths_of(encoded))
        raw, normalized = self._special_splitters("", allowed_special, ())
        if raw.occurs_in(buf) or normalized.occurs_in(buf):
            return None
        piece_bounds = self.pretokenizer.scan_bytes(buf, doc_bounds)
        if piece_bounds is None:
            return None
        return buf, piece_bounds, np.searchsorted(piece_bounds, doc_bounds)

    def _encoded_pieces(self, pieces: list[str]) -> dict[str, list[int]]:
        """The model's ids of each distinct piece (cached)."""
        cache = self._cache
        known: dict[str, list[int]] = {}
        missing: list[str] = []
        for p in dict.fromkeys(pieces):
            ids = cache.get(p)
            if ids is None:
                missing.append(p)
            else:
                known[p] = ids
        if missing:
            known.update(zip(missing, self.model.encode_pieces([utf8(p) for p in missing])))
            if len(cache) + len(missing) > CACHE_LIMIT:
                cache.clear()
            cache.update((p, known[p]) for p in missing)
        return known

    # ---- decoding ---------------------------------------------------------------------------
    def decode_bytes(self, ids: Ids, skip_special_tokens: bool = False) -> bytes:
        if self.pretokenizer.layout.literal:
            return self.decode(ids, skip_special_tokens).encode("utf-8")
        data = self._joined_bytes(ids, skip_special_tokens)
        return data if self.numbers is None else self.numbers.inverse_bytes(data)

    def decode(self, ids: Ids, skip_special_tokens: bool = False) -> str:
        """Text of ``ids`` (a sequence of ints, a numpy integer array of any integer dtype, or one
        id); byte sequences that are not valid UTF-8 become U+FFFD. An imported sentencepiece-style
        BPE decodes through its file's decoder (``tokforge.text.decoders``)."""
        if self.pretokenizer.layout.literal:
            skipped = self._skipped_ids if skip_special_tokens else frozenset()
            return self._decoder.decode([self.id_to_token(i) for i in self._check_ids(ids) if i not in skipped])
        text = self._joined_bytes(ids, skip_special_tokens).decode("utf-8", errors="replace")
        return text if self.numbers is None else self.numbers.inverse(text)  # as HF: UTF-8 first, then the stage

    def _joined_bytes(self, ids: Ids, skip_special_tokens: bool) -> bytes:
        ids = self._check_ids(ids)
        vocab = self.model.vocab
        skipped = set(self._skipped_ids) if skip_special_tokens else set()
        return b"".join(vocab[i] for i in ids if i not in skipped)

    @functools.cached_property
    def _decoder(self) -> Decoder:
        return Decoder.from_hf(self.pretokenizer.layout.hf_decoder)

    @functools.cached_property
    def _skipped_ids(self) -> frozenset[int]:
        """What ``skip_special_tokens`` leaves out: the special tokens (not the added tokens that are not special)."""
        return frozenset(i for t, i in self._user_specials.items() if t not in self.added.not_special)

    def _check_ids(self, ids: Ids) -> list[int]:
        """``ids`` as a list of Python ints (``id_list``), each in the vocabulary; else InputError."""
        values, n = id_list(ids), self.vocab_size
        if values and not (0 <= min(values) and max(values) < n):
            bad = next(i for i in values if not 0 <= i < n)
            raise InputError(f"token id {bad} is not in the vocabulary (ids are 0..{n - 1})")
        return values

    # ---- describing -----------------------------------------------------------------------
    @property
    def algorithm(self) -> str:
        """The algorithm in tokforge.json: the model's (``"bpe"``, ``"unigram"``) or a subclass's."""
        return self.model.algorithm

    @property
    def algorithm_label(self) -> str:
        """The kind of model in words (``tokforge info``): SuperBPE (trained so, or encoding with the
        superword split) and the metaspace layout are named as such."""
        trained_as = (self.training.get("config") or {}).get("algo") if isinstance(self.training, dict) else None
        return self.model.label(self.pretokenizer.layout, self.pretokenizer.pattern, trained_as)

    def describe(self) -> dict[str, Any]:
        """What ``tokforge info`` shows: the kind of model, its parts and the vocabulary."""
        return {
            "algorithm": self.algorithm_label,
            **(self.stage.facts() if self.stage is not None else {}),
            "vocab_size": self.vocab_size,
            **self.model.facts(),
            "special_tokens": self.special_tokens,
            "normalizer": list(self.normalizer.names),
            "pretokenizer": self.pretokenizer.config(),
            "numbers": self.numbers.mode if self.numbers else "none",
            "longest_token_bytes": max(len(t) for t in self.model.vocab),
        }

    # ---- saving and loading -----------------------------------------------------------------
    def to_native(self) -> dict[str, Any]:
        """The native, human-readable model file (``tokforge.formats.native``)."""
        return native.native_document(self)

    def hf_files(self) -> dict[str, Any]:
        """The Hugging Face files of the model folder by name, each asked of the tokenizer's parts:
        tokenizer.json and its configs where every stage has tokenizer.json steps (``tokforge.formats.hf``,
        transformers' fast tokenizer); else the files that load it in transformers through tokforge's
        tokenizer class (``tokforge.formats.hf_code``). ExportError: no file can express it."""
        if all(s.in_tokenizer_json for s in (self.stage, self.numbers) if s is not None):
            return hf.hf_files(self)
        return hf_code.files(self)

    def files(self, *, hf: bool = True) -> dict[str, str]:
        """The texts of the model folder's files by name: ``tokforge.json`` (recording the fingerprint of
        tokenizer.json) and, with ``hf``, the Hugging Face files. ExportError: no text at all."""
        hf_docs = self.hf_files() if hf else {}  # first: an ExportError before the work of the native file
        return folder.model_files(self.to_native(), hf_docs)

    def save(self, path: str | os.PathLike, *, hf: bool = True) -> list[Path]:
        """Write the model folder ``path``: ``tokforge.json`` and, with ``hf``, the Hugging Face files.

        Everything is serialized first (an ExportError writes nothing); the folder is written as a whole
        (``tokforge.io.folders``): a folder there before is replaced only once every new file is written,
        and only if it holds nothing but model files.
        """
        texts = self.files(hf=hf)
        with OutputFolder(path, folder.MODEL_FOLDER) as out:
            return [out.write(name, text) for name, text in texts.items()]

    def write_files(self, out: OutputFolder, *, hf: bool = True) -> list[Path]:
        """Write the model folder's files into ``out``, an open ``OutputFolder`` of ``MODEL_FOLDER``.
        Everything is serialized before anything is written (ExportError: nothing written)."""
        return [out.write(name, text) for name, text in self.files(hf=hf).items()]

    @classmethod
    def from_native(cls, doc: dict[str, Any], source: str = "<dict>") -> "Tokenizer":
        """The tokenizer of a ``tokforge.json`` document (``to_native``); ModelFormatError naming
        ``source`` and the field for anything malformed."""
        staged = doc.get("algorithm") if isinstance(doc, dict) else None  # any value: read_header checks it
        if isinstance(staged, str) and staged in STAGED_TOKENIZERS and staged not in Tokenizer._by_algorithm:
            importlib.import_module(STAGED_TOKENIZERS[staged])  # registers its subclass (imported when used)
        f, doc, algorithm = native.read_header(doc, source, (*native.MODELS, *Tokenizer._by_algorithm))
        if algorithm in Tokenizer._by_algorithm:  # a tokenizer with a stage in front of its model
            return Tokenizer._by_algorithm[algorithm].from_native(doc, source)
        model, parts = native.read_plain(f, doc, algorithm)
        with f.field("vocab"):
            return cls(model, parts.normalizer, parts.pretokenizer, parts.training, parts.numbers, parts.added)

    @classmethod
    def from_hf(cls, doc: dict[str, Any], source: str = "<tokenizer.json>") -> "Tokenizer":
        """Import a byte-level BPE or Unigram ``tokenizer.json`` (``tokforge.formats.hf``)."""
        model, normalizer, pretokenizer, numbers, added, f = hf.read_hf_json(doc, source)
        with f.field("model"):
            return cls(model, normalizer, pretokenizer, {"imported_from": f.source}, numbers, added)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Tokenizer":
        """Load a tokforge model: a folder (``tokforge.json`` or ``tokenizer.json`` inside),
        a ``tokforge.json`` file, or a Hugging Face byte-level BPE or Unigram ``tokenizer.json``."""
        doc, source, is_native = folder.read_model_file(path)
        return cls.from_native(doc, source) if is_native else cls.from_hf(doc, source)


def id_list(ids: Ids) -> list[int]:
    """Token ids as a list of Python ints: from a sequence of ints or numpy integers, a 1-d numpy
    array of any integer dtype, or one integer. Bools, floats and anything else are an InputError
    (``True`` is not id 1, ``45.0`` is not id 45).

    >>> id_list(np.array([45, 46], np.uint16)), id_list([np.int64(7), 8]), id_list(np.int32(3))
    ([45, 46], [7, 8], [3])
    >>> id_list([True])
    Traceback (most recent call last):
    ...
    tokforge.errors.InputError: token ids must be integers, got a bool (True) at position 0
    """
    if isinstance(ids, np.ndarray):
        kind = ids.dtype.kind
        if kind in "iu":
            if ids.ndim > 1:
                raise InputError(f"token ids must be one sequence (a 1-d array), got an array of shape {ids.shape}; "
                                 "decode each row on its own")
            return ids.tolist() if ids.ndim else [int(ids)]
        if kind != "O":
            raise InputError(f"token ids must be integers, got a numpy array of {ids.dtype} "
                             f"({'bools' if kind == 'b' else 'not integers'}); convert it with .astype(np.int64) "
                             "only if it holds ids")
        ids = ids.tolist()
    if isinstance(ids, (int, float, np.generic)):  # one id (checked below)
        ids = [ids]
    if isinstance(ids, (str, bytes, dict)) or not isinstance(ids, Iterable):
        raise InputError(f"token ids must be a sequence of integers, got {type(ids).__name__}")
    out = []
    for k, i in enumerate(ids):
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            kind = "a bool" if isinstance(i, (bool, np.bool_)) else type(i).__name__
            shown = i.item() if isinstance(i, np.generic) else i
            raise InputError(f"token ids must be integers, got {kind} ({shown!r}) at position {k}")
        out.append(int(i))
    return out
