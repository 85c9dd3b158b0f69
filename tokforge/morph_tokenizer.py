"""The morphology hybrid (``--algo morph``): a root-affix stage in front of a statistical model.

After the pretokenizer, each word piece (an optional non-letter, then letters: ``" Kitaplarımızdan"``)
goes through the stage:

1. **Case.** A word that is Capitalized or ALL CAPS (2+ letters) is lowercased with the rule set's
   case mapping (Turkish: I/ı, İ/i) after a marker token, ``⟦Cap⟧`` or ``⟦CAPS⟧``; so ``Kitap``
   and ``kitap`` share their ids. Other casings (``iPhone``) are left as they are.
2. **Root + affixes.** The lowercase word is analysed (``tokforge.morph``): a known root + a valid
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

The fallback is chosen by name (``FALLBACK_TRAINERS``): a trainer from word counts to a model with
``vocab``/``special_tokens``/``encode_pieces``: ``"bpe"`` (``tokforge.bpe``) or ``"unigram"``
(``tokforge.unigram``, Viterbi encoding). The model file stores it as the plain model of that
algorithm stores it (merges, or scored pieces) with the stage in ``"morph"``.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable, NamedTuple, Sequence


from tokforge.text import portable_regex
from tokforge.bpe import BPEModel, train_bpe_from_config
from tokforge.errors import ExportError, InputError, ModelFormatError
from tokforge.model_format import ModelFile
from tokforge.morph import RuleSet, load_rules, rules_from_dict
from tokforge.text.normalizers import Normalizer
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.specials import SpecialSplitter
from tokforge.tokenizer import (ALGORITHMS, FORMAT_VERSION, Ids, Tokenizer, model_from_native, native_parts,
                                native_token_ids)
from tokforge.unigram import UnigramModel, train_unigram_from_config
from tokforge.counting.words import WordCounts

CAP, CAPS = "⟦Cap⟧", "⟦CAPS⟧"
_WORD = portable_regex.lazy(r"([^\r\n\p{L}\p{N}]?)(\p{L}+)")
_LETTER = portable_regex.lazy(r"\p{L}")
_TRAILING_LETTERS = portable_regex.lazy(r"\p{L}+\Z")


def affix_token(rules: RuleSet, k: int) -> str:
    a = rules.affixes[k]
    return f"⟦{a.id}:{a.template}⟧"


def root_token(root: str) -> str:
    return f"⟦{root}⟧"


class Unit(NamedTuple):
    """A piece of a word piece's plan: a stage token (``token`` set) or text for the fallback
    model (``text``), with its character span in the piece."""

    token: str | None
    text: str
    start: int
    end: int


class MorphStage:
    """The case / root-affix stage of one rule set and its root tokens."""

    def __init__(self, rules: RuleSet, roots: Sequence[str] = ()):
        self.rules = rules
        unknown = [r for r in roots if r not in rules.roots]
        if unknown:
            raise ModelFormatError(f"root tokens {unknown[:5]} are not roots of the rule set {rules.name!r}")
        self.roots = list(roots)
        self._root_set = set(roots)
        self._affix_tokens = [affix_token(rules, k) for k in range(len(rules.affixes))]

    def reserved_tokens(self) -> list[str]:
        """The stage's tokens, in id order: case markers, affix groups, roots."""
        return [CAP, CAPS, *self._affix_tokens, *map(root_token, self.roots)]

    def plan(self, piece: str, prev_letter: bool = False, next_letter: bool = False,
             has_token: Callable[[str], bool] | None = None) -> list[Unit]:
        """The units of one pretokenized piece (``prev_letter``/``next_letter``: whether the piece
        before ends / the piece after starts with a letter).

            >>> stage = MorphStage(load_rules("tr"), ["kitap"])
            >>> [u.token or u.text for u in stage.plan(" Kitaplarımızdan")]
            ['⟦Cap⟧', ' ', '⟦kitap⟧', '⟦PL:lAr⟧', '⟦P1PL:(I)mIz⟧', '⟦ABL:DAn⟧']
            >>> [u.token or u.text for u in stage.plan(" evlerde")]
            [' ev', '⟦PL:lAr⟧', '⟦LOC:DA⟧']
        """
        whole = [Unit(None, piece, 0, len(piece))]
        m = _WORD.fullmatch(piece)
        if m is None:
            return whole
        prefix, body = m.groups()
        if not prefix and prev_letter:
            return whole
        rules = self.rules
        mode = rules.case_of(body)
        if mode is None or (mode == "caps" and next_letter):
            return whole
        low = rules.lower(body)
        if len(low) != len(body):
            return whole
        units = [Unit(CAP if mode == "cap" else CAPS, "", 0, 0)] if mode != "lower" else []
        analysis = rules.analyze(low)
        known = analysis is not None  # else an unknown stem: plain text, even if it spells a root
        if not known:
            analysis = rules.guess(low)
        if analysis is None:
            return units + [Unit(None, prefix + low, 0, len(piece))]
        first = rules.affix_index[analysis.affixes[0]] if analysis.affixes else None
        stem_end = len(prefix) + (len(rules.stem_before(analysis.root, first)) if known else len(analysis.root))
        if known and (has_token or self._root_set.__contains__)(analysis.root):
            if prefix:
                units.append(Unit(None, prefix, 0, len(prefix)))
            units.append(Unit(root_token(analysis.root), "", len(prefix), stem_end))
        else:
            units.append(Unit(None, prefix + low[:stem_end - len(prefix)], 0, stem_end))
        pos = stem_end
        for a in analysis.affixes:
            k = rules.affix_index[a]
            surface = rules.realize(k, low[:pos - len(prefix)])
            units.append(Unit(self._affix_tokens[k], "", pos, pos + len(surface)))
            pos += len(surface)
        return units

    # ---- decoding ----------------------------------------------------------------------------
    def stem(self, root: str, next_affix: int | None) -> str:
        return self.rules.stem_before(root, next_affix)

    def affix_after(self, k: int, text_before: str) -> str:
        """Affix ``k`` written after the text decoded so far (its trailing letters are the word);
        the bare template when the rules give no form (only for id sequences encode never makes)."""
        m = _TRAILING_LETTERS.search(text_before[-64:])
        return self.rules.realize(k, self.rules.lower(m.group()) if m else "") or self.rules.affixes[k].template

    def apply_case(self, text: str, marks: list[tuple[int, str]]) -> str:
        """Apply case markers: each capitalizes the first letter at or after its position
        (``cap``) or uppercases the run of letters that starts there (``caps``)."""
        if not marks:
            return text
        chars = list(text)
        for pos, mode in marks:
            j = pos
            while j < len(chars) and not _LETTER.match(chars[j]):
                j += 1
            if mode == "cap":
                if j < len(chars):
                    chars[j] = self.rules.upper(chars[j])
                continue
            while j < len(chars) and _LETTER.match(chars[j]):
                chars[j] = self.rules.upper(chars[j])
                j += 1
        return "".join(chars)

    def describe(self) -> dict[str, Any]:
        return {"rules": self.rules.name, "rules_fingerprint": self.rules.fingerprint(),
                "affix_groups": len(self.rules.affixes), "root_tokens": len(self.roots)}


