"""``tokforge compare``: how two tokenizers cut the same text differently, word by word.

A word (whitespace-delimited) differs when the two tokenizers put token boundaries at different
places inside it; each word is shown cut at its boundaries (``kit|ap|ları``).

    >>> split_at(b"kitaplari", {3, 5})
    ['kit', 'ap', 'lari']
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tokforge.eval import metrics
from tokforge.eval.adapters import EvalTokenizer, TextBatch
from tokforge.eval.report import format_table


def split_at(data: bytes, cuts: set[int]) -> list[str]:
    """``data`` cut at the byte offsets ``cuts``, each piece decoded (U+FFFD for split characters)."""
    points = [0, *sorted(cuts), len(data)]
    return [data[a:b].decode("utf-8", errors="replace") for a, b in zip(points, points[1:])]


@dataclass
class Comparison:
    names: tuple[str, str]
    bytes: int = 0
    words: int = 0
    tokens: tuple[int, int] = (0, 0)
    differing: int = 0
    examples: list[tuple[str, list[str], list[str]]] = field(default_factory=list)


def compare(a: EvalTokenizer, b: EvalTokenizer, text: str, limit: int = 20) -> Comparison:
    """Count the words that ``a`` and ``b`` cut differently; keep the first ``limit`` of them."""
    batch = TextBatch.of([text])
    encs = [a.encode(batch), b.encode(batch)]
    ws, we = metrics.word_spans(batch.index)
    data = batch.index.data
    result = Comparison((a.name, b.name), len(data), len(ws), (len(encs[0].ids), len(encs[1].ids)))
    ranges = [metrics.token_ranges(e.starts, e.ends, ws, we) for e in encs]
    spans = [(e.starts.tolist(), e.ends.tolist()) for e in encs]
    for w, (lo, hi) in enumerate(zip(ws.tolist(), we.tolist())):
        cuts = []
        for (s, e), (rlo, rhi) in zip(spans, ranges):
            i, j = int(rlo[w]), int(rhi[w])
            cuts.append({c - lo for c in metrics.inner_boundaries(s[i:j], e[i:j], lo, hi)})
        if cuts[0] != cuts[1]:
            result.differing += 1
            if len(result.examples) < limit:
                word = data[lo:hi]
                result.examples.append((word.decode("utf-8", errors="replace"),
                                        split_at(word, cuts[0]), split_at(word, cuts[1])))
    return result


def render(c: Comparison) -> str:
    (na, nb), (ta, tb) = c.names, c.tokens
    share = f" ({c.differing / c.words:.1%})" if c.words else ""
    lines = [f"text: {c.bytes:,} bytes, {c.words:,} words",
             f"tokens: {na} {ta:,}, {nb} {tb:,}",
             f"words cut differently: {c.differing:,}{share}"]
    if c.examples:
        lines += ["", format_table(["word", na, nb],
                                   [[w, "|".join(pa), "|".join(pb)] for w, pa, pb in c.examples])]
    return "\n".join(lines)
