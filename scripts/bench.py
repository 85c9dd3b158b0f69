#!/usr/bin/env python
"""Side-by-side benchmarks: tokforge vs the anchors, in one run, alternating, reporting ratios.

    python scripts/bench.py train CORPUS_DIR --vocab 8000 32000 --repeat 2   # + HF, rustbpe, bpeasy
    python scripts/bench.py encode MODEL_DIR CORPUS_DIR       # tokforge vs HF vs tiktoken
    python scripts/bench.py converted MODEL_DIR CORPUS_DIR    # a tiktoken conversion by transformers, imported
    python scripts/bench.py scaling CORPUS_DIR                # time vs corpus size and vocab size
    python scripts/bench.py unigram CORPUS_DIR --vocab 8000 32000   # Unigram vs sentencepiece Unigram
    python scripts/bench.py superbpe CORPUS_DIR --vocab 32000 64000   # SuperBPE vs BPE, held-out text
    python scripts/bench.py count CORPUS_DIR --workers 1 2 --dask     # counting throughput vs workers
    python scripts/bench.py stochastok MODEL_DIR CORPUS_DIR --p 0.1  # StochasTok expansion tokens/s
    python scripts/bench.py shards MODEL_DIR CORPUS_DIR --workers 1 2 --dask  # `tokforge shards` vs encode_batch
    python scripts/bench.py mixture MODEL_DIR CORPUS_DIR --merges 30000   # data mixture inference time
    python scripts/bench.py morph CORPUS_DIR --vocab 8000 --threads 2   # morph hybrid vs BPE: encode MB/s

Each job runs in its own process; wall time and peak RSS (from the kernel's accounting of that
process) are measured the same way for every system. The first tokforge run also reports the
numba compile time on a cold cache (a fresh NUMBA_CACHE_DIR).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HF_TRAIN = r'''
import glob, os, sys
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers, Regex
from tokforge.text.pretokenizers import PRESETS
corpus, vocab, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = sorted(glob.glob(os.path.join(corpus, "**", "*.txt"), recursive=True))
tok = Tokenizer(models.BPE())
tok.pre_tokenizer = pre_tokenizers.Sequence([
    pre_tokenizers.Split(Regex(PRESETS["cl100k"]), behavior="isolated"),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
tok.decoder = decoders.ByteLevel()
tok.train(files, trainers.BpeTrainer(vocab_size=vocab, min_frequency=2, show_progress=False,
          initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), special_tokens=["<|endoftext|>"]))
tok.save(out)
'''

TOKFORGE_TRAIN = r'''
import sys, tokforge
corpus, vocab, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tokforge.train(corpus, vocab_size=vocab, held_out=0.0).save(out)
'''

SPM_TRAIN = r'''
import glob, os, sys, sentencepiece as spm
corpus, vocab, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
files = sorted(glob.glob(os.path.join(corpus, "**", "*.txt"), recursive=True))
spm.SentencePieceTrainer.train(input=",".join(files), model_prefix=out, vocab_size=vocab, model_type="bpe",
    byte_fallback=True, character_coverage=1.0, num_threads=os.cpu_count(), minloglevel=2,
    max_sentence_length=1 << 16)
'''


# The fastest BPE trainers a user can pip install, run as ../shared/bench/anchor_rustbpe.py and
# anchor_bpeasy.py do: the corpus's lines through their own GPT-4 split (the cl100k preset), the
# vocabulary built (rustbpe counts with both cores; neither writes a file).
PEER_LINES = r'''
import glob, os, sys
from tokforge.text.pretokenizers import PRESETS
corpus, vocab = sys.argv[1], int(sys.argv[2])
files = sorted(glob.glob(os.path.join(corpus, "**", "*.txt"), recursive=True))
def lines():
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            yield from fh
'''
RUSTBPE_TRAIN = PEER_LINES + r'''
import rustbpe
tok = rustbpe.Tokenizer()
tok.train_from_iterator(lines(), vocab, pattern=PRESETS["cl100k"])
assert tok.vocab_size == vocab, tok.vocab_size
'''
BPEASY_TRAIN = PEER_LINES + r'''
import bpeasy
assert len(bpeasy.train_bpe(lines(), PRESETS["cl100k"], 128, vocab)) == vocab
'''
PEERS = {"rustbpe": RUSTBPE_TRAIN, "bpeasy": BPEASY_TRAIN}  # run when their package is installed

TOKFORGE_TRAIN_ALGO = r'''
import sys, tokforge
corpus, vocab, out, algo, transition, max_words = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6])
options = {"transition": transition, "max_words": max_words} if algo == "superbpe" else {}  # other algorithms refuse them
tokforge.train(corpus, vocab_size=vocab, held_out=0.0, algo=algo, **options).save(out)
'''


def run(code: str, args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Run ``python -c code args``; return (wall seconds, peak RSS in MB) of that process."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark job failed: {args}")
    return wall, usage.ru_maxrss / 1024


TOKFORGE_UNIGRAM = r'''
import json, sys, tokforge
corpus, vocab, out, options = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
tokforge.train(corpus, algo="unigram", vocab_size=vocab, held_out=0.0, **options).save(out)
'''

# The compared pairs: name -> (tokforge's options, the sentencepiece configuration). "anchor":
# normalized as sentencepiece's default does (NFKC, whitespace runs collapsed and stripped: lossy);
# "lossless": tokforge's defaults (nothing normalized, byte-level); "whitespace": lossless too, split
# only at whitespace, each word keeping its leading space (sentencepiece's metaspace segmentation);
# "metaspace" / "metaspace-anchor": sentencepiece's own layout ("▁", byte fallback), lossless or
# normalized as the anchor.
UNIGRAM_PAIRS = {
    "anchor": ({"normalizer": ["nfkc", "collapse_whitespace"]}, "anchor"),
    "lossless": ({}, "lossless"),
    "whitespace": ({"pattern": "whitespace"}, "lossless"),
    "metaspace": ({"pattern": "metaspace"}, "lossless"),
    "metaspace-anchor": ({"pattern": "metaspace", "normalizer": ["nfkc", "collapse_whitespace"]}, "anchor"),
}

# "anchor": the settings of ../shared/bench/anchor_spm.py (sentencepiece's default normalization,
# which collapses whitespace and drops newlines: lossy). "lossless": no normalization, whitespace
# kept, whitespace-only pieces allowed, every character covered: decode(encode(x)) == x like tokforge.
SPM_UNIGRAM = r'''
import glob, os, sys, sentencepiece as spm
corpus, vocab, out, config = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
files = sorted(glob.glob(os.path.join(corpus, "**", "*.txt"), recursive=True))
options = dict(character_coverage=0.9995)
if config == "lossless":
    options = dict(character_coverage=1.0, normalization_rule_name="identity", remove_extra_whitespaces=False,
                   allow_whitespace_only_pieces=True)
spm.SentencePieceTrainer.train(input=",".join(files), model_prefix=out, vocab_size=vocab, model_type="unigram",
    byte_fallback=True, num_threads=os.cpu_count(), minloglevel=2, max_sentence_length=1 << 16, **options)
'''


def same_merges(a: Path, b: Path) -> bool:
    import json
    ma = json.loads(a.read_text(encoding="utf-8"))["model"]["merges"]
    mb = json.loads(b.read_text(encoding="utf-8"))["model"]["merges"]
    return [list(m) for m in ma] == [list(m) if isinstance(m, list) else m.split(" ") for m in mb]


def paired_ratio(runs: list[tuple[float, float]], base: list[tuple[float, float]]) -> float:
    """The median over the rounds of ``runs[r]``'s time over ``base[r]``'s ((wall, rss) of the same
    round): runs side by side drift with the machine's load together, runs minutes apart do not."""
    return statistics.median(t / b for (t, _), (b, _) in zip(runs, base))


