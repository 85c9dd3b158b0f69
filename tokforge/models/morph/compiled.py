"""The morph stage compiled for the numba planner (``tokforge.kernels.morph``): a rule set as arrays
(``compile_stage``), and the planner's result as units for the fallback model (``plan_batch``).

The arrays say what the rule set's Python code says: the case mapping of every letter (Python's own
``str.lower``/``str.upper``, the rule set's Turkish I pairs included), each affix's surface after every
phonological context the conditions tell apart, the roots and their altered stems, the morphotactics.
A rule set whose conditions look at more than the last character (``{"after": ["ks"]}``) is not
compiled (``compile_stage`` gives None): the tokenizer then plans with the stage in Python.

    >>> from tokforge.models.morph.rules import load_rules
    >>> t = compile_stage(load_rules("tr"))
    >>> len(t.order), int(t.min_root), chr(t.lower[ord("I")]), chr(t.upper[ord("i")])
    (70, 2, 'ı', 'İ')
"""
from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from tokforge.kernels.morph import Tables, build_stem_slots, plan_pieces
from tokforge.kernels.pretokenize import LETTER
from tokforge.models.morph.rules import GUESS_MIN_STEM, RuleSet
from tokforge.models.morph.stage import APOSTROPHES
from tokforge.packed import offsets_from_lengths
from tokforge.text.casing import dotted_i_lower
from tokforge.text.unicode_classes import class_table
from tokforge.text.unicode_data import N_CODE_POINTS

_OTHER_CHARS = "bxq\u2603"  # a context's last character that no condition names (one that is no vowel)


class Planned(NamedTuple):
    """``plan_pieces``'s result (``tokforge.kernels.morph``): unit codes per document, distinct texts."""

    codes: np.ndarray       # int64: a token id, or -1 - t for text t
    doc_units: np.ndarray   # int64[D+1]
    texts: bytes
    text_bounds: np.ndarray  # int64[T+1]
    doc_python: np.ndarray  # bool[D]: documents the stage must plan in Python


def compile_stage(rules: RuleSet) -> Tables | None:
    """The rule set as the planner's arrays (built once per rule set object), or None when the kernel
    cannot express its conditions (see the module docstring)."""
    cached = rules.__dict__.get("_compiled", ...)
    if cached is ...:
        cached = rules.__dict__["_compiled"] = _compile(rules)
    return cached


def plan_batch(tables: Tables, buf: bytes, piece_bounds: np.ndarray, doc_pieces: np.ndarray,
               stage_codes: np.ndarray, version: int) -> Planned:
    """Plan every piece ``buf[piece_bounds[j]:piece_bounds[j+1]]``, document ``d`` being pieces
    ``doc_pieces[d]:doc_pieces[d+1]``, with ``stage_codes`` and the stage's ``version`` (see
    ``tokforge.kernels.morph``)."""
    data = np.frombuffer(buf, np.uint8)
    codes, doc_units, texts, text_bounds, doc_python = plan_pieces(
        data, np.ascontiguousarray(piece_bounds, np.int64), np.ascontiguousarray(doc_pieces, np.int64), tables,
        np.ascontiguousarray(stage_codes, np.int64), version)
    return Planned(codes, doc_units, texts.tobytes(), text_bounds, doc_python)


