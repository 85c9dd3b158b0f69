"""Render an evaluation ``Report`` as terminal tables, CSV and JSON.

    >>> print(format_table(["tokenizer", "bytes/tok"], [["a", "3.100"], ["bb", "12.000"]]))
    tokenizer  bytes/tok
    a              3.100
    bb            12.000
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Sequence

from tokforge.eval.evaluate import Report

# (key, header, format) of the per-domain table
DOMAIN_COLUMNS = [
    ("unknown_share", "lost (unk)", "{:.1%}"),
    ("bytes_per_token", "bytes/tok", "{:.3f}"),
    ("chars_per_token", "chars/tok", "{:.3f}"),
    ("fertility", "fertility", "{:.2f}"),
    ("continued_words", "continued", "{:.1%}"),
    ("vocab_used", "vocab used", "{:.1%}"),
    ("renyi_efficiency", "renyi", "{:.3f}"),
    ("number_pieces", "num pieces", "{:.2f}"),
    ("numbers_rtl3", "num rtl3", "{:.1%}"),
    ("non_unique", "non-unique", "{:.1%}"),
    ("valid_word_tokens", "valid words", "{:.1%}"),
]
MORPHOLOGY_COLUMNS = [
    ("words", "words", "{:,}"),
    ("pure_tokens", "pure tokens", "{:.1%}"),
    ("boundary_precision", "precision", "{:.1%}"),
    ("boundary_recall", "recall", "{:.1%}"),
    ("boundary_f1", "F1", "{:.1%}"),
    ("roots_known", "roots known", "{:.1%}"),
]
PREMIUM_COLUMNS = [("tokens", "tokens", "{:,}"), ("premium", "premium", "{:.3f}")]

LEGEND = """\
bytes/tok, chars/tok: UTF-8 bytes and characters per token (higher = more compression)
fertility: tokens per whitespace-delimited word; continued: share of words cut into 2+ tokens
vocab used: share of vocabulary ids used; renyi: Renyi efficiency (alpha {alpha}) of the token distribution
num pieces: tokens per digit run; num rtl3: share of digit runs cut into right-to-left groups of 3
non-unique: share of sampled distinct words with another segmentation into as few tokens
roots known: share of the gold words' roots (their first morpheme, a lemma) in the tokenizer's root dictionary"""
LEGEND_WORDLIST = "valid words: share of distinct letter-bearing tokens that are in the word list"
LEGEND_LOSSY = ("lost (unk): share of the text's bytes encoded as unknown tokens (e.g. [UNK]), which decoding cannot "
                "give back;\n  ! marks such lossy rows: their compression counts the lost text as if it were encoded")
LOSSY_MARK = "!"  # after the compression figures of a lossy row
COMPRESSION_KEYS = ("bytes_per_token", "chars_per_token")


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "-"
    return fmt.format(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widths: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    lines = []
    for r in [headers, *rows]:
        cells = [str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _section(rows: list[dict], keys: Sequence[str], columns: list[tuple[str, str, str]]) -> str:
    """A table of ``rows``; when some are lossy, their compression figures get ``LOSSY_MARK``
    (the ``unknown_share`` column is shown only then)."""
    lossy = any(r.get("lossy") for r in rows)
    columns = [c for c in columns if any(c[0] in r for r in rows) and (lossy or c[0] != "unknown_share")]

    def cell(r: dict, key: str, fmt: str) -> str:
        text = _cell(r.get(key), fmt)
        return text + (LOSSY_MARK if r.get("lossy") else " ") if lossy and key in COMPRESSION_KEYS else text

    headers = [*keys, *(h for _, h, _ in columns)]
    body = [[*(str(r[k]) for k in keys), *(cell(r, key, fmt) for key, _, fmt in columns)] for r in rows]
    return format_table(headers, body)


def render_text(report: Report) -> str:
    """The terminal report: one table per section that has rows, and a legend."""
    parts = []
    if report.rows:
        parts.append("Per domain\n" + _section(report.rows, ["domain", "tokenizer"], DOMAIN_COLUMNS))
    if report.morphology:
        parts.append("Morphology (gold segmentations)\n"
                     + _section(report.morphology, ["gold", "tokenizer"], MORPHOLOGY_COLUMNS))
    if report.premium:
        ref = report.premium[0]["reference"]
        parts.append(f"Token premium on parallel text (relative to {ref})\n"
                     + _section(report.premium, ["language", "tokenizer"], PREMIUM_COLUMNS))
    if report.sweep:
        domains = list(dict.fromkeys(r["domain"] for r in report.sweep))
        sizes = list(dict.fromkeys(r["vocab_size"] for r in report.sweep))
        value = {(r["vocab_size"], r["domain"]): r["bytes_per_token"] for r in report.sweep}
        body = [[f"{v:,}", *(_cell(value.get((v, d)), "{:.3f}") for d in domains)] for v in sizes]
        parts.append("Vocabulary sweep: bytes/token of tokforge BPE trained on the corpus\n"
                     + format_table(["vocab", *domains], body))
    if report.rows:
        legend = LEGEND.format(alpha=report.options.get("alpha"))
        if any("valid_word_tokens" in r for r in report.rows):
            legend += "\n" + LEGEND_WORDLIST
        if any(r.get("lossy") for r in report.rows):
            legend += "\n" + LEGEND_LOSSY
        parts.append(legend)
    return "\n\n".join(parts)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"


def render_csv(report: Report) -> str:
    """One CSV of every section: a ``table`` column (domains, morphology, premium, sweep), then the
    union of the sections' scalar columns (empty where a section has none)."""
    tables = [("domains", report.rows), ("morphology", report.morphology),
              ("premium", report.premium), ("sweep", report.sweep)]
    columns: dict[str, None] = {"table": None}
    for _, rows in tables:
        for r in rows:
            columns.update((k, None) for k, v in r.items() if not isinstance(v, (dict, list)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for name, rows in tables:
        for r in rows:
            writer.writerow({"table": name, **{k: ("" if v is None else v) for k, v in r.items()}})
    return out.getvalue()
