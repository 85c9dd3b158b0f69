"""The root-affix stage of the morphology hybrid: how one pretokenized word piece is planned as case
markers, a root token, affix tokens and text for the fallback model, and how decoding writes the
affixes and the case back (the hybrid as a whole: ``tokforge.models.morph.tokenizer``).

    >>> from tokforge.models.morph.rules import load_rules
    >>> stage = MorphStage(load_rules("tr"), ["ev"])
    >>> [u.token or u.text for u in stage.plan(" Evlerimizde")]
    ['⟦Cap⟧', ' ', '⟦ev⟧', '⟦PL:lAr⟧', '⟦P1PL:(I)mIz⟧', '⟦LOC:DA⟧']
"""
from __future__ import annotations

from typing import Any, Callable, NamedTuple, Sequence

from tokforge.errors import ExportError, ModelFormatError
from tokforge.models.morph.rules import RuleSet
from tokforge.text import portable_regex

CAP, CAPS = "⟦Cap⟧", "⟦CAPS⟧"
WORD_PIECE = portable_regex.lazy(r"([^\r\n\p{L}\p{N}]?)(\p{L}+)")
LETTER = portable_regex.lazy(r"\p{L}")
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

            >>> from tokforge.models.morph.rules import load_rules
            >>> stage = MorphStage(load_rules("tr"), ["kitap"])
            >>> [u.token or u.text for u in stage.plan(" Kitaplarımızdan")]
            ['⟦Cap⟧', ' ', '⟦kitap⟧', '⟦PL:lAr⟧', '⟦P1PL:(I)mIz⟧', '⟦ABL:DAn⟧']
            >>> [u.token or u.text for u in stage.plan(" evlerde")]
            [' ev', '⟦PL:lAr⟧', '⟦LOC:DA⟧']
        """
        whole = [Unit(None, piece, 0, len(piece))]
        m = WORD_PIECE.fullmatch(piece)
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
                "affix_groups": len(self.rules.affixes), "root_tokens": len(self.roots)}

    def facts(self) -> dict[str, Any]:
        """What ``tokforge info`` shows of the stage."""
        return {"morph": self.describe()}

    # ---- tokenizer.json ----------------------------------------------------------------------
    def hf_parts(self) -> dict[str, list[dict[str, Any]]]:
        """The tokenizer.json steps of the stage: there are none, so this is an ExportError that says why."""
        raise ExportError(
            "algo='morph' cannot be exported to tokenizer.json exactly: its root-affix analysis (a dictionary and "
            "phonological rules), affix tokens whose surface form depends on the preceding word, and the case "
            "markers that uppercase the following word have no Hugging Face normalizer, pre-tokenizer, model or "
            "decoder step.  No approximate file is written.  Encode with tokforge (tokforge.Tokenizer.load(path)"
            ".encode / decode, or `tokforge encode`), and save with save(path, hf=False).")