@functools.lru_cache(maxsize=2)
def case_tables(case: str) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) int32[0x110000] of the letters (and their lowercase forms) under a rule set's case
    mapping, -1 where it is not one code point on its own; ``Σ`` is -1 in ``lower`` (final sigma
    depends on the letters around it)."""
    lower_of = dotted_i_lower if case == "turkish" else str.lower
    upper_of = (lambda c: c.replace("i", "İ").replace("ı", "I").upper()) if case == "turkish" else str.upper
    lower = np.full(N_CODE_POINTS, -1, np.int32)
    upper = np.full(N_CODE_POINTS, -1, np.int32)
    letters = np.flatnonzero(class_table() & LETTER).tolist()
    images = set()
    for cp in letters:
        low = lower_of(chr(cp))
        if len(low) == 1:
            lower[cp] = ord(low)
            images.add(ord(low))
    for cp in images.union(letters):
        up = upper_of(chr(cp))
        if len(up) == 1:
            upper[cp] = ord(up)
    lower[0x3A3] = -1
    lower.flags.writeable = upper.flags.writeable = False
    return lower, upper


def _compile(rules: RuleSet) -> Tables | None:
    named = [s for c in rules.conditions() for key in ("after", "not_after") for s in c.get(key, ())]
    if any(len(s) > 1 for s in named):
        return None
    vowels = list(dict.fromkeys(rules.vowels))
    marked = sorted({s for s in named if s})
    other = next(c for c in _OTHER_CHARS if c not in marked and c not in vowels)
    # surfaces: affix k after a context of key (vowel class, char class)
    surfaces: list[str] = []
    for k in range(len(rules.affixes)):
        for v in range(len(vowels) + 1):
            for m in range(len(marked) + 1):
                last = marked[m - 1] if m else other
                if last in vowels:
                    context = last if v and vowels[v - 1] == last else None
                else:
                    context = (vowels[v - 1] if v else "") + last
                surfaces.append((rules.realize(k, context) or "") if context is not None else "")
    # roots: the distinct stems (roots and altered stems) in the order of RuleSet._stems
    stems = list(rules._stems)
    stem_index = {s: i for i, s in enumerate(stems)}
    root_index = {r: i for i, r in enumerate(rules.roots)}
    entries = [e for s in stems for e in rules._stems[s]]
    stem_cps, stem_bounds = _code_points(stems)
    # morphotactics: states are the values of ``next`` (and 0); the previous affix matters only
    # through ``requires``, so affixes some affix requires get a class of their own (0: any other)
    states = sorted({0, *(a.next for a in rules.affixes)})
    required = sorted({x for a in rules.affixes for x in a.requires})
    if len(required) >= 62:
        return None
    prev_class = [1 + required.index(a.id) if a.id in required else 0 for a in rules.affixes]
    everything = (1 << (len(required) + 1)) - 1
    requires = [sum(1 << (1 + required.index(x)) for x in a.requires) if a.requires else everything
                for a in rules.affixes]
    surf_cps, surf_bounds = _code_points(surfaces)
    # word categories as bit masks 1..n_masks-1 (a rule set without categories has one: every word is in it)
    n_masks = 1 << max(1, len(rules.categories))
    every = n_masks - 1

    def mask(m: int) -> int:
        return every if m == -1 else m
    # per key, the affixes with a surface there sorted by (first code point, affix): found by the letter
    n_keys = (len(vowels) + 1) * (len(marked) + 1)
    by_key = [sorted((ord(surfaces[k * n_keys + key][0]), k) for k in range(len(rules.affixes))
                     if surfaces[k * n_keys + key]) for key in range(n_keys)]
    lower, upper = case_tables(rules.case)
    i64 = functools.partial(np.array, dtype=np.int64)
    return Tables(
        classes=class_table(), lower=lower, upper=upper,
        vowels=i64([ord(c) for c in vowels]), marked=i64([ord(c) for c in marked]),
        apostrophes=i64([ord(c) for c in APOSTROPHES]),
        stem_cps=stem_cps, stem_bounds=stem_bounds, stem_slots=build_stem_slots(stem_cps, stem_bounds),
        entry_bounds=offsets_from_lengths([len(rules._stems[s]) for s in stems]),
        entry_root=i64([root_index[r] for r, _ in entries]), entry_altered=np.array([a for _, a in entries], np.bool_),
        root_stem=i64([stem_index[r] for r in rules.roots]),
        root_alt=i64([stem_index[alt] if alt else -1 for alt in rules.roots.values()]),
        order=i64([a.order for a in rules.affixes]), next_state=i64([states.index(a.next) for a in rules.affixes]),
        prev_class=i64(prev_class), requires=i64(requires), state_values=i64(states),
        surf_cps=surf_cps, surf_bounds=surf_bounds, key_bounds=offsets_from_lengths([len(e) for e in by_key]),
        key_affix=i64([k for e in by_key for _, k in e]), key_first=i64([c for e in by_key for c, _ in e]),
        attaches=i64([mask(a.attaches) for a in rules.affixes]),
        makes=i64([-1 if a.makes is None else 1 << a.makes for a in rules.affixes]),
        entry_cats=i64([mask(rules.root_categories.get(r, -1)) for r, _ in entries]),
        unknown_cats=mask(rules.unknown_categories), n_masks=n_masks,
        min_root=int(rules.min_root_length), longest_stem=int(rules._longest_stem), guess_min_stem=GUESS_MIN_STEM,
        state0=states.index(0), n_prev=len(required) + 1)


def _code_points(strings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The code points of ``strings`` back to back, and their offsets."""
    joined = "".join(strings)
    cps = np.frombuffer(joined.encode("utf-32-le"), np.uint32).astype(np.int64)
    return cps, offsets_from_lengths([len(s) for s in strings])
