"""The root-affix stage of the morphology hybrid: how one pretokenized word piece is planned as case
markers, a root token, affix tokens and text for the fallback model, and how decoding writes the
affixes and the case back (the hybrid as a whole: ``tokforge.models.morph.tokenizer``).

    >>> from tokforge.models.morph.rules import load_rules
    >>> stage = MorphStage(load_rules("tr"), ["ev"])
    >>> [u.token or u.text for u in stage.plan(" Evlerimizde")]
    ['⟦Cap⟧', ' ', '⟦ev⟧', '⟦PL:lAr⟧', '⟦P1PL:(I)mIz⟧', '⟦LOC:DA⟧']
"""
from __future__ import annotations

import itertools
from typing import Any, Callable, NamedTuple, Sequence

from tokforge.errors import ExportError, ModelFormatError
from tokforge.models.morph.rules import MAX_LETTERS, RuleSet
from tokforge.text import portable_regex

CAP, CAPS = "⟦Cap⟧", "⟦CAPS⟧"
#: How the stage plans (saved in model files): 2 adds apostrophe groups and finer analyses
#: (``RuleSet.analyze``'s ``refine``); a file that names no version was written by a stage of version 1.
STAGE_VERSION = 2
APOSTROPHES = "'’"  # before a proper noun's suffixes: İstanbul'da, Ankara’ya
WORD_PIECE = portable_regex.lazy(r"([^\r\n\p{L}\p{N}]?)(\p{L}+)")
GROUP = portable_regex.lazy(r"([^\r\n\p{L}\p{N}]?)(\p{L}+)([" + APOSTROPHES + r"])(\p{L}+)")
LETTER = portable_regex.lazy(r"\p{L}")
_TRAILING_LETTERS = portable_regex.lazy(r"(\p{L}+)[" + APOSTROPHES + r"]?\Z")


def affix_token(rules: RuleSet, k: int) -> str:
    a = rules.affixes[k]
    return f"⟦{a.id}:{a.template}⟧"


def root_token(root: str, spaced: bool = False) -> str:
    """``⟦kitap⟧``, or ``⟦ kitap⟧``: the root after a space (the space and the stem in one token)."""
    return f"⟦ {root}⟧" if spaced else f"⟦{root}⟧"


class Unit(NamedTuple):
    """A piece of a word piece's plan: a stage token (``token`` set) or text for the fallback
    model (``text``), with its character span in the piece."""

    token: str | None
    text: str
    start: int
    end: int