class MorphTokenizer(Tokenizer):
    """A tokenizer with the morphology stage between the pretokenizer and the fallback model."""

    algorithm = "morph"

    def __init__(self, model: BPEModel | UnigramModel, stage: MorphStage, normalizer: Normalizer | None = None,
                 pretokenizer: Pretokenizer | None = None, training: dict[str, Any] | None = None):
        super().__init__(model, normalizer, pretokenizer, training)
        self.stage = stage
        self.fallback = ALGORITHMS[type(model)]  # "bpe" or "unigram": the fallback model's algorithm
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
    def pieces(self, text: str) -> list[str]:
        """The units of ``text`` for inspection: stage tokens by name, fallback text as it is."""
        out: list[str] = []
        for segment, special in self._specials.segments(text):
            if special is not None:
                out.append(segment)
                continue
            pieces = self.pretokenizer.split(self.normalizer.normalize(segment))
            for j, p in enumerate(pieces):
                out.extend(u.token or u.text for u in self.stage.plan(p, *_neighbours(pieces, j)))
        return out

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
            data = _utf8_text(u.text)
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
        doc = super().to_native()
        doc["algorithm"] = self.algorithm
        doc["morph"] = {"fallback": self.fallback, "roots": list(self.stage.roots), "rules": self.stage.rules.to_dict()}
        return doc

    def save(self, path, *, hf: bool = True):
        if hf:
            raise export_error()
        return super().save(path, hf=False)

    @classmethod
    def from_native(cls, doc: dict[str, Any], source: str = "<dict>") -> "MorphTokenizer":
        f = ModelFile(source, "tokforge morph model")
        doc = f.object(doc, None)
        if f.get(doc, "format_version", int) != FORMAT_VERSION:
            raise f.error("format_version", f"is {doc['format_version']!r}; this tokforge reads format {FORMAT_VERSION}")
        morph = f.get(doc, "morph", dict)
        fallback = f.get(morph, "fallback", str, "morph.fallback", default="bpe")
        if fallback not in FALLBACKS:
            raise f.error("morph.fallback", f"is {fallback!r}, not one of this tokforge's fallbacks ({', '.join(FALLBACKS)})")
        rules_doc = f.get(morph, "rules", dict, "morph.rules")
        f.get(rules_doc, "roots", list, "morph.rules.roots")  # inline: a model file names no other file
        with f.field("morph.rules"):
            rules = rules_from_dict(rules_doc, "the rule set")
        roots = f.get(morph, "roots", list, "morph.roots")
        with f.field("morph.roots"):
            stage = MorphStage(rules, roots)
        parts = native_parts(f, doc)
        if parts.numbers is not None:
            raise f.error(("numbers", "algorithm"), f"numbers={parts.numbers.mode!r} is not supported with algorithm "
                                                    "'morph'")
        specials = dict(parts.specials)
        with f.field("vocab"):
            token_ids = native_token_ids(f.get(doc, "vocab", list if fallback == "unigram" else dict))
        for token in stage.reserved_tokens():
            if not isinstance(token_ids.get(token), int):
                raise f.error(("vocab", "morph.roots"), f"the vocabulary lacks the morph token {token!r}")
            specials[token] = token_ids[token]
        model = model_from_native(fallback, doc, specials, f)
        with f.field("vocab"):
            return cls(model, stage, parts.normalizer, parts.pretokenizer, parts.training)