def bench_train(corpus: str, vocabs: list[int], repeat: int, with_spm: bool) -> None:
    size = sum(p.stat().st_size for p in Path(corpus).rglob("*.txt"))
    print(f"corpus {corpus}: {size / 1e6:.1f} MB of .txt, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        cold_env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / "numba-cold")}
        cold, _ = run(TOKFORGE_TRAIN, [corpus, "300", str(Path(tmp) / "cold.json")], cold_env)
        warm, _ = run(TOKFORGE_TRAIN, [corpus, "300", str(Path(tmp) / "warm.json")], cold_env)
        print(f"numba compile on a cold cache: ~{cold - warm:.1f} s (vocab 300 run: cold {cold:.1f} s, warm {warm:.1f} s)")
        missing = [name for name in PEERS if not importlib.util.find_spec(name)]
        if missing:
            print(f"not installed, not run: {', '.join(missing)} (pip install {' '.join(missing)})")
        print(f"{'vocab':>7} {'system':<14} {'wall s':>8} {'peak MB':>8} {'time ratio':>11} {'RSS ratio':>10} "
              f"{'tokforge speed-up':>18} {'paired':>7}")
        for vocab in vocabs:
            results: dict[str, list[tuple[float, float]]] = {}
            for r in range(repeat):
                jobs = [("tokforge", TOKFORGE_TRAIN), ("hf-tokenizers", HF_TRAIN)]
                jobs += [(name, code) for name, code in PEERS.items() if importlib.util.find_spec(name)]
                if with_spm:
                    jobs.append(("sentencepiece", SPM_TRAIN))
                if r % 2:
                    jobs.reverse()
                for name, code in jobs:
                    out = str(Path(tmp) / f"{name}-{vocab}.json")
                    results.setdefault(name, []).append(run(code, [corpus, str(vocab), out]))
            tf_t, tf_m = min(t for t, _ in results["tokforge"]), min(m for _, m in results["tokforge"])
            for name, rs in results.items():
                t, m = min(x for x, _ in rs), min(y for _, y in rs)
                paired = paired_ratio(rs, results["tokforge"])
                print(f"{vocab:>7} {name:<14} {t:>8.1f} {m:>8.0f} {tf_t / t:>10.2f}x {tf_m / m:>9.2f}x "
                      f"{t / tf_t:>17.2f}x {paired:>6.2f}x")
            identical = same_merges(Path(tmp) / f"tokforge-{vocab}.json" / "tokenizer.json",
                                    Path(tmp) / f"hf-tokenizers-{vocab}.json")
            print(f"{vocab:>7} tokforge merges identical to HF tokenizers: {identical}")
        print("ratios are tokforge / system (below 1 = tokforge faster or smaller); speed-up: system's time / "
              "tokforge's; each system's best of --repeat runs (alternating order); paired: the median over the "
              "rounds of the system's time over tokforge's in the same round")


def paragraphs(corpus: str) -> list[str]:
    """The corpus's .txt files cut into paragraphs (as the shared anchor scripts do)."""
    docs: list[str] = []
    for f in sorted(Path(corpus).rglob("*.txt")):
        docs.extend(f.read_text(encoding="utf-8").split("\n\n"))
    return docs


def tiktoken_encoding(tokenizer_json: Path):
    """tiktoken over the same vocabulary: a token's rank is its id (ids grow in merge order)."""
    import json

    import tiktoken

    from tokforge.text.bytelevel import visible_to_bytes
    from tokforge.text.pretokenizers import PRESETS

    doc = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    specials = {t["content"] for t in doc["added_tokens"]}
    ranks = {visible_to_bytes(t): i for t, i in doc["model"]["vocab"].items() if t not in specials}
    return tiktoken.Encoding("bench", pat_str=PRESETS["cl100k"], mergeable_ranks=ranks, special_tokens={})


def bench_encode(model_dir: str, corpus: str, repeat: int) -> None:
    import tokforge
    from tokenizers import Tokenizer as HFTokenizer

    docs = paragraphs(corpus)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    tok = tokforge.Tokenizer.load(model_dir)
    hf = HFTokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tt = tiktoken_encoding(Path(model_dir) / "tokenizer.json")
    threads = os.cpu_count()
    systems = {
        "tokforge": lambda: tok.encode_batch(docs, num_threads=threads),
        "hf-tokenizers": lambda: [e.ids for e in hf.encode_batch(docs, add_special_tokens=False)],
        "tiktoken": lambda: tt.encode_ordinary_batch(docs, num_threads=threads),
    }
    print(f"encode {nbytes / 1e6:.1f} MB in {len(docs):,} paragraphs, vocab {tok.vocab_size}, {threads} threads each")
    best: dict[str, float] = {}
    outputs = {}
    for r in range(repeat):
        order = list(systems) if r % 2 == 0 else list(reversed(systems))
        for name in order:
            started = time.perf_counter()
            outputs[name] = systems[name]()
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - started)
    for name, t in best.items():
        print(f"{name:<14} {nbytes / 1e6 / t:8.2f} MB/s   tokforge speed ratio {t / best['tokforge']:.2f}x")
    print(f"ids identical to HF tokenizers: {outputs['tokforge'] == outputs['hf-tokenizers']}; "
          f"to tiktoken: {outputs['tokforge'] == outputs['tiktoken']}; "
          f"tokens: {sum(map(len, outputs['tokforge'])):,}")


