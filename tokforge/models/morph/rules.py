"""Morphology rule sets and the root-affix analyzer of the morphology hybrid (``--algo morph``).

A rule set is data (``tokforge/data/morph/<name>.json`` plus its roots file; give your own path
for any language). Its JSON object has these keys:

- ``name``, ``description``, ``source``, ``licence``: free text (documentation).
- ``case``: ``"turkish"`` (I/ı and İ/i pair up) or ``"default"`` (Python's str.lower/upper).
- ``vowels``: the vowel letters (for ``last_vowel_in`` conditions and the root alternation rule).
- ``symbols``: archiphonemes. ``{"A": [[COND, "e"], [COND, "a"]]}``: the first rule whose
  condition holds on the text before the symbol gives the letter; none holds -> the affix cannot
  be realized here.
- ``optional``: the condition under which a parenthesized part of a template is written,
  ``{"y": COND, "I": COND}`` for ``(y)`` and ``(I)``.
- ``affixes``: a list of groups ``{"id": "PL", "template": "lAr", "order": 20, "next": 20,
  "gloss": "plural"}``. Every surface form (allomorph) of a group (``ler``, ``lar``) is the
  template realized after its left context, so all of them share the group's token id. A
  template may also be a list of ``[COND, template]`` alternatives, the first whose condition
  holds on the text before the affix being written (passive: ``[[{"after": vowels}, "n"],
  [{"after": ["l"]}, "In"], [{}, "Il"]]``: oku-n, bil-in, yap-ıl). In a word,
  an affix may follow only when its ``order`` is greater than the state, which becomes its ``next``
  (default: its order); the state starts at 0. ``"requires": ["P3"]``: only right after these
  affixes. Derivational affixes use ``next`` 0 (they can be followed by any affix), ``ki`` goes
  back to nominal inflection, etc.
- ``categories`` (optional): word categories, ``["noun", "verb", "closed"]``. A root belongs to some
  of them (all when its line names none); an affix with ``"attaches": ["verb"]`` follows only a word
  of those categories so far, and ``"makes": "noun"`` gives the word that category (default: the
  word keeps its categories). ``"unknown": ["noun"]``: the categories of an unknown stem (``guess``)
  and of the word before an apostrophe (default: all).
- ``roots``: a file name (relative to the JSON file) of a TSV: ``root``, ``root<TAB>altered`` or
  ``root<TAB>altered<TAB>categories`` a line (``kitap<TAB>kitab<TAB>noun``, ``al<TAB><TAB>verb``,
  categories separated by commas; ``#`` comments), or a list of such strings.
- ``min_root_length`` (default 2).

A condition ``COND`` is ``{}`` (always), ``{"after": [s, ...]}`` (the text ends with one of
them), ``{"not_after": [...]}`` or ``{"last_vowel_in": "eiöü"}`` (its last vowel is one of them).

Root alternation (``kitap``/``kitab-``, ``burun``/``burn-``): a root's altered stem is written
exactly when the affix after it, realized after the altered stem, starts with a vowel; otherwise
the root is written as it is. The analyzer accepts an analysis only when writing it back with
these rules gives the word exactly, so decoding never guesses.

    >>> rules = load_rules("tr")
    >>> rules.realize(rules.affix_index["PL"], "kitap"), rules.realize(rules.affix_index["PL"], "ev")
    ('lar', 'ler')
    >>> rules.analyze("kitaplarımızdan")
    Analysis(root='kitap', altered=False, affixes=('PL', 'P1PL', 'ABL'))
    >>> rules.render("kitap", ("ACC",))
    'kitabı'
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple


from tokforge.errors import ConfigError
from tokforge.text import portable_regex
from tokforge.text.casing import dotted_i_lower

DATA_DIR = Path(__file__).parents[2] / "data" / "morph"  # tokforge/data/morph
BUILTIN_RULES = ("tr", "en")
MAX_LETTERS = 128  # longer words are never analysed (no word is this long; it bounds the work)
GUESS_MIN_STEM = 3  # an unknown stem has at least this many letters
CASE_MODES = ("turkish", "default")
_LETTERS = portable_regex.lazy(r"\p{L}+\Z")


class Affix(NamedTuple):
    id: str
    template: str  # as written in its token (alternatives joined by "|")
    order: int
    next: int
    gloss: str
    parts: tuple  # parsed template: ("lit", "l") / ("sym", "A") / ("opt", key, inner) / ("alt", ((cond, inner), ...))
    requires: tuple[str, ...] = ()  # when given: the affix right before must be one of these
    attaches: int = -1  # bit mask of the categories it follows (-1: any)
    makes: int | None = None  # the category index of the word after it (None: unchanged)


class Analysis(NamedTuple):
    """A word as root + affixes: the root's base form, whether its altered stem is written, and
    the affix group ids in order."""

    root: str
    altered: bool
    affixes: tuple[str, ...]


@dataclass
class RuleSet:
    """A language's roots, affix groups and phonological rules (see the module docstring)."""

    name: str
    case: str
    vowels: str
    symbols: dict[str, list[tuple[dict, str]]]
    optional: dict[str, dict]
    affixes: list[Affix]
    roots: dict[str, str | None]          # base form -> altered stem (or None)
    min_root_length: int = 2
    meta: dict[str, Any] | None = None
    categories: tuple[str, ...] = ()
    root_categories: dict[str, int] | None = None  # root -> bit mask of its categories (absent: all)
    unknown_categories: int = -1  # the categories of an unknown stem (-1: all)

    def __post_init__(self) -> None:
        if self.case not in CASE_MODES:
            raise ConfigError(f"morph rules {self.name!r}: case {self.case!r} is unknown; use one of {CASE_MODES}")
        self.affix_index = {a.id: i for i, a in enumerate(self.affixes)}
        if len(self.affix_index) != len(self.affixes):
            raise ConfigError(f"morph rules {self.name!r}: affix ids must be unique")
        self._stems: dict[str, list[tuple[str, bool]]] = {}
        for root, alt in self.roots.items():
            self._stems.setdefault(root, []).append((root, False))
            if alt:
                self._stems.setdefault(alt, []).append((root, True))
        self._vowel_set = set(self.vowels)
        self.all_categories = (1 << len(self.categories)) - 1 if self.categories else -1
        self.unknown_mask = self.all_categories if self.unknown_categories == -1 else self.unknown_categories
        self.root_categories = dict(self.root_categories or {})
        self._longest_stem = max(map(len, self._stems), default=0)
        self._realized: dict[tuple[int, str], str | None] = {}
        self._surface_lists: dict[str, list] = {}
        self._tail = 1 + max((len(x) for c in self.conditions() for k in ("after", "not_after") for x in c.get(k, ())),
                             default=1)

    def conditions(self) -> list[dict]:
        """Every condition of the rule set: its symbols', optional parts' and affix alternatives'."""
        conds = [c for rules in self.symbols.values() for c, _ in rules] + list(self.optional.values())
        return conds + [c for a in self.affixes for part in a.parts if part[0] == "alt" for c, _ in part[1]]

    # ---- case ------------------------------------------------------------------------------
    def lower(self, text: str) -> str:
        """Lowercase with the rule set's case mapping (Turkish: I -> ı, İ -> i)."""
        return dotted_i_lower(text) if self.case == "turkish" else text.lower()

    def upper(self, text: str) -> str:
        """Uppercase with the rule set's case mapping (Turkish: i -> İ, ı -> I)."""
        if self.case == "turkish":
            text = text.replace("i", "İ").replace("ı", "I")
        return text.upper()

    def case_of(self, word: str) -> str | None:
        """``"lower"``, ``"cap"`` (first letter upper, rest lower) or ``"caps"`` (all upper, 2+
        letters) when lowercasing and restoring gives ``word`` back exactly; None otherwise.

            >>> r = load_rules("tr")
            >>> r.case_of("istanbul"), r.case_of("İstanbul"), r.case_of("ISPARTA"), r.case_of("iPhone")
            ('lower', 'cap', 'caps', None)
        """
        low = self.lower(word)
        if low == word:
            return "lower"
        if self.restore_case(low, "cap") == word:
            return "cap"
        if len(word) > 1 and self.restore_case(low, "caps") == word:
            return "caps"
        return None

    def restore_case(self, low: str, mode: str) -> str:
        if mode == "cap":
            return self.upper(low[:1]) + low[1:]
        if mode == "caps":
            return self.upper(low)
        return low

    # ---- phonology -------------------------------------------------------------------------
    def holds(self, cond: dict, context: str) -> bool:
        if "after" in cond and not any(context.endswith(s) for s in cond["after"]):
            return False
        if "not_after" in cond and any(context.endswith(s) for s in cond["not_after"]):
            return False
        if "last_vowel_in" in cond:
            last = next((c for c in reversed(context) if c in self._vowel_set), None)
            if last is None or last not in cond["last_vowel_in"]:
                return False
        return True

    def realize(self, affix: int, context: str) -> str | None:
        """The surface form of affix group ``affix`` (an index) after ``context`` (the word so
        far, lowercase), or None when the rules give none (e.g. no vowel to harmonize with).

            >>> r = load_rules("tr")
            >>> [r.realize(r.affix_index["LOC"], w) for w in ("ev", "kitap", "okul")]
            ['de', 'ta', 'da']
        """
        # the rules look only at the last vowel and the last few letters
        last_vowel = next((c for c in reversed(context) if c in self._vowel_set), "")
        key = (affix, context[-self._tail:] + "|" + last_vowel)
        if key not in self._realized:
            self._realized[key] = self._write(self.affixes[affix].parts, context)
        return self._realized[key]

    def _write(self, parts: tuple, context: str) -> str | None:
        out = ""
        for part in parts:
            if part[0] == "lit":
                out += part[1]
            elif part[0] == "sym":
                for cond, letter in self.symbols[part[1]]:
                    if self.holds(cond, context + out):
                        out += letter
                        break
                else:
                    return None
            elif part[0] == "alt":
                chosen = next((inner for cond, inner in part[1] if self.holds(cond, context + out)), None)
                inner = None if chosen is None else self._write(chosen, context + out)
                if inner is None:
                    return None
                out += inner
            elif self.holds(self.optional[part[1]], context + out):
                inner = self._write(part[2], context + out)
                if inner is None:
                    return None
                out += inner
        return out or None

    def _surfaces(self, context: str) -> list[tuple[int, str, Affix]]:
        """(index, surface, affix) of every affix that can be written after ``context`` (cached
        by what the rules look at)."""
        last_vowel = next((c for c in reversed(context) if c in self._vowel_set), "")
        key = context[-self._tail:] + "|" + last_vowel
        out = self._surface_lists.get(key)
        if out is None:
            out = [(k, s, a) for k, a in enumerate(self.affixes) for s in [self.realize(k, context)] if s]
            self._surface_lists[key] = out
        return out

    def allomorphs(self, affix_id: str) -> list[str]:
        """The surface forms of an affix group after the roots of the rule set (sorted).

            >>> load_rules("tr").allomorphs("LOC")
            ['da', 'de', 'ta', 'te']
        """
        i = self.affix_index[affix_id]
        return sorted({s for r in self.roots for s in [self.realize(i, r)] if s})

    # ---- writing and analysing words ---------------------------------------------------------
    def stem_before(self, root: str, next_affix: int | None) -> str:
        """The root as written before ``next_affix`` (an index, or None at the end of the word):
        the altered stem when the affix, realized after it, starts with a vowel."""
        alt = self.roots.get(root)
        if alt and next_affix is not None:
            s = self.realize(next_affix, alt)
            if s and s[0] in self._vowel_set:
                return alt
        return root

    def render(self, root: str, affixes: tuple[str, ...] | list[str]) -> str | None:
        """Write root + affixes with the rules (lowercase); None if an affix cannot be realized."""
        idx = [self.affix_index[a] for a in affixes]
        word = self.stem_before(root, idx[0] if idx else None)
        for i in idx:
            s = self.realize(i, word)
            if s is None:
                return None
            word += s
        return word

    def analyze(self, word: str, max_stem: int | None = None, refine: bool = True) -> Analysis | None:
        """The analysis of a lowercase word as a known root + a valid affix chain whose writing
        with the rules is ``word`` exactly, or None (the word goes to the statistical model).
        Preference: a root written as it is over an altered stem, then the longest stem, then
        the fewest affixes (``gönderdi-k``... is preferred to ``göndert~gönderd-i-k``); then a
        shorter root whose analysis cuts the word wherever that one does and more (``yayıl-ıp`` ->
        ``yay-ıl-ıp``, ``kitapçı-lar`` -> ``kitap-çı-lar``; ``yapı-lar`` stays: ``yap-ıl-ar`` does not
        cut after ``yapı``), the longest such first, so that a lexicalized derived stem is cut into its root
        and derivations (``refine``; off: the longest root, as tokforge analysed before). ``max_stem`` caps
        the length of the written stem.

            >>> load_rules("tr").analyze("kitabımızdaki")
            Analysis(root='kitap', altered=True, affixes=('P1PL', 'LOC', 'KI'))
        """
        if len(word) < self.min_root_length or len(word) > MAX_LETTERS or not _LETTERS.match(word):
            return None
        longest = min(len(word), self._longest_stem, max_stem or len(word))
        memo: dict = {}
        best: Analysis | None = None
        cuts: set[int] = set()
        for i in range(longest, self.min_root_length - 1, -1):
            refining = best is not None and not best.altered
            if refining and not refine:
                break
            for root, altered in self._stems.get(word[:i], ()):
                if not refining and best is not None and (altered or not best.altered):
                    continue  # found already: a longer stem with at least as good a kind
                chain = self._chain(word, i, 0, "", memo, self.root_categories.get(root, self.all_categories))
                if chain is None:
                    continue
                affixes = tuple(self.affixes[k].id for k in chain)
                if (altered and not chain) or self.render(root, affixes) != word:
                    continue
                found = self._cuts(word, i, chain)
                if refining and not found > cuts:
                    continue
                best, cuts = Analysis(root, altered, affixes), found
        return best

    def _cuts(self, word: str, stem: int, chain: list[int]) -> set[int]:
        """Where root (``word[:stem]`` as written) + ``chain`` cuts ``word`` (offsets inside it)."""
        out, pos = set(), stem
        for k in chain:
            out.add(pos)
            pos += len(self.realize(k, word[:pos]))
        return out

    def guess(self, word: str, min_stem: int = GUESS_MIN_STEM) -> Analysis | None:
        """For a word without analysis: an unknown stem (at least ``min_stem`` letters, with a
        vowel) + a valid affix chain of two letters or more that the rules write back exactly, the
        shortest such stem first (``debianları`` -> ``debian`` + PL + P3). The stem is text for the
        statistical model. None when there is none.

            >>> load_rules("tr").guess("debianları")
            Analysis(root='debian', altered=False, affixes=('PL', 'P3'))
        """
        if len(word) > MAX_LETTERS or not _LETTERS.match(word):
            return None
        memo: dict = {}
        for i in range(min_stem, len(word) - 1):
            stem = word[:i]
            if not any(c in self._vowel_set for c in stem):
                continue
            chain = self._chain(word, i, 0, "", memo, self.unknown_mask)
            if chain:
                return Analysis(stem, False, tuple(self.affixes[k].id for k in chain))
        return None

    def chain(self, word: str, pos: int) -> list[int] | None:
        """Affix indices that spell ``word[pos:]`` after ``word[:pos]`` from the start state, the word
        being of the unknown stems' categories (fewest affixes; the first in affix order among those),
        or None.

            >>> r = load_rules("tr"); [r.affixes[k].id for k in r.chain("istanbulda", 8)]
            ['LOC']
        """
        return self._chain(word, pos, 0, "", {}, self.unknown_mask)

    def _chain(self, word: str, pos: int, state: int, prev: str, memo: dict, cats: int) -> list[int] | None:
        """Affix indices that spell ``word[pos:]`` after ``word[:pos]`` (fewest affixes), the
        state, the previous affix id and the word's categories (bit mask) being ``state``,
        ``prev`` and ``cats``."""
        if pos == len(word):
            return []
        key = (pos, state, prev, cats)
        if key in memo:
            return memo[key]
        best = None
        for k, s, a in self._surfaces(word[:pos]):
            if a.order <= state or (a.requires and prev not in a.requires) or not a.attaches & cats:
                continue
            if word.startswith(s, pos):
                rest = self._chain(word, pos + len(s), a.next, a.id, memo, cats if a.makes is None else 1 << a.makes)
                if rest is not None and (best is None or len(rest) + 1 < len(best)):
                    best = [k] + rest
        memo[key] = best
        return best

    # ---- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The rule set as one JSON object with its roots inline (saved in model files)."""
        return {
            **(self.meta or {}), "name": self.name, "case": self.case, "vowels": self.vowels,
            "symbols": {k: [[c, out] for c, out in v] for k, v in self.symbols.items()},
            "optional": self.optional, "min_root_length": self.min_root_length,
            **({"categories": list(self.categories)} if self.categories else {}),
            **({"unknown": self.category_names(self.unknown_categories)} if self.unknown_categories != -1 else {}),
            "affixes": [{"id": a.id, "template": _template_doc(a), "order": a.order, "next": a.next, "gloss": a.gloss,
                         **({"requires": list(a.requires)} if a.requires else {}),
                         **({"attaches": self.category_names(a.attaches)} if a.attaches != -1 else {}),
                         **({"makes": self.categories[a.makes]} if a.makes is not None else {})}
                        for a in self.affixes],
            "roots": [r + ("\t" + (alt or "") + "\t" + ",".join(self.category_names(self.root_categories[r]))
                           if r in self.root_categories else "\t" + alt if alt else "") for r, alt in self.roots.items()],
        }

    def category_names(self, mask: int) -> list[str]:
        return [c for i, c in enumerate(self.categories) if mask >> i & 1]

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _template_doc(a: Affix) -> Any:
    """An affix's template as its rule-set document writes it (a string, or the alternatives)."""
    if len(a.parts) == 1 and a.parts[0][0] == "alt":
        return [[cond, text] for (cond, _), text in zip(a.parts[0][1], a.template.split("|"))]
    return a.template