#: Trainers of the fallback model, by ``morph_fallback`` name: (word counts of what the stage leaves,
#: config, special + stage tokens (first ids), progress callback, stop report) -> a model whose vocabulary has
#: ``config.vocab_size`` tokens at most (Unigram: exactly) and that encodes text pieces
#: (``encode_pieces``). Each name is the model's algorithm name in ``tokforge.tokenizer.ALGORITHMS``.
FALLBACK_TRAINERS: dict[str, Callable[..., BPEModel | UnigramModel]] = {
    "bpe": train_bpe_from_config, "unigram": train_unigram_from_config}
FALLBACKS = tuple(FALLBACK_TRAINERS)
FALLBACK_LABELS = {"bpe": "BPE", "unigram": "Unigram LM"}  # for messages


def export_error() -> ExportError:
    return ExportError(
        "algo='morph' cannot be exported to tokenizer.json exactly: its root-affix analysis (a dictionary and "
        "phonological rules), affix tokens whose surface form depends on the preceding word, and the case "
        "markers that uppercase the following word have no Hugging Face normalizer, pre-tokenizer, model or "
        "decoder step.  No approximate file is written.  Encode with tokforge (tokforge.Tokenizer.load(path)"
        ".encode / decode, or `tokforge encode`), and save with save(path, hf=False).")


def _neighbours(pieces: list[str], j: int) -> tuple[bool, bool]:
    prev_letter = j > 0 and bool(_LETTER.match(pieces[j - 1][-1:]))
    next_letter = j + 1 < len(pieces) and bool(_LETTER.match(pieces[j + 1][:1]))
    return prev_letter, next_letter


def _utf8_text(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(f"text holds a lone surrogate {text[e.start]!r} that has no UTF-8 form; "
                         "decode your input with errors='replace' or remove it") from None


def _char_index_of_bytes(text: str) -> list[int]:
    """For each UTF-8 byte offset of ``text`` (and its end), the index of the character it lies in."""
    out: list[int] = []
    for k, c in enumerate(text):
        out.extend([k] * len(c.encode("utf-8", errors="surrogatepass")))
    out.append(len(text))
    return out


# ---- training ----------------------------------------------------------------------------------

def train_morph(counts: WordCounts, config, on_progress: Callable[[int], None] | None = None,
                stop_report: dict[str, Any] | None = None) -> tuple[BPEModel | UnigramModel, MorphStage, dict[str, Any]]:
    """Train the hybrid on the pretokenized word counts of the corpus.

    Each unique piece is planned by the stage (as if its neighbours were not letters); roots with
    at least ``min_frequency`` occurrences, the most frequent first, get tokens up to
    ``morph_roots`` of the learnable vocabulary; the fallback model is then trained on the text the
    stage leaves (words without analysis, roots without a token, prefixes and all other pieces),
    so that the whole vocabulary (specials, stage tokens, bytes, merges) has ``vocab_size`` tokens
    (a BPE fallback may stop short: ``stop_report`` then gets ``"stopped"``, see ``train_bpe``).
    """
    rules = load_rules(config.morph_rules)
    words = [(w.decode("utf-8"), int(n)) for w, n in counts.items()]
    everything = MorphStage(rules)
    not_roots = set(everything.reserved_tokens())
    root_counts: Counter[str] = Counter()
    for word, n in words:
        for u in everything.plan(word, has_token=lambda r: True):
            if u.token is not None and u.token not in not_roots:
                root_counts[u.token[1:-1]] += n
    base = len(config.special_tokens) + 2 + len(rules.affixes)
    budget = int(config.morph_roots * max(0, config.vocab_size - base - 256))
    chosen = [r for r, n in sorted(root_counts.items(), key=lambda kv: (-kv[1], kv[0]))
              if n >= 1][:budget]
    stage = MorphStage(rules, chosen)
    fallback: Counter[str] = Counter()
    for word, n in words:
        for u in stage.plan(word):
            if u.token is None and u.text:
                fallback[u.text] += n
    if not fallback:
        fallback[" "] = 1
    specials = tuple(config.special_tokens) + tuple(stage.reserved_tokens())
    trainer = FALLBACK_TRAINERS[config.morph_fallback]
    model = trainer(WordCounts.from_dict(dict(fallback)), config, specials, on_progress, stop_report)
    analysed = sum(n for w, n in words if _WORD.fullmatch(w))
    report = {**stage.describe(), "fallback": config.morph_fallback, "roots_seen": len(root_counts),
              "root_occurrences": sum(root_counts.values()), "word_pieces": analysed,
              "fallback_unique_pieces": len(fallback)}
    return model, stage, report
