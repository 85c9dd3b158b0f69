"""Compare the morphology hybrid (with a BPE and with a Unigram fallback) with plain BPE and plain
Unigram of the same vocabulary size, trained on the same text.

    python scripts/morph_eval.py [--corpus corpora/tr] [--vocab 4000 8000] [--gold tests/data/morph_gold_tr.tsv]
                                 [--wordlist WORDS.txt] [--fallback bpe unigram] [--json out.json]

Every 10th line of the corpus is held out; the tokenizers are trained on the other lines. Reported,
with tokforge's own metrics (``tokforge.eval.metrics`` through ``tokforge.eval.evaluate``), on the held-out lines:

- the headline, ``TR%`` as the paper defines it ("Tokens with Meaning", arXiv 2508.14292: the
  proportion of produced tokens that correspond to lexical/morphemic units of the language):
  the share of letter-bearing token occurrences whose text (stripped, case-folded with the rule
  set's language: Turkish I/ı, İ/i) is a word of the word list or a surface form of one of the rule
  set's affix groups ("words+morphemes");
- bytes per token, tokens per word;
- the same valid share over distinct tokens, and with the word list alone (words only), over
  distinct tokens and over occurrences.

``--wordlist``: e.g. every word form of the Turkish Hunspell dictionary, written by
``scripts/build_morph_roots.py tr --wordlist``; default: the roots of the rule set. On the gold
segmentations: %pure tokens and morpheme-boundary precision / recall / F1. The last lines print
the rows as a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tokforge.corpus import Corpus  # noqa: E402
from tokforge.eval.adapters import TextBatch, from_tokforge  # noqa: E402
from tokforge.eval.evaluate import Options, evaluate, evaluate_gold  # noqa: E402
from tokforge.eval.gold import read_gold, read_wordlist  # noqa: E402
from tokforge.eval.metrics import is_valid_word, is_word_token  # noqa: E402
from tokforge.models.morph.rules import load_rules  # noqa: E402
from tokforge.models.morph.trainer import FALLBACKS  # noqa: E402
from tokforge.text.casing import FOLD_LANGUAGES, fold_case  # noqa: E402
from tokforge.training import train  # noqa: E402


def split(corpus: str, folder: Path) -> tuple[Path, Path]:
    train_lines, held_lines = [], []
    for i, line in enumerate(Corpus([corpus])):
        (held_lines if i % 10 == 9 else train_lines).append(line if line.endswith("\n") else line + "\n")
    (folder / "train").mkdir()
    (folder / "held").mkdir()
    (folder / "train" / "text.txt").write_text("".join(train_lines), encoding="utf-8")
    (folder / "held" / "text.txt").write_text("".join(held_lines), encoding="utf-8")
    return folder / "train", folder / "held"


COLUMNS = [  # (key, Markdown header, format); the first valid share is the headline
    ("tokenizer", "tokenizer", "{}"),
    ("vocab_size", "vocab", "{}"),
    ("valid_unit_occurrences", "TR% (words+morphemes, token occurrences)", "{:.1%}"),
    ("bytes_per_token", "bytes/token", "{:.3f}"),
    ("fertility", "tokens/word", "{:.2f}"),
    ("valid_unit_tokens", "words+morphemes (distinct tokens)", "{:.1%}"),
    ("valid_word_occurrences", "words only (occurrences)", "{:.1%}"),
    ("valid_word_tokens", "words only (distinct tokens)", "{:.1%}"),
    ("pure_tokens", "pure tokens", "{:.1%}"),
    ("boundary_precision", "boundary P", "{:.3f}"),
    ("boundary_recall", "boundary R", "{:.3f}"),
    ("boundary_f1", "boundary F1", "{:.3f}"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(ROOT / "corpora" / "tr"))
    ap.add_argument("--vocab", type=int, nargs="+", default=[4000, 8000])
    ap.add_argument("--rules", default="tr")
    ap.add_argument("--morph-roots", type=float, nargs="+", default=[0.8])
    ap.add_argument("--fallback", nargs="+", choices=FALLBACKS, default=list(FALLBACKS),
                    help="fallback models of the hybrid to compare (each also as a plain tokenizer)")
    ap.add_argument("--language", choices=FOLD_LANGUAGES,
                    help="case folding of the word list and the tokens (default: tr when the rule set uses "
                         "Turkish case rules, else Unicode casefold)")
    ap.add_argument("--gold", default=str(ROOT / "tests" / "data" / "morph_gold_tr.tsv"))
    ap.add_argument("--wordlist")
    ap.add_argument("--json")
    args = ap.parse_args()
    rules = load_rules(args.rules)
    language = args.language or ("tr" if rules.case == "turkish" else None)
    words = read_wordlist(args.wordlist, language) if args.wordlist else {fold_case(r, language) for r in rules.roots}
    # words or morphemes: the word list plus every surface form of the rule set's affix groups
    units = words | {fold_case(s, language) for a in rules.affixes for s in rules.allomorphs(a.id)}
    gold = read_gold(args.gold)
    runs = [(algo, None, None) for algo in args.fallback] + \
        [("morph", fallback, share) for fallback in args.fallback for share in args.morph_roots]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, held_dir = split(args.corpus, Path(tmp))
        for size in args.vocab:
            for algo, fallback, share in runs:
                options = {"morph_rules": args.rules, "morph_roots": share, "morph_fallback": fallback} \
                    if algo == "morph" else {}
                tok = train([str(train_dir)], vocab_size=size, algo=algo, held_out=0.0, **options)
                name = f"morph-{fallback}-{size}-r{share}" if algo == "morph" else f"{algo}-{size}"
                ev = from_tokforge(tok, name)
                measured = {}
                for key, valid_set in (("word", words), ("unit", units)):
                    report = evaluate([ev], [str(held_dir)], Options(wordlist=valid_set, wordlist_language=language,
                                                                     sample_words=0))
                    measured[key] = report.rows[0]
                    valid, counted = occurrence_share(ev, held_dir / "text.txt", valid_set, language)
                    measured[key + "_occurrences"] = valid / counted if counted else None
                g = evaluate_gold(ev, gold)
                r = measured["word"]
                row = {"tokenizer": ev.name, "algo": algo, "fallback": fallback, "morph_roots": share,
                       "vocab_size": tok.vocab_size,
                       "valid_unit_occurrences": measured["unit_occurrences"],
                       "bytes_per_token": r["bytes_per_token"], "fertility": r["fertility"],
                       "valid_unit_tokens": measured["unit"]["valid_word_tokens"],
                       "valid_word_occurrences": measured["word_occurrences"],
                       "valid_word_tokens": r["valid_word_tokens"],
                       "pure_tokens": g["pure_tokens"], "boundary_precision": g["boundary_precision"],
                       "boundary_recall": g["boundary_recall"], "boundary_f1": g["boundary_f1"]}
                rows.append(row)
                print(_fmt(row), flush=True)
    print()
    print(markdown_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"corpus": args.corpus, "gold": args.gold, "wordlist": args.wordlist,
                                               "language": language, "rules": args.rules,
                                               "headline": "valid_unit_occurrences", "rows": rows}, indent=1))


def occurrence_share(ev, path: Path, words: set[str], language: str | None) -> tuple[int, int]:
    """(valid, counted) over token occurrences of the held-out text (not distinct tokens): the
    valid-word test of ``tokforge.eval.metrics`` (``is_word_token``, ``is_valid_word``) on every token."""
    texts = path.read_text(encoding="utf-8").splitlines(keepends=True)
    batch = TextBatch.of(texts)
    enc = ev.encode(batch)
    data = batch.index.data
    valid = counted = 0
    for s, e in zip(enc.starts.tolist(), enc.ends.tolist()):
        surface = data[s:e].decode("utf-8", errors="replace")
        if is_word_token(surface):
            counted += 1
            valid += is_valid_word(surface, words, language)
    return valid, counted


def _cell(row: dict, key: str, fmt: str) -> str:
    return "-" if row[key] is None else fmt.format(row[key])


def _fmt(row: dict) -> str:
    return "  ".join(f"{header} {_cell(row, key, fmt)}" for key, header, fmt in COLUMNS)


def markdown_table(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(header for _, header, _ in COLUMNS) + " |",
             "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(_cell(r, key, fmt) for key, _, fmt in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