# split regexes of the converted files: transformers' TikTokenConverter default (Llama 3's, tiktoken's
# cl100k before its rewrite) and tiktoken's cl100k_base today (possessive, \s++$)
CONVERTED_PATTERNS = {
    "converter-default": r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
                         r"""|\s*[\r\n]+|\s+(?!\S)|\s+""",
    "tiktoken-cl100k": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
                       r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",
}


def bench_converted(model_dir: str, corpus: str, repeat: int, patterns: list[str], with_hf: bool = True) -> None:
    """A cl100k-style tokenizer.json made by transformers' tiktoken converter from MODEL_DIR's vocabulary,
    imported by tokforge (ignore_merges, the converter's split regex), against tiktoken over the same
    ranks and pattern and HF tokenizers on the file."""
    import base64
    import json

    import tiktoken
    from tokenizers import Tokenizer as HFTokenizer
    from transformers.convert_slow_tokenizer import TikTokenConverter

    import tokforge

    docs = paragraphs(corpus)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    ranks = tiktoken_encoding(Path(model_dir) / "tokenizer.json")._mergeable_ranks
    ranks = {t: k for k, t in enumerate(sorted(ranks, key=ranks.__getitem__))}  # 0..n-1 (the special token left out)
    threads = os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        ranks_file = Path(tmp) / "ranks.tiktoken"
        ranks_file.write_text("".join(f"{base64.b64encode(t).decode()} {i}\n" for t, i in ranks.items()))
        for name in patterns:
            pattern = CONVERTED_PATTERNS[name]
            converted = TikTokenConverter(vocab_file=str(ranks_file), pattern=pattern).converted()
            tok = tokforge.Tokenizer.from_hf(json.loads(converted.to_str()))
            hf = HFTokenizer.from_str(converted.to_str())
            tt = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens={})
            systems = {
                "tokforge": lambda: tok.encode_batch(docs, num_threads=threads),
                "tiktoken": lambda: tt.encode_ordinary_batch(docs, num_threads=threads),
                "hf-tokenizers": lambda: [e.ids for e in hf.encode_batch(docs, add_special_tokens=False)],
            }
            if not with_hf:
                del systems["hf-tokenizers"]
            print(f"{name}: transformers' TikTokenConverter file (ignore_merges={tok.model.ignore_merges}, "
                  f"numba scanner: {tok.pretokenizer.has_scanner}), {nbytes / 1e6:.1f} MB in {len(docs):,} "
                  f"paragraphs, vocab {tok.vocab_size}, {threads} threads each")
            best: dict[str, float] = {}
            outputs = {}
            for r in range(repeat):
                for system in (list(systems) if r % 2 == 0 else list(reversed(systems))):
                    started = time.perf_counter()
                    outputs[system] = systems[system]()
                    best[system] = min(best.get(system, float("inf")), time.perf_counter() - started)
            for system, t in best.items():
                print(f"  {system:<14} {nbytes / 1e6 / t:8.2f} MB/s   tokforge speed ratio {t / best['tokforge']:.2f}x")
            same_tt = outputs["tokforge"] == outputs["tiktoken"]
            same_hf = outputs["tokforge"] == outputs["hf-tokenizers"] if with_hf else "not run"
            print(f"  ids identical to tiktoken: {same_tt}; to HF tokenizers (the file): {same_hf}; "
                  f"tokens: {sum(map(len, outputs['tokforge'])):,}")
            if not same_tt:
                differ = sum(a != b for a, b in zip(outputs["tokforge"], outputs["tiktoken"]))
                print(f"  paragraphs encoded differently from tiktoken: {differ:,} (HF's Oniguruma reads "
                      "\\p{N}{1,3}+ as (?:\\p{N}{1,3})+, a whole run of digits)")


