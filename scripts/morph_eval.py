"""Compare the morphology hybrid with plain BPE of the same vocabulary size, trained on the same text.

    python scripts/morph_eval.py [--corpus corpora/tr] [--vocab 4000 8000] [--gold tests/data/morph_gold_tr.tsv]
                                 [--wordlist WORDS.txt] [--json out.json]

Every 10th line of the corpus is held out; the tokenizers are trained on the other lines. Reported,
with tokforge's own metrics (``tokforge.metrics`` through ``tokforge.evaluate``): on the held-out
lines, bytes per token, tokens per word and the valid-word share of distinct letter-bearing tokens
(and of token occurrences; the same with the affix surface forms of the rule set added to the
list, "words+morphemes", closer to the paper's %TR; ``--wordlist``: e.g. every word form of the Turkish Hunspell dictionary, written by
``scripts/build_morph_roots.py tr --wordlist``; default: the roots of the rule set); on the gold
segmentations, %pure tokens and morpheme-boundary precision / recall / F1.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tokforge.adapters import TextBatch, from_tokforge  # noqa: E402
from tokforge.corpus import Corpus  # noqa: E402
from tokforge.evaluate import Options, evaluate, evaluate_gold  # noqa: E402
from tokforge.gold import read_gold, read_wordlist  # noqa: E402
from tokforge.morph import load_rules  # noqa: E402
from tokforge.metrics import is_word_token  # noqa: E402
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(ROOT / "corpora" / "tr"))
    ap.add_argument("--vocab", type=int, nargs="+", default=[4000, 8000])
    ap.add_argument("--rules", default="tr")
    ap.add_argument("--morph-roots", type=float, nargs="+", default=[0.8])
    ap.add_argument("--gold", default=str(ROOT / "tests" / "data" / "morph_gold_tr.tsv"))
    ap.add_argument("--wordlist")
    ap.add_argument("--json")
    args = ap.parse_args()
    rules = load_rules(args.rules)
    words = read_wordlist(args.wordlist) if args.wordlist else set(rules.roots)
    # words or morphemes: the word list plus every surface form of the rule set's affix groups
    units = words | {s for a in rules.affixes for s in rules.allomorphs(a.id)}
    gold = read_gold(args.gold)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, held_dir = split(args.corpus, Path(tmp))
        for size in args.vocab:
            for algo, share in [("bpe", None)] + [("morph", r) for r in args.morph_roots]:
                options = {"morph_rules": args.rules, "morph_roots": share} if share is not None else {}
                tok = train([str(train_dir)], vocab_size=size, algo=algo, held_out=0.0, **options)
                ev = from_tokforge(tok, f"{algo}-{size}" + (f"-r{share}" if share is not None else ""))
                report = evaluate([ev], [str(held_dir)], Options(wordlist=words, sample_words=0))
                r = report.rows[0]
                g = evaluate_gold(ev, gold)
                occ_valid, occ = occurrence_share(ev, held_dir / "text.txt", words)
                with_morphemes = evaluate([ev], [str(held_dir)], Options(wordlist=units, sample_words=0)).rows[0]
                occ_units, _ = occurrence_share(ev, held_dir / "text.txt", units)
                rows.append({"tokenizer": ev.name, "vocab_size": tok.vocab_size,
                             "bytes_per_token": r["bytes_per_token"], "fertility": r["fertility"],
                             "valid_word_tokens": r["valid_word_tokens"],
                             "valid_word_occurrences": occ_valid / occ if occ else None,
                             "valid_unit_tokens": with_morphemes["valid_word_tokens"],
                             "valid_unit_occurrences": occ_units / occ if occ else None, "pure_tokens": g["pure_tokens"],
                             "boundary_precision": g["boundary_precision"], "boundary_recall": g["boundary_recall"],
                             "boundary_f1": g["boundary_f1"]})
                print(_fmt(rows[-1]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"corpus": args.corpus, "gold": args.gold, "rows": rows}, indent=1))


def occurrence_share(ev, path: Path, words: set[str]) -> tuple[int, int]:
    """(valid, counted) over token occurrences of the held-out text (not distinct tokens): the
    valid-word test of ``tokforge.metrics.valid_word_tokens`` applied to every letter-bearing token."""
    texts = path.read_text(encoding="utf-8").splitlines(keepends=True)
    batch = TextBatch.of(texts)
    enc = ev.encode(batch)
    data = batch.index.data
    valid = counted = 0
    for s, e in zip(enc.starts.tolist(), enc.ends.tolist()):
        surface = data[s:e].decode("utf-8", errors="replace")
        if is_word_token(surface):
            counted += 1
            valid += surface.strip().casefold() in words
    return valid, counted


def _fmt(r: dict) -> str:
    return (f"{r['tokenizer']:<16} vocab {r['vocab_size']:>6}  bytes/tok {r['bytes_per_token']:.3f}  "
            f"fertility {r['fertility']:.2f}  valid words {r['valid_word_tokens']:.1%} "
            f"(occurrences {r['valid_word_occurrences']:.1%})  words+morphemes {r['valid_unit_tokens']:.1%} "
            f"(occurrences {r['valid_unit_occurrences']:.1%})  pure {r['pure_tokens']:.1%}  "
            f"boundary P {r['boundary_precision']:.3f} R {r['boundary_recall']:.3f} F1 {r['boundary_f1']:.3f}")


if __name__ == "__main__":
    main()