class MorphStage:
    """The case / root-affix stage of one rule set and its root tokens."""

    def __init__(self, rules: RuleSet, roots: Sequence[str] = (), spaced_roots: Sequence[str] = (),
                 version: int = STAGE_VERSION):
        if version not in (1, STAGE_VERSION):
            raise ModelFormatError(f"morph stage version {version!r} is not one this tokforge plans with (1, "
                                   f"{STAGE_VERSION}); upgrade tokforge")
        self.rules = rules
        self.version = version
        unknown = [r for r in (*roots, *spaced_roots) if r not in rules.roots]
        if unknown:
            raise ModelFormatError(f"root tokens {unknown[:5]} are not roots of the rule set {rules.name!r}")
        self.roots = list(roots)
        self.roots_set = frozenset(roots)
        self.spaced_roots = list(spaced_roots)  # roots with a token of their own after a space: ⟦ kitap⟧
        self.spaced_set = frozenset(spaced_roots)
        self._affix_tokens = [affix_token(rules, k) for k in range(len(rules.affixes))]

    def reserved_tokens(self) -> list[str]:
        """The stage's tokens, in id order: case markers, affix groups, roots, roots after a space."""
        return [CAP, CAPS, *self._affix_tokens, *map(root_token, self.roots),
                *(root_token(r, spaced=True) for r in self.spaced_roots)]

    def plan(self, piece: str, prev_letter: bool = False, next_letter: bool = False,
             has_token: Callable[[str, bool], bool] | None = None) -> list[Unit]:
        """The units of one pretokenized piece (``prev_letter``/``next_letter``: whether the piece
        before ends / the piece after starts with a letter).

            >>> from tokforge.models.morph.rules import load_rules
            >>> stage = MorphStage(load_rules("tr"), ["kitap"])
            >>> [u.token or u.text for u in stage.plan(" Kitaplarımızdan")]
            ['⟦Cap⟧', ' ', '⟦kitap⟧', '⟦PL:lAr⟧', '⟦P1PL:(I)mIz⟧', '⟦ABL:DAn⟧']
            >>> [u.token or u.text for u in stage.plan(" evlerde")]
            [' ev', '⟦PL:lAr⟧', '⟦LOC:DA⟧']
        """
        units = self._word_plan(piece, prev_letter, next_letter, has_token)
        return units if units is not None else [Unit(None, piece, 0, len(piece))]

    def _word_plan(self, piece: str, prev_letter: bool, next_letter: bool,
                   has_token: Callable[[str, bool], bool] | None) -> list[Unit] | None:
        """``plan``, or None where the piece stays one text unit as it is written."""
        m = WORD_PIECE.fullmatch(piece)
        if m is None:
            return None
        prefix, body = m.groups()
        if not prefix and prev_letter:
            return None
        rules = self.rules
        mode = rules.case_of(body)
        if mode is None or (mode == "caps" and next_letter):
            return None
        low = rules.lower(body)
        if len(low) != len(body):
            return None
        units = [Unit(CAP if mode == "cap" else CAPS, "", 0, 0)] if mode != "lower" else []
        analysis = rules.analyze(low, refine=self.version >= 2)
        known = analysis is not None  # else an unknown stem: plain text, even if it spells a root
        if not known:
            analysis = rules.guess(low)
        if analysis is None:
            return units + [Unit(None, prefix + low, 0, len(piece))]
        first = rules.affix_index[analysis.affixes[0]] if analysis.affixes else None
        stem_end = len(prefix) + (len(rules.stem_before(analysis.root, first)) if known else len(analysis.root))
        has = has_token or self.has_token
        if known and prefix == " " and has(analysis.root, True):
            units.append(Unit(root_token(analysis.root, spaced=True), "", 0, stem_end))
        elif known and has(analysis.root, False):
            if prefix:
                units.append(Unit(None, prefix, 0, len(prefix)))
            units.append(Unit(root_token(analysis.root), "", len(prefix), stem_end))
        else:
            units.append(Unit(None, prefix + low[:stem_end - len(prefix)], 0, stem_end))
        return units + self._affix_units([rules.affix_index[a] for a in analysis.affixes], low, stem_end - len(prefix),
                                         len(prefix))

    def knows_root(self, word: str) -> bool:
        """Whether ``word`` (any case) is a root of the rule set's dictionary."""
        return self.rules.lower(word) in self.rules.roots

    def has_token(self, root: str, spaced: bool) -> bool:
        """Whether ``root`` has a token of the stage (after a space: ``⟦ kitap⟧``; else ``⟦kitap⟧``)."""
        return root in (self.spaced_set if spaced else self.roots_set)

    def _affix_units(self, chain: list[int], word: str, pos: int, shift: int) -> list[Unit]:
        """The affix tokens of ``chain`` spelling ``word[pos:]`` (lowercase), spans shifted by ``shift``."""
        units = []
        for k in chain:
            surface = self.rules.realize(k, word[:pos])
            units.append(Unit(self._affix_tokens[k], "", shift + pos, shift + pos + len(surface)))
            pos += len(surface)
        return units

    def plan_group(self, text: str, prev_letter: bool = False,
                   has_token: Callable[[str, bool], bool] | None = None) -> list[Unit] | None:
        """A word, an apostrophe and suffixes (``İstanbul'da``: a proper noun's suffixes follow an
        apostrophe in Turkish): the word's own units, the apostrophe as text, then the affix tokens that
        spell the lowercase letters after it, written after the word; None when they spell no affix
        chain (or the word has no plan of its own: the pieces are then planned one by one).

            >>> from tokforge.models.morph.rules import load_rules
            >>> [u.token or u.text for u in MorphStage(load_rules("tr")).plan_group(" İstanbul'daki")]
            ['⟦Cap⟧', ' istanbul', "'", '⟦LOC:DA⟧', '⟦KI:ki⟧']
        """
        m = GROUP.fullmatch(text)
        if m is None:
            return None
        prefix, body, apostrophe, suffix = m.groups()
        units = self._word_plan(prefix + body, prev_letter, False, has_token)
        rules = self.rules
        if units is None or len(body) + len(suffix) > MAX_LETTERS or rules.lower(suffix) != suffix:
            return None
        word = rules.lower(body) + suffix
        chain = rules.chain(word, len(body))
        if not chain:
            return None
        start = len(prefix) + len(body)
        return units + [Unit(None, apostrophe, start, start + 1)] + self._affix_units(chain, word, len(body), len(prefix) + 1)

    def plan_pieces(self, pieces: Sequence[str],
                    has_token: Callable[[str, bool], bool] | None = None) -> list[tuple[int, int, list[Unit]]]:
        """The units of a run of pretokenized pieces, as ``(first piece, end, units)``: each piece on its
        own (``plan``, its neighbours' letters looked at), or a word + apostrophe + suffix letters over
        pieces ``first..end-1`` as one group (``plan_group``) when the apostrophe is in the first piece or
        right after it and the group ends where a piece does. Unit spans are in the text of those pieces.

            >>> from tokforge.models.morph.rules import load_rules
            >>> [(j, k, [u.token or u.text for u in units]) for j, k, units in
            ...  MorphStage(load_rules("tr")).plan_pieces([" Ankara", "'y", "a", "."])]
            [(0, 3, ['⟦Cap⟧', ' ankara', "'", '⟦DAT:(y)A⟧']), (3, 4, ['.'])]
        """
        text = "".join(pieces)
        ends = list(itertools.accumulate(map(len, pieces)))
        out: list[tuple[int, int, list[Unit]]] = []
        j = 0
        while j < len(pieces):
            start = ends[j] - len(pieces[j])
            m = GROUP.match(text, start) if self.version >= 2 else None
            if m is not None and m.start(3) <= ends[j] and m.end() in ends:
                k = ends.index(m.end()) + 1
                units = self.plan_group(m.group(), *_neighbours(pieces, j)[:1], has_token)
                if units is not None:
                    out.append((j, k, units))
                    j = k
                    continue
            out.append((j, j + 1, self.plan(pieces[j], *_neighbours(pieces, j), has_token)))
            j += 1
        return out

    # ---- decoding ----------------------------------------------------------------------------
    def stem(self, root: str, next_affix: int | None) -> str:
        return self.rules.stem_before(root, next_affix)

    def affix_after(self, k: int, text_before: str) -> str:
        """Affix ``k`` written after the text decoded so far (its trailing letters are the word, also
        before a trailing apostrophe: ``İstanbul'`` + LOC is ``da``); the bare template when the rules
        give no form (only for id sequences encode never makes)."""
        m = _TRAILING_LETTERS.search(text_before[-64:])
        return self.rules.realize(k, self.rules.lower(m.group(1)) if m else "") or self.rules.affixes[k].template

    def apply_case(self, text: str, marks: list[tuple[int, str]]) -> str:
        """Apply case markers: each capitalizes the first letter at or after its position
        (``cap``) or uppercases the run of letters that starts there (``caps``)."""
        if not marks:
            return text
        chars = list(text)
        for pos, mode in marks:
            j = pos
            while j < len(chars) and not LETTER.match(chars[j]):
                j += 1
            if mode == "cap":
                if j < len(chars):
                    chars[j] = self.rules.upper(chars[j])
                continue
            while j < len(chars) and LETTER.match(chars[j]):
                chars[j] = self.rules.upper(chars[j])
                j += 1
        return "".join(chars)

    def describe(self) -> dict[str, Any]:
        return {"rules": self.rules.name, "rules_fingerprint": self.rules.fingerprint(),
                "version": self.version, "affix_groups": len(self.rules.affixes), "root_tokens": len(self.roots),
                "spaced_root_tokens": len(self.spaced_roots)}

    def facts(self) -> dict[str, Any]:
        """What ``tokforge info`` shows of the stage."""
        return {"morph": self.describe()}

    # ---- tokenizer.json ----------------------------------------------------------------------
    in_tokenizer_json = False  # transformers loads a morph model through tokforge's class (tokforge.formats.hf_code)

    def hf_parts(self) -> dict[str, list[dict[str, Any]]]:
        """The tokenizer.json steps of the stage: there are none, so this is an ExportError that says why."""
        raise ExportError(
            "algo='morph' cannot be exported to tokenizer.json exactly: its root-affix analysis (a dictionary and "
            "phonological rules), affix tokens whose surface form depends on the preceding word, and the case "
            "markers that uppercase the following word have no Hugging Face normalizer, pre-tokenizer, model or "
            "decoder step.  No approximate file is written.  Encode with tokforge (tokforge.Tokenizer.load(path)"
            ".encode / decode, or `tokforge encode`); the model folder loads in transformers through tokforge's "
            "tokenizer class (AutoTokenizer.from_pretrained(folder, trust_remote_code=True)).")


def _neighbours(pieces: Sequence[str], j: int) -> tuple[bool, bool]:
    """Whether the piece before piece ``j`` ends, and the piece after it starts, with a letter."""
    prev_letter = j > 0 and bool(LETTER.match(pieces[j - 1][-1:]))
    next_letter = j + 1 < len(pieces) and bool(LETTER.match(pieces[j + 1][:1]))
    return prev_letter, next_letter
