"""PNG plots of an evaluation ``Report`` (matplotlib, Agg backend, files written atomically).

    >>> write_plots(report, "plots/")                      # doctest: +SKIP
    [PosixPath('plots/bytes_per_token.png'), PosixPath('plots/fertility.png')]

matplotlib is an optional dependency: ``pip install "tokforge[plot]"``.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Sequence

from tokforge.errors import ConfigError
from tokforge.eval.evaluate import ALL, Report
from tokforge.io.atomic import write_atomic

PLOT_INSTALL_HINT = 'pip install "tokforge[plot]"'
DPI = 100


def require_matplotlib() -> None:
    """Fail with a clear ConfigError (how to install it) when matplotlib is missing."""
    try:
        import matplotlib.figure  # noqa: F401
    except ImportError:
        raise ConfigError(f"--plots needs matplotlib: {PLOT_INSTALL_HINT}") from None


def _new_figure(width: float, height: float):
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)  # render with Agg whatever the default backend is
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    write_atomic(path, buf.getvalue())
    return path


def grouped_bars(rows: Sequence[dict[str, Any]], group: str, metric: str, ylabel: str, title: str,
                 path: Path) -> Path:
    """One group of bars per ``group`` value (domain, language), one bar per tokenizer; the bars of
    lossy rows (text lost to unknown tokens) are hatched and their tokenizer labelled lossy."""
    groups = list(dict.fromkeys(r[group] for r in rows))
    names = list(dict.fromkeys(r["tokenizer"] for r in rows))
    value = {(r["tokenizer"], r[group]): r.get(metric) for r in rows}
    lossy = {(r["tokenizer"], r[group]) for r in rows if r.get("lossy")}
    fig = _new_figure(max(6.0, 0.5 + 0.35 * len(groups) * max(1, len(names))), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(names))
    for k, name in enumerate(names):
        xs = [i + (k - (len(names) - 1) / 2) * width for i in range(len(groups))]
        ys = [value.get((name, g)) or 0.0 for g in groups]
        marked = any((name, g) in lossy for g in groups)
        bars = ax.bar(xs, ys, width=width, label=name + (" (lossy: text lost to unknown tokens)" if marked else ""))
        for bar, g in zip(bars, groups):
            if (name, g) in lossy:
                bar.set_hatch("//")
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if len(names) > 1 or lossy:
        ax.legend(fontsize="small")
    return _save(fig, path)


def sweep_lines(rows: Sequence[dict[str, Any]], path: Path) -> Path:
    """Bytes/token against vocabulary size, one line per domain (``ALL`` thick)."""
    fig = _new_figure(6.5, 4.0)
    ax = fig.add_subplot()
    for domain in dict.fromkeys(r["domain"] for r in rows):
        points = sorted((r["vocab_size"], r["bytes_per_token"]) for r in rows if r["domain"] == domain)
        xs, ys = zip(*points)
        ax.plot(xs, ys, marker="o", label=domain, linewidth=3 if domain == ALL else 1.2)
    sizes = sorted({r["vocab_size"] for r in rows})
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("vocabulary size (tokforge BPE trained on the corpus, measured on it)")
    ax.set_ylabel("bytes per token")
    ax.set_title("Compression vs vocabulary size")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    return _save(fig, path)


def write_plots(report: Report, folder: str | os.PathLike) -> list[Path]:
    """Write the plots that the report has data for into ``folder``; return their paths."""
    out = Path(folder)
    written = []
    if report.rows:
        written.append(grouped_bars(report.rows, "domain", "bytes_per_token", "bytes per token",
                                    "Compression per domain (higher is better)", out / "bytes_per_token.png"))
        written.append(grouped_bars(report.rows, "domain", "fertility", "tokens per word",
                                    "Fertility per domain (lower is better)", out / "fertility.png"))
    if report.premium:
        ref = report.premium[0]["reference"]
        written.append(grouped_bars(report.premium, "language", "premium", f"tokens relative to {ref}",
                                    "Token premium on parallel text", out / "premium.png"))
    if report.sweep:
        written.append(sweep_lines(report.sweep, out / "sweep.png"))
    return written
