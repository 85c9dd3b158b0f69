"""How the model files in this folder were made: by tokforge at commit b12c397 (before the
restructuring into subpackages), with the public API only. They pin the tokforge.json format of
that release: tests/test_model_fixtures.py loads each with today's code and checks that it gives
the same ids and decodes the same text. Do not regenerate them unless the format changes on purpose.

    python tests/data/models/make.py     # from the repository root
"""
import json
import shutil
import tempfile
from pathlib import Path

import tokforge

HERE = Path(__file__).parent
CORPUS = ["corpora/en/essays_tokforge_en.txt", "corpora/tr/denemeler_tokforge_tr.txt",
          "corpora/el/debian_handbook_el.txt"]
TEXT = ("Merhaba dünya! Kitaplarımızdan birini İstanbul'da okuduk; EVLERDE 1,234,567.89 TL ödedik.\n"
        "The cat's 42 naïve cafés — 東京 2024年. Ελληνικά, русский текст, عربي <|endoftext|> end\n"
        "  spaces\ttab 🙂 x²³ ½ 0.5e-3 ISPARTA iPhone")
MODELS = {
    "bpe": dict(vocab_size=400),
    "bpe-nfkc-rtl3": dict(vocab_size=400, normalizer=("nfkc",), digits="rtl3", pattern="o200k"),
    "superbpe": dict(algo="superbpe", vocab_size=420, transition=360),
    "unigram": dict(algo="unigram", vocab_size=400),
    "unigram-metaspace": dict(algo="unigram", vocab_size=400, pattern="metaspace"),
    "tst-marker": dict(vocab_size=400, numbers="tst-marker"),
    "tst-vocab": dict(vocab_size=10300, numbers="tst-vocab"),
    "morph-bpe": dict(algo="morph", vocab_size=500, morph_rules="RULES", morph_fallback="bpe"),
    "morph-unigram": dict(algo="morph", vocab_size=500, morph_rules="RULES", morph_fallback="unigram"),
}
ROOTS = ["kitap\tkitab", "ev", "okul", "oku", "gel", "git\tgid", "istanbul", "dünya", "yol", "kalem",
         "ağaç\tağac", "renk", "gün", "dil", "söz", "yaz", "bil", "iş", "el", "göz"]


def tiny_rules(folder: Path) -> str:
    """The Turkish rule set with 20 roots (a model file embeds its rule set: this keeps it small)."""
    doc = json.loads(Path("tokforge/data/morph/tr.json").read_text(encoding="utf-8"))
    doc.update(name="tr-tiny", roots=ROOTS)
    path = folder / "tr-tiny.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


def main() -> None:
    expected = {"text": TEXT, "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        rules = tiny_rules(Path(tmp))
        for name, options in MODELS.items():
            options = {k: rules if v == "RULES" else v for k, v in options.items()}
            tok = tokforge.train(CORPUS, workers=1, **options)
            out = Path(tmp) / name
            tok.save(out, hf=False)
            shutil.copy(out / "tokforge.json", HERE / f"{name}.json")
            ids = tok.encode(TEXT)
            expected["models"][name] = {"ids": ids, "decoded": tok.decode(ids), "tokens": tok.pieces(TEXT)}
    (HERE / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