def parse_template(template: str | list, symbols: dict, optional: dict, where: str) -> tuple:
    """``"(y)AcAk"`` -> parts (see ``Affix.parts``).

        >>> parse_template("(y)Im", {"I": []}, {"y": {}}, "")
        (('opt', 'y', (('lit', 'y'),)), ('sym', 'I'), ('lit', 'm'))
    """
    if isinstance(template, list):  # [[COND, template], ...]: the first whose condition holds
        try:
            return (("alt", tuple((_condition(cond, f"{where}: template {template!r}"),
                                   parse_template(str(text), symbols, optional, where)) for cond, text in template)),)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: template {template!r} must be a string or a list of [condition, template] "
                              "pairs") from None
    parts: list = []
    i = 0
    while i < len(template):
        c = template[i]
        if c == "(":
            j = template.find(")", i)
            if j < 0:
                raise ConfigError(f"{where}: template {template!r} has an unclosed '('")
            key = template[i + 1:j]
            if key not in optional:
                raise ConfigError(f"{where}: template {template!r} uses optional part ({key}) but the rule set's "
                                  f"'optional' has no condition for {key!r}")
            parts.append(("opt", key, parse_template(key, symbols, optional, where)))
            i = j + 1
        elif c in symbols:
            parts.append(("sym", c))
            i += 1
        else:
            parts.append(("lit", c))
            i += 1
    return tuple(parts)


