"""Controlled experiments of data mixture inference (Hayase et al. 2024, section 4) on corpora/.

For each of ``--mixtures`` mixtures: draw the shares alpha ~ Dirichlet(1, ..., 1) (uniform on
the simplex; seeded) over the categories; split each category's lines in two, even lines for
training and odd lines for inference (disjoint text from the same sources); build a training
text of ``--total-bytes`` by sampling lines of each training half with replacement until the
category has its share of the bytes (corpora/ is small: a category with a large share repeats
its lines, which keeps the word frequencies of its half); train tokforge BPE on it (no held-out
documents, so the true shares are the bytes drawn); infer the shares from the odd lines with the
first ``--merges`` merges. Reports, per mixture and on average, the mean absolute error
|alpha_hat - alpha| over the categories and the squared error (the paper reports log10 MSE),
beside two baselines: a random guess (another Dirichlet draw) and the uniform guess.

    python scripts/mixture_experiments.py --mixtures 10 --merges 1000 --json mixture.json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = ("ar", "code", "de", "en", "es", "ru", "tr", "zh")  # el (12 KB) is too small to halve


def halves(folder: Path) -> tuple[list[str], list[str]]:
    """The lines of a category's files: (even lines, odd lines)."""
    lines = []
    for path in sorted(folder.glob("*.txt")):
        lines += path.read_text(encoding="utf-8").splitlines(keepends=True)
    return lines[0::2], lines[1::2]


def draw_text(lines: list[str], target: float, rng: np.random.Generator) -> tuple[str, int]:
    """Lines drawn with replacement until ``target`` bytes: (text, bytes)."""
    sizes = np.array([len(line.encode("utf-8")) for line in lines])
    picked, total = [], 0
    while total < target:
        for i in rng.integers(0, len(lines), 4096).tolist():
            if total >= target:
                break
            picked.append(lines[i])
            total += int(sizes[i])
    return "".join(picked), total


def baseline_errors(n: int, rng: np.random.Generator, draws: int = 100_000) -> dict[str, float]:
    truth = rng.dirichlet(np.ones(n), draws)
    guess = rng.dirichlet(np.ones(n), draws)
    return {"random_mae": float(np.abs(truth - guess).mean()), "uniform_mae": float(np.abs(truth - 1 / n).mean()),
            "random_log10_mse": float(np.log10(((truth - guess) ** 2).mean(axis=1)).mean()),
            "uniform_log10_mse": float(np.log10(((truth - 1 / n) ** 2).mean(axis=1)).mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT / "corpora")
    parser.add_argument("--categories", nargs="+", default=list(CATEGORIES))
    parser.add_argument("--mixtures", type=int, default=10)
    parser.add_argument("--total-bytes", type=int, default=4_000_000, help="training text per mixture")
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--merges", type=int, default=1000, help="merges the inference uses (T)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write every mixture's result here")
    args = parser.parse_args()

    import tokforge
    from tokforge.mixture import infer

    cats = list(args.categories)
    pools = {c: halves(args.corpora / c) for c in cats}
    rng = np.random.default_rng(args.seed)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tokforge-mixture-") as tmp:
        folder = Path(tmp)
        samples = {}
        for c in cats:
            samples[c] = folder / f"sample-{c}.txt"
            samples[c].write_text("".join(pools[c][1]), encoding="utf-8")
        for k in range(args.mixtures):
            alpha = rng.dirichlet(np.ones(len(cats)))
            parts, sizes = [], []
            for c, share in zip(cats, alpha):
                text, size = draw_text(pools[c][0], share * args.total_bytes, rng)
                parts.append(text)
                sizes.append(size)
            truth = np.array(sizes) / sum(sizes)
            (folder / "train.txt").write_text("".join(parts), encoding="utf-8")
            started = time.perf_counter()
            tok = tokforge.train(str(folder / "train.txt"), vocab_size=args.vocab_size, held_out=0.0, workers=1)
            trained = time.perf_counter()
            result = infer(tok, {c: str(samples[c]) for c in cats}, merges=min(args.merges, len(tok.model.merges)))
            error = np.array(result.alpha) - truth
            row = {"mixture": k, "truth": dict(zip(cats, truth.round(6).tolist())), "estimate": result.proportions,
                   "mae": float(np.abs(error).mean()), "max_error": float(np.abs(error).max()),
                   "mse": float((error ** 2).mean()), "merges": result.merges, "objective": result.objective,
                   "constraints": result.constraints, "rounds": result.rounds,
                   "train_seconds": round(trained - started, 1),
                   "infer_seconds": round(time.perf_counter() - trained, 1)}
            rows.append(row)
            print(f"mixture {k}: MAE {row['mae']:.4f}  max {row['max_error']:.4f}  log10 MSE "
                  f"{np.log10(row['mse']):.2f}  ({row['constraints']:,} constraints, {row['rounds']} rounds, "
                  f"infer {row['infer_seconds']} s)", flush=True)
    mae = np.array([r["mae"] for r in rows])
    log_mse = np.log10([r["mse"] for r in rows])
    summary = {"categories": cats, "mixtures": len(rows), "total_bytes": args.total_bytes,
               "vocab_size": args.vocab_size, "merges": args.merges, "seed": args.seed,
               "mae_mean": float(mae.mean()), "mae_std": float(mae.std()), "mae_max": float(mae.max()),
               "log10_mse_mean": float(log_mse.mean()), "log10_mse_std": float(log_mse.std()),
               **baseline_errors(len(cats), np.random.default_rng(args.seed + 1))}
    print(f"\n{len(cats)} categories, {len(rows)} mixtures, T = {args.merges}: mean absolute error "
          f"{summary['mae_mean']:.4f} ± {summary['mae_std']:.4f} (worst mixture {summary['mae_max']:.4f}); "
          f"log10 MSE {summary['log10_mse_mean']:.2f} ± {summary['log10_mse_std']:.2f}. Baselines: random guess "
          f"MAE {summary['random_mae']:.4f} (log10 MSE {summary['random_log10_mse']:.2f}), uniform guess "
          f"MAE {summary['uniform_mae']:.4f} (log10 MSE {summary['uniform_log10_mse']:.2f})")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "mixtures": rows}, indent=2) + "\n")
    sys.exit(0 if summary["mae_mean"] <= 0.01 else 1)


if __name__ == "__main__":
    main()