def _reference_style_expand(ids: list[int], expansions: dict[int, list[tuple[int, int]]], p: float, rnd) -> list[int]:
    """StochasTok as the reference implementation does it (anyasims/stochastok): list splicing."""
    for _ in range(int(len(ids) * p)):
        i = rnd.randrange(len(ids))
        if ids[i] in expansions:
            ids = ids[:i] + list(rnd.choice(expansions[ids[i]])) + ids[i + 1:]
    return ids


def bench_stochastok(model_dir: str, corpus: str, p: float, repeat: int) -> None:
    """Encode the corpus deterministically once, then time the StochasTok expansion alone (one
    kernel call over every paragraph, each with its own seed); also BPE-dropout end to end."""
    import random

    import numpy as np

    import tokforge
    from tokforge.kernels import rng
    from tokforge.sampling.stochastic import Sampling, SplitTable, StochasticEncoder, example_seeds

    docs = paragraphs(corpus)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    tok = tokforge.Tokenizer.load(model_dir)
    encoded = tok.encode_batch(docs)
    ids = np.fromiter((i for e in encoded for i in e), np.int64)
    bounds = np.cumsum([0] + [len(e) for e in encoded])
    started = time.perf_counter()
    table = SplitTable.of(tok.model)
    build = time.perf_counter() - started
    seeds = example_seeds(0, 0, range(len(docs)), rng.STOCHASTOK)
    table.expand(ids[:1000], np.array([0, min(1000, len(ids))]), p, seeds[:1])   # compiled before timing
    best = float("inf")
    for r in range(repeat):
        started = time.perf_counter()
        out, _ = table.expand(ids, bounds, p, seeds)
        best = min(best, time.perf_counter() - started)
    print(f"{len(ids):,} tokens ({nbytes / 1e6:.1f} MB, {len(docs):,} paragraphs), vocab {tok.vocab_size}, p = {p}")
    print(f"split table: {len(table.left):,} splits of {int((np.diff(table.offsets) > 0).sum()):,} tokens, "
          f"built in {build:.2f} s")
    print(f"stochastok expansion   {len(ids) / best / 1e6:8.2f} M tokens/s   {nbytes / 1e6 / best:8.1f} MB/s   "
          f"+{(len(out) - len(ids)) / len(ids):.2%} tokens")
    expansions = {t: table.splits(t) for t in range(tok.vocab_size) if table.splits(t)}
    sample = encoded[:max(1, len(encoded) // 100)]
    n_sample = sum(map(len, sample))
    rnd = random.Random(0)
    started = time.perf_counter()
    for e in sample:
        _reference_style_expand(list(e), expansions, p, rnd)
    t = time.perf_counter() - started
    print(f"reference-style Python {n_sample / t / 1e6:8.2f} M tokens/s   (list splicing, on 1% of the paragraphs)")
    started = time.perf_counter()
    tok.encode_batch(docs)
    plain = time.perf_counter() - started
    dropout = StochasticEncoder(tok, Sampling(dropout=p), seed=0)
    started = time.perf_counter()
    dropout.encode_packed(docs, example_ids=range(len(docs)))
    t = time.perf_counter() - started
    print(f"bpe-dropout encode     {nbytes / 1e6 / t:8.2f} MB/s   (deterministic encode_batch: {nbytes / 1e6 / plain:.2f} MB/s)")


def prefix_corpus(corpus: str, nbytes: int, out: Path) -> Path:
    """A corpus of the first ``nbytes`` of each .txt file, proportionally (whole lines)."""
    files = sorted(Path(corpus).rglob("*.txt"))
    total = sum(f.stat().st_size for f in files)
    out.mkdir(parents=True, exist_ok=True)
    for k, f in enumerate(files):
        share = f.stat().st_size * nbytes // total
        with f.open("rb") as src, (out / f"{k:03d}.txt").open("wb") as dst:
            dst.writelines(_lines_up_to(src, share))
    return out


def _lines_up_to(src, share: int):
    taken = 0
    for line in src:
        if taken + len(line) > share:
            return
        taken += len(line)
        yield line


def bench_scaling(corpus: str, sizes_mb: list[int], vocabs: list[int]) -> None:
    """How training time grows with corpus size (at 32k) and with vocab size (whole corpus)."""
    print(f"{'corpus MB':>9} {'vocab':>7} {'tokforge s':>10} {'HF s':>8} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [(mb, 32000) for mb in sizes_mb] + [(None, v) for v in vocabs]
        for mb, vocab in cases:
            folder = corpus if mb is None else str(prefix_corpus(corpus, mb * 1_000_000, Path(tmp) / f"c{mb}"))
            size = sum(p.stat().st_size for p in Path(folder).rglob("*.txt")) / 1e6
            tf, _ = run(TOKFORGE_TRAIN, [folder, str(vocab), str(Path(tmp) / "tf")])
            hf, _ = run(HF_TRAIN, [folder, str(vocab), str(Path(tmp) / "hf.json")])
            print(f"{size:>9.1f} {vocab:>7} {tf:>10.1f} {hf:>8.1f} {tf / hf:>6.2f}x")


def split_held_out(corpus: str, out: Path, every: int = 50) -> tuple[Path, dict[str, list[str]]]:
    """Copy the corpus to ``out/train`` without every ``every``-th line of each file; return that
    folder and the held-out lines by domain (the corpus's top-level folder, or the file name)."""
    held: dict[str, list[str]] = {}
    for f in sorted(Path(corpus).rglob("*.txt")):
        rel = f.relative_to(corpus)
        domain = rel.parts[0] if len(rel.parts) > 1 else rel.stem
        keep, drop = [], held.setdefault(domain, [])
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines(keepends=True)):
            (drop if i % every == every // 2 else keep).append(line)
        target = out / "train" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(keep), encoding="utf-8")
    return out / "train", held


def bench_superbpe(corpus: str, vocabs: list[int], transitions: list[float], max_words: list[int],
                   repeat: int = 1) -> None:
    """SuperBPE vs BPE at the same vocab: training time, peak RSS (each the best of ``repeat`` runs,
    the systems in alternating order), and tokens on held-out lines per domain, for each transition
    and cap on words per token (``max_words``). ``paired``: the median over the rounds of each round's
    time over BPE's time in the same round -- runs minutes apart drift with the machine's load, runs
    side by side drift together."""
    import tokforge

    with tempfile.TemporaryDirectory() as tmp:
        train_dir, held = split_held_out(corpus, Path(tmp))
        size = sum(p.stat().st_size for p in train_dir.rglob("*.txt")) / 1e6
        print(f"train on {size:.1f} MB; held out every 50th line: "
              + ", ".join(f"{d} {sum(len(x.encode()) for x in v) / 1e6:.2f} MB" for d, v in held.items()))
        run(TOKFORGE_TRAIN_ALGO, [str(train_dir), "300", str(Path(tmp) / "warm"), "superbpe", "0.9", "4"])  # compile
        print(f"{'vocab':>7} {'tokenizer':<22} {'train s':>8} {'peak MB':>8} {'time/BPE':>9} {'paired':>7} {'RSS/BPE':>8}   "
              + "  ".join(f"{d + ' B/tok':>12} {'tok/word':>8} {'vs BPE':>7}" for d in held))
        for vocab in vocabs:
            systems = [("bpe", 1.0, 0)] + [("superbpe", t, w) for t in transitions for w in max_words]
            base: dict[str, int] = {}
            base_time = base_rss = 0.0
            runs: dict[tuple, list[tuple[float, float]]] = {}
            for r in range(repeat):
                for algo, t, w in (systems[::-1] if r % 2 else systems):
                    out = Path(tmp) / f"{algo}-{vocab}-{t}-{w}"
                    runs.setdefault((algo, t, w), []).append(
                        run(TOKFORGE_TRAIN_ALGO, [str(train_dir), str(vocab), str(out), algo, str(t), str(w)]))
            for algo, t, w in systems:
                out = Path(tmp) / f"{algo}-{vocab}-{t}-{w}"
                wall, rss = min(x for x, _ in runs[algo, t, w]), min(y for _, y in runs[algo, t, w])
                paired = paired_ratio(runs[algo, t, w], runs[systems[0]])
                tok = tokforge.Tokenizer.load(out)
                name = "bpe" if algo == "bpe" else f"superbpe t={t:g} words<={w}"
                base_time, base_rss = base_time or wall, base_rss or rss
                cells = []
                for domain, lines in held.items():
                    n_tokens = sum(map(len, tok.encode_batch(lines)))
                    n_bytes = sum(len(x.encode()) for x in lines)
                    n_words = sum(len(x.split()) for x in lines)
                    base.setdefault(domain, n_tokens)
                    cells.append(f"{n_bytes / n_tokens:>12.3f} {n_tokens / n_words:>8.3f} "
                                 f"{100 * (n_tokens / base[domain] - 1):>+6.1f}%")
                print(f"{vocab:>7} {name:<22} {wall:>8.1f} {rss:>8.0f} {wall / base_time:>8.2f}x {paired:>6.2f}x {rss / base_rss:>7.2f}x   "
                      + "  ".join(cells), flush=True)
        print("vs BPE: change in the number of held-out tokens (negative = fewer tokens than BPE); "
              f"times and peaks: each the best of {repeat} run{'s' * (repeat > 1)}; paired: the median of "
              "each round's time over BPE's time in that round")


TOKFORGE_COUNT = r'''
import sys
from tokforge.cli import main
main(sys.argv[1:], standalone_mode=True)
'''


def bench_count(corpus: str, workers: list[int], with_dask: bool, vocab: int, budget: str) -> None:
    """`tokforge count` with each number of workers (and on a local Dask cluster): wall time,
    MB/s, peak RSS of the largest process; then checks that every run gave the same counts
    and the same merges as the first (one process)."""
    import json

    import numpy as np

    from tokforge.models.bpe_trainer import train_bpe
    from tokforge.counting.saved import load_counts

    runs = [("local", w) for w in workers] + ([("dask", max(workers))] if with_dask else [])
    print(f"{'engine':<7} {'workers':>7} {'wall s':>8} {'count s':>8} {'MB/s':>7} {'peak MB':>8}  identical")
    with tempfile.TemporaryDirectory() as tmp:
        first = None
        for engine, w in runs:
            out = Path(tmp) / f"{engine}-{w}"
            wall, rss = run(TOKFORGE_COUNT, ["count", corpus, "-o", str(out), "-q", "--workers", str(w),
                                             "--memory-budget", budget, "--engine", engine])
            manifest = json.loads((out / "manifest.json").read_text())
            result = load_counts(out)
            mb = manifest["corpus"]["bytes"] / 1e6
            merges = train_bpe(result.counts, vocab, special_tokens=["<|endoftext|>"]).merges
            if first is None:
                first = (result, merges)
            same_counts = all(np.array_equal(getattr(result.counts, k), getattr(first[0].counts, k))
                              for k in ("arena", "offsets", "counts"))
            same = same_counts and merges == first[1] and result.held_out.documents == first[0].held_out.documents
            print(f"{engine:<7} {w:>7} {wall:>8.1f} {manifest['counting']['seconds']:>8.1f} "
                  f"{mb / manifest['counting']['seconds']:>7.1f} {rss:>8.0f}  "
                  f"{'yes' if same else 'NO'} (counts, held-out, {vocab} merges)")
            pruning = manifest["counting"]["pruning"]
            if pruning["pruned"]:
                print(f"        pruned {pruning['words_dropped']:,} words to stay within {budget}")


ENCODE_BATCH = r'''
import json, sys, time
import tokforge
from tokforge.corpus import Corpus
tok = tokforge.Tokenizer.load(sys.argv[1])
tok.encode_batch(["warm up the kernels"])
seconds = tokens = nbytes = 0
for block in Corpus(sys.argv[2]).iter_blocks(1 << 20):   # the batches of `tokforge shards`
    texts = block.documents()
    started = time.perf_counter()
    tokens += sum(map(len, tok.encode_batch(texts)))
    seconds += time.perf_counter() - started
    nbytes += len(block.data)
print(json.dumps({"seconds": seconds, "tokens": tokens, "bytes": nbytes}))
'''


def bench_shards(model: str, corpus: str, workers: list[int], with_dask: bool, stochastok: float) -> None:
    """`tokforge shards` with each number of processes (and on a LocalCluster), side by side with
    ``encode_batch`` alone on the same batches (all threads, no files): wall time, the run's own
    seconds and throughput, peak RSS of the main process; then checks that every run wrote the same
    bytes as the first."""
    import hashlib
    import json
    import re

    out = subprocess.run([sys.executable, "-c", ENCODE_BATCH, model, corpus], capture_output=True, text=True,
                         check=True)
    alone = json.loads(out.stdout)
    print(f"load: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cores; corpus {alone['bytes'] / 1e6:.1f} MB "
          f"of text, {alone['tokens']:,} tokens; --stochastok {stochastok}")
    print(f"{'run':<22} {'wall s':>8} {'run s':>8} {'MB/s':>7} {'Mtok/s':>7} {'peak MB':>8}  identical")
    print(f"{'encode_batch alone':<22} {'':>8} {alone['seconds']:>8.1f} {alone['bytes'] / 1e6 / alone['seconds']:>7.2f} "
          f"{alone['tokens'] / 1e6 / alone['seconds']:>7.2f} {'':>8}  (no files)")
    runs = [("local", w) for w in workers] + ([("dask", max(workers))] if with_dask else [])
    with tempfile.TemporaryDirectory() as tmp:
        first = None
        for engine, w in runs:
            target = Path(tmp) / f"{engine}-{w}"
            log = Path(tmp) / "stdout"
            started = time.perf_counter()
            with open(log, "w") as f:
                proc = subprocess.Popen([sys.executable, "-c", TOKFORGE_COUNT, "shards", corpus, "--model", model,
                                         "-o", str(target), "-q", "--workers", str(w), "--engine", engine,
                                         "--stochastok", str(stochastok)], stdout=f)
                _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - started
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"benchmark job failed: shards {engine} {w}")
            report = re.search(r"encoded ([\d,.]+) MB in ([\d,.]+) s: ([\d,.]+) MB/s, ([\d,]+) tokens/s", log.read_text())
            seconds, mbs, toks = float(report[2].replace(",", "")), report[3], int(report[4].replace(",", ""))
            files = {str(p.relative_to(target)): hashlib.sha256(p.read_bytes()).hexdigest()
                     for p in sorted(target.rglob("*")) if p.is_file()}
            first = first or files
            name = f"shards {engine} x{w}" if engine == "local" else f"shards LocalCluster x{w}"
            print(f"{name:<22} {wall:>8.1f} {seconds:>8.1f} {mbs:>7} {toks / 1e6:>7.2f} {usage.ru_maxrss / 1024:>8.0f}  "
                  f"{'yes' if files == first else 'NO'}", flush=True)
            shutil.rmtree(target)
    print("run s: the run's own report (reading, encoding, writing; not the start of Python); wall: the process")


def bench_unigram(corpus: str, vocabs: list[int], configs: list[str]) -> None:
    """Unigram: tokforge vs sentencepiece trained on the same lines, measured on the same held-out
    lines: time, peak RSS, bytes/token, exact round trips, average log-likelihood per byte."""
    import json

    import numpy as np
    import sentencepiece as spm

    import tokforge

    with tempfile.TemporaryDirectory() as tmp:
        train_dir, by_domain = split_held_out(corpus, Path(tmp))
        held = [line for lines in by_domain.values() for line in lines]
        nbytes = sum(len(d.encode("utf-8")) for d in held)
        size = sum(p.stat().st_size for p in train_dir.rglob("*.txt"))
        print(f"train on {size / 1e6:.1f} MB, held out {len(held):,} lines ({nbytes / 1e6:.2f} MB), "
              f"{os.cpu_count()} cores")
        print(f"{'vocab':>7} {'system':<22} {'wall s':>8} {'peak MB':>8} {'bytes/tok':>10} {'round trip':>11} "
              f"{'loglik/byte':>12}")
        for vocab in vocabs:
            rows, spm_rows, pairs = [], {}, []
            for config in configs:
                options, spm_config = UNIGRAM_PAIRS[config]
                out = Path(tmp) / f"tokforge-{config}-{vocab}"
                wall, rss = run(TOKFORGE_UNIGRAM, [str(train_dir), str(vocab), str(out), json.dumps(options)])
                tok = tokforge.Tokenizer.load(out)
                encoded = tok.encode_batch(held)
                scores = np.asarray(tok.model.scores)
                loglik = sum(float(scores[ids].sum()) for ids in encoded)
                exact = sum(tok.decode(ids) == d for ids, d in zip(encoded, held))
                ours = (f"tokforge {config}", wall, rss, sum(map(len, encoded)), exact, loglik)
                rows.append(ours)
                if spm_config not in spm_rows:
                    prefix = Path(tmp) / f"spm-{spm_config}-{vocab}"
                    wall, rss = run(SPM_UNIGRAM, [str(train_dir), str(vocab), str(prefix), spm_config])
                    sp = spm.SentencePieceProcessor(model_file=f"{prefix}.model")
                    encoded = sp.encode(held)
                    loglik = sum(sp.get_score(i) for ids in encoded for i in ids)
                    exact = sum(sp.decode(ids) == d for ids, d in zip(encoded, held))
                    spm_rows[spm_config] = (f"sentencepiece {spm_config}", wall, rss, sum(map(len, encoded)), exact,
                                            loglik)
                    rows.append(spm_rows[spm_config])
                pairs.append((config, ours, spm_rows[spm_config]))
            for name, wall, rss, n_tokens, exact, loglik in rows:
                print(f"{vocab:>7} {name:<22} {wall:>8.1f} {rss:>8.0f} {nbytes / n_tokens:>10.4f} "
                      f"{exact / len(held):>10.1%} {loglik / nbytes:>12.4f}")
            for config, ours, theirs in pairs:
                print(f"{vocab:>7} {config} vs {theirs[0]}: tokforge {theirs[1] / ours[1]:.2f}x faster, peak RSS "
                      f"{ours[2] / theirs[2]:.2f}x, held-out tokens {ours[3] / theirs[3] - 1:+.2%} "
                      f"(bytes/token {theirs[3] / ours[3] - 1:+.2%})", flush=True)
        print("bytes/token: held-out UTF-8 bytes / tokens (higher = better compression); round trip: share of "
              "held-out lines with decode(encode(line)) == line; loglik/byte: sum of the pieces' scores "
              "(natural log) / bytes (sentencepiece scores its byte-fallback pieces 0, which flatters it)")


TOKFORGE_MIXTURE = r'''
import json, sys
from tokforge.mixture import infer
model, merges, categories = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
print(infer(model, categories, merges=merges).render())
'''


def bench_mixture(model: str, corpus: str, merges: int) -> None:
    """`tokforge mixture` on a model with the corpus's top-level folders and files as categories
    (a folder of several files, such as multi/, gives one category per file): wall time and peak RSS."""
    import json

    root = Path(corpus)
    categories = {}
    for entry in sorted(root.iterdir()):
        files = sorted(entry.glob("*.txt")) if entry.is_dir() else [entry]
        if entry.is_dir() and len(files) > 1 and entry.name == "multi":
            categories.update({f.stem: str(f) for f in files})
        else:
            categories[entry.name] = str(entry)
    print(f"{len(categories)} categories: {', '.join(categories)}; {merges:,} merges; {os.cpu_count()} cores")
    wall, rss = run(TOKFORGE_MIXTURE, [model, str(merges), json.dumps(categories)])
    print(f"wall {wall:.1f} s, peak RSS {rss:.0f} MB (counting, replaying the merges and solving the LP)")


def bench_morph(corpus: str, vocab: int, threads: int, repeat: int) -> None:
    """The morph hybrid (BPE fallback) and plain BPE of the same size, both trained on ``corpus``, encoding
    its paragraphs with ``threads`` threads: MB/s (best of ``repeat``), tokens and the speed ratio. The
    text is new to both each time (no state is kept between calls); the kernels are compiled first."""
    import tokforge

    docs = paragraphs(corpus)
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    with tempfile.TemporaryDirectory() as tmp:
        systems = {}
        for name, options in (("morph", {"algo": "morph"}), ("bpe", {})):
            started = time.perf_counter()
            tokforge.train(corpus, vocab_size=vocab, held_out=0.0, **options).save(Path(tmp) / name)
            print(f"trained {name} {vocab} in {time.perf_counter() - started:.1f} s", flush=True)
            systems[name] = tokforge.Tokenizer.load(Path(tmp) / name)  # loaded anew: nothing seen yet
    for tok in systems.values():
        tok.encode_batch(docs[:200], num_threads=threads)  # the numba kernels are loaded (or compiled) once
    print(f"encode {nbytes / 1e6:.1f} MB in {len(docs):,} paragraphs, vocab {vocab}, {threads} threads each")
    best: dict[str, float] = {}
    tokens: dict[str, int] = {}
    for r in range(repeat):
        for name in (systems if r % 2 == 0 else reversed(list(systems))):
            started = time.perf_counter()
            ids = systems[name].encode_batch(docs, num_threads=threads)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - started)
            tokens[name] = sum(map(len, ids))
    for name, t in best.items():
        print(f"{name:<6} {nbytes / 1e6 / t:8.2f} MB/s   {tokens[name]:,} tokens ({nbytes / tokens[name]:.2f} bytes/token)")
    print(f"morph / bpe encode speed: {best['bpe'] / best['morph']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="training time and peak RSS vs HF tokenizers, rustbpe and bpeasy (when "
                                     "installed) and sentencepiece (--spm)")
    t.add_argument("corpus")
    t.add_argument("--vocab", type=int, nargs="+", default=[8000, 32000])
    t.add_argument("--repeat", type=int, default=1)
    t.add_argument("--spm", action="store_true", help="also sentencepiece BPE (pip install sentencepiece)")
    e = sub.add_parser("encode", help="encoding throughput vs HF tokenizers and tiktoken on the same vocab")
    e.add_argument("model", help="a folder written by `tokforge train -o`")
    e.add_argument("corpus")
    e.add_argument("--repeat", type=int, default=2)
    g = sub.add_parser("scaling", help="training time vs corpus size and vs vocab size, tokforge and HF")
    g.add_argument("corpus")
    g.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40, 85], help="corpus sizes in MB")
    g.add_argument("--vocab", type=int, nargs="+", default=[8000, 32000, 64000])
    u = sub.add_parser("unigram", help="Unigram vs sentencepiece Unigram: time, RSS, held-out compression")
    u.add_argument("corpus")
    u.add_argument("--vocab", type=int, nargs="+", default=[8000, 32000])
    u.add_argument("--config", nargs="+", choices=list(UNIGRAM_PAIRS), default=["anchor", "lossless", "whitespace"],
                   help="pairs to compare: anchor (sentencepiece as ../shared/bench/anchor_spm.py, lossy NFKC + "
                        "whitespace collapsing; tokforge with the same normalization), lossless (sentencepiece: "
                        "identity normalization, whitespace kept; tokforge's defaults), whitespace (tokforge "
                        "split at whitespace only, vs sentencepiece lossless), metaspace and metaspace-anchor "
                        "(tokforge's sentencepiece-style layout: '▁' and byte fallback)")
    b = sub.add_parser("superbpe", help="SuperBPE vs BPE: training time and held-out tokens per domain")
    b.add_argument("corpus")
    b.add_argument("--vocab", type=int, nargs="+", default=[32000, 64000])
    b.add_argument("--transition", type=float, nargs="+", default=[0.8], help="fractions of the vocab size")
    b.add_argument("--max-words", type=int, nargs="+", default=[4], help="caps on the words in a superword token")
    b.add_argument("--repeat", type=int, default=1, help="runs of each training; the best time and peak count")
    c = sub.add_parser("count", help="counting throughput vs workers, and identity of the counts and merges")
    c.add_argument("corpus")
    c.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    c.add_argument("--dask", action="store_true", help="also on a local Dask cluster (pip install 'tokforge[cluster]')")
    c.add_argument("--vocab", type=int, default=8000, help="vocabulary of the merges compared")
    c.add_argument("--budget", default="2GB", help="--memory-budget of the runs")
    v = sub.add_parser("converted", help="a tiktoken conversion by transformers, imported: vs tiktoken, HF tokenizers")
    v.add_argument("model", help="a folder written by `tokforge train -o` (its vocabulary is converted)")
    v.add_argument("corpus")
    v.add_argument("--repeat", type=int, default=1)
    v.add_argument("--pattern", nargs="+", choices=list(CONVERTED_PATTERNS), default=list(CONVERTED_PATTERNS))
    v.add_argument("--without-hf", action="store_true", help="tokforge and tiktoken only (HF is the slow one)")
    z = sub.add_parser("stochastok", help="StochasTok expansion throughput (tokens/s) after one deterministic encode")
    z.add_argument("model", help="a folder written by `tokforge train -o`")
    z.add_argument("corpus")
    z.add_argument("--p", type=float, default=0.1, help="StochasTok proportion (and BPE-dropout probability)")
    z.add_argument("--repeat", type=int, default=3)
    h = sub.add_parser("shards", help="`tokforge shards` throughput vs workers and a LocalCluster, vs encode_batch")
    h.add_argument("model", help="a folder written by `tokforge train -o`")
    h.add_argument("corpus")
    h.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    h.add_argument("--dask", action="store_true", help="also on a LocalCluster of max(--workers) processes")
    h.add_argument("--stochastok", type=float, default=0.0)
    x = sub.add_parser("mixture", help="data mixture inference (tokforge mixture): wall time and peak RSS")
    x.add_argument("model", help="a BPE model folder or tokenizer.json")
    x.add_argument("corpus", help="folder whose top-level folders and files are the categories")
    x.add_argument("--merges", type=int, default=30000)
    m = sub.add_parser("morph", help="morph hybrid vs BPE of the same size: encode throughput on the same text")
    m.add_argument("corpus")
    m.add_argument("--vocab", type=int, default=8000)
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if args.command == "shards":
        bench_shards(args.model, args.corpus, args.workers, args.dask, args.stochastok)
    elif args.command == "mixture":
        bench_mixture(args.model, args.corpus, args.merges)
    elif args.command == "morph":
        bench_morph(args.corpus, args.vocab, args.threads, args.repeat)
    elif args.command == "count":
        bench_count(args.corpus, args.workers, args.dask, args.vocab, args.budget)
    elif args.command == "superbpe":
        bench_superbpe(args.corpus, args.vocab, args.transition, args.max_words, args.repeat)
    elif args.command == "unigram":
        bench_unigram(args.corpus, args.vocab, args.config)
    elif args.command == "scaling":
        bench_scaling(args.corpus, args.sizes, args.vocab)
    elif args.command == "stochastok":
        bench_stochastok(args.model, args.corpus, args.p, args.repeat)
    elif args.command == "converted":
        bench_converted(args.model, args.corpus, args.repeat, args.pattern, not args.without_hf)
    elif args.command == "train":
        bench_train(args.corpus, args.vocab, args.repeat, args.spm)
    else:
        bench_encode(args.model, args.corpus, args.repeat)


if __name__ == "__main__":
    main()