_CONDITION_KEYS = {"after": list, "not_after": list, "last_vowel_in": str}


def _condition(cond: Any, where: str) -> dict:
    """A condition (module docstring) checked: its keys and their types; else ConfigError."""
    if not isinstance(cond, dict):
        raise ConfigError(f"{where}: condition {cond!r} is not an object like {{\"after\": [\"k\"]}}")
    for key, value in cond.items():
        kind = _CONDITION_KEYS.get(key)
        if kind is None or not isinstance(value, kind) or (kind is list and not all(isinstance(x, str) for x in value)):
            raise ConfigError(f"{where}: condition {cond!r}: {key!r} must be one of "
                              "after/not_after (a list of strings) or last_vowel_in (a string)")
    return dict(cond)


def rules_from_dict(doc: dict[str, Any], where: str = "<rules>", base: Path | None = None) -> RuleSet:
    """Build a ``RuleSet`` from its JSON object (roots inline or in a file next to it)."""
    try:
        symbols = {k: [(_condition(c, f"{where}: symbol {k!r}"), _text(out, f"{where}: symbol {k!r}"))
                       for c, out in v] for k, v in doc.get("symbols", {}).items()}
        optional = {k: _condition(v, f"{where}: optional {k!r}") for k, v in doc.get("optional", {}).items()}
        _text(doc.get("vowels", ""), f"{where}: vowels")
        categories = tuple(map(str, doc.get("categories", ())))

        def mask(names: Any, what: str) -> int:
            unknown = [n for n in names if n not in categories]
            if unknown or not names:
                raise ConfigError(f"{where}: {what} names categories {unknown or names!r}; the rule set's categories "
                                  f"are {list(categories)}")
            return sum(1 << categories.index(n) for n in names)

        affixes = []
        for a in doc["affixes"]:
            order = int(a["order"])
            template = a["template"]
            shown = "|".join(str(t) for _, t in template) if isinstance(template, list) else str(template)
            affixes.append(Affix(str(a["id"]), shown, order, int(a.get("next", order)),
                                 str(a.get("gloss", "")), parse_template(template if isinstance(template, list)
                                                                         else str(template), symbols, optional,
                                                                          f"{where}: affix {a['id']!r}"),
                                 tuple(map(str, a.get("requires", ()))),
                                 mask(a["attaches"], f"affix {a['id']!r}") if "attaches" in a else -1,
                                 mask([a["makes"]], f"affix {a['id']!r}").bit_length() - 1 if "makes" in a else None))
        roots_spec = doc["roots"]
        if isinstance(roots_spec, str):
            path = (base or Path(".")) / roots_spec
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError as e:
                raise ConfigError(f"{where}: cannot read the roots file {path} ({e})") from None
        else:
            lines = list(roots_spec)
        roots: dict[str, str | None] = {}
        root_categories: dict[str, int] = {}
        for line in lines:
            line = line.strip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            root, _, rest = line.partition("\t")
            alt, _, cats = rest.partition("\t")
            root = root.strip()
            roots[root] = alt.strip() or None
            if cats.strip():
                root_categories[root] = mask([c.strip() for c in cats.split(",")], f"root {root!r}")
        meta = {k: doc[k] for k in ("description", "source", "licence") if k in doc}
        return RuleSet(str(doc["name"]), str(doc.get("case", "default")), str(doc.get("vowels", "")), symbols,
                       optional, affixes, roots, int(doc.get("min_root_length", 2)), meta, categories, root_categories,
                       mask(doc["unknown"], "unknown") if "unknown" in doc else -1)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ConfigError(f"{where}: not a valid morph rule set ({type(e).__name__}: {e}); see the format in "
                          "tokforge/models/morph/rules.py") from None


@lru_cache(maxsize=8)
def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {value!r} is not a string")
    return value


def _load_file(path: str, mtime: float) -> RuleSet:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConfigError(f"morph rules {p}: cannot read a JSON rule set ({e})") from None
    return rules_from_dict(doc, str(p), p.parent)


def rules_path(spec: str | os.PathLike) -> Path:
    """The JSON file of a ``morph_rules`` value: a shipped name (``tr``, ``en``) or a path."""
    spec = str(spec)
    if spec in BUILTIN_RULES:
        return DATA_DIR / f"{spec}.json"
    p = Path(spec)
    if not p.is_file():
        raise ConfigError(f"morph_rules {spec!r} is neither a shipped rule set ({', '.join(BUILTIN_RULES)}) nor a "
                          "JSON rule-set file; see tokforge/models/morph/rules.py for the format")
    return p


def load_rules(spec: str | os.PathLike) -> RuleSet:
    """The rule set of a ``morph_rules`` value (cached)."""
    p = rules_path(spec)
    return _load_file(str(p.resolve()), p.stat().st_mtime)
