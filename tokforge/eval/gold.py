"""Gold morpheme segmentations and word lists, read from files for ``tokforge eval``.

Two segmentation formats:

- **TSV** (any file not ending in ``.conllu``): one word a line, ``word<TAB>seg1 seg2 ...``; the
  segments, separated by spaces, must spell the word. Alternatives separated by commas
  (Morpho Challenge style, ``word<TAB>a b, ab``) are allowed: the first is used. Empty lines and
  lines starting with ``#`` are skipped.
- **CoNLL-U** (``.conllu``): every word line with a lemma gives one word, segmented at the end
  of its lemma when the lemma is a proper prefix of the form (case-insensitive): ``kitapları``
  with lemma ``kitap`` is ``kitap|ları``. A form equal to its lemma is one morpheme. Words whose
  lemma is not a prefix (``kitabı``/``kitap``, ``went``/``go``) are skipped and counted. Only the
  root boundary is known, so precision against CoNLL-U gold is a lower bound.

    >>> parse_tsv(["kitaplar\\tkitap lar", "# comment", "evler\\tev ler, evler"])
    [GoldWord(word='kitaplar', boundaries=(5,)), GoldWord(word='evler', boundaries=(2,))]
    >>> parse_conllu(["# text = Kitapları okudum.", "1\\tKitapları\\tkitap\\tNOUN\\t_\\t_\\t0\\troot\\t_\\t_",
    ...               "2-3\\tokudum\\t_\\t_\\t_\\t_\\t_\\t_\\t_\\t_", "4\\t.\\t.\\tPUNCT\\t_\\t_\\t1\\tpunct\\t_\\t_"])
    ([GoldWord(word='Kitapları', boundaries=(5,)), GoldWord(word='.', boundaries=())], 0)
"""
from __future__ import annotations

import functools

import os
from pathlib import Path
from typing import Iterable, NamedTuple

from tokforge.errors import InputError
from tokforge.text.casing import fold_case


class GoldWord(NamedTuple):
    """A word and its gold morpheme boundaries: character offsets strictly inside the word."""

    word: str
    boundaries: tuple[int, ...]

    def byte_boundaries(self, offset: int = 0) -> set[int]:
        """The boundaries as UTF-8 byte offsets, plus ``offset``.

            >>> sorted(GoldWord("çaylar", (3,)).byte_boundaries(offset=1))
            [5]
        """
        return {offset + len(self.word[:b].encode("utf-8")) for b in self.boundaries}


class GoldSet(NamedTuple):
    """The words read from one gold file, and how many word lines were skipped."""

    name: str
    words: list[GoldWord]
    skipped: int


def parse_tsv(lines: Iterable[str], source: str = "<tsv>") -> list[GoldWord]:
    """Words of the ``word<TAB>seg1 seg2 ...`` format (see the module docstring)."""
    out = []
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.startswith("#"):
            continue
        word, tab, segs = line.partition("\t")
        segments = segs.split(",")[0].split()
        if not tab or not word or not segments:
            raise InputError(f"{source} line {number}: expected 'word<TAB>seg1 seg2 ...', got {line[:80]!r}")
        if "".join(segments) != word:
            raise InputError(f"{source} line {number}: the segments {' '.join(segments)!r} do not spell the "
                             f"word {word!r}; give surface segments (no labels or underlying forms)")
        bounds, pos = [], 0
        for seg in segments[:-1]:
            pos += len(seg)
            bounds.append(pos)
        out.append(GoldWord(word, tuple(bounds)))
    return out


def parse_conllu(lines: Iterable[str], source: str = "<conllu>", language: str | None = None
                 ) -> tuple[list[GoldWord], int]:
    """(words, skipped) of a CoNLL-U file, segmented at the lemma (see the module docstring); form
    and lemma are compared case-folded for ``language`` (``tokforge.text.casing.fold_case``).

    >>> parse_conllu(["1\\tİSTANBUL'da\\tistanbul\\tPROPN\\t_\\t_\\t0\\troot\\t_\\t_"], language="tr")[0]
    [GoldWord(word="İSTANBUL'da", boundaries=(8,))]
    """
    fold = functools.partial(fold_case, language=language)
    out, skipped = [], 0
    for number, line in enumerate(lines, 1):
        line = line.rstrip("\r\n")
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 10:
            raise InputError(f"{source} line {number}: a CoNLL-U word line has 10 tab-separated columns, "
                             f"this one has {len(cols)}")
        ident, form, lemma = cols[0], cols[1], cols[2]
        if "-" in ident or "." in ident:  # multiword token ranges and empty nodes
            continue
        if not form or (lemma in ("", "_") and form != "_"):
            skipped += 1
        elif fold(form) == fold(lemma):
            out.append(GoldWord(form, ()))
        elif len(lemma) < len(form) and fold(form[:len(lemma)]) == fold(lemma):
            out.append(GoldWord(form, (len(lemma),)))
        else:
            skipped += 1
    return out, skipped


def read_gold(path: str | os.PathLike, language: str | None = None) -> GoldSet:
    """Read a gold segmentation file: CoNLL-U when it ends in ``.conllu`` (``language``: the case
    folding of ``parse_conllu``), else TSV."""
    p = Path(path)
    lines = _read_lines(p, "gold segmentation")
    if p.name.endswith(".conllu"):
        words, skipped = parse_conllu(lines, str(p), language)
    else:
        words, skipped = parse_tsv(lines, str(p)), 0
    if not words:
        raise InputError(f"{p}: no segmented words found; see `tokforge eval --help` for the formats")
    return GoldSet(p.name, words, skipped)


def read_wordlist(path: str | os.PathLike, language: str | None = None) -> set[str]:
    """The words of a word list (the first field of each line, so frequency lists work too),
    case-folded for ``language`` (``tokforge.text.casing.fold_case``: Unicode casefold by default; "tr"
    or "az" for the Turkish/Azerbaijani I pairs)."""
    p = Path(path)
    words = {fold_case(line.split()[0], language) for line in _read_lines(p, "word list") if line.strip()}
    if not words:
        raise InputError(f"{p}: the word list is empty")
    return words


def _read_lines(p: Path, what: str) -> list[str]:
    try:
        return p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{p}: no such {what} file") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not UTF-8 (byte offset {e.start}); re-encode the {what} as UTF-8") from None
    except OSError as e:
        raise InputError(f"cannot read {p}: {e.strerror}") from None
