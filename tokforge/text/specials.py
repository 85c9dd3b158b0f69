"""Special tokens: found in raw text first (longest match at the leftmost position), never split.

    >>> SpecialSplitter({"<s>": 0, "<s>x": 1}).segments("a<s>xb<s>")
    [('a', None), ('<s>x', 1), ('b', None), ('<s>', 0)]
"""
from __future__ import annotations

import regex


class SpecialSplitter:
    """Cuts text into (plain text, None) and (special token, id) segments, in order."""

    def __init__(self, special_tokens: dict[str, int]):
        self.ids = dict(special_tokens)
        by_length = sorted(self.ids, key=len, reverse=True)
        self._pattern = regex.compile("|".join(map(regex.escape, by_length))) if by_length else None

    def segments(self, text: str) -> list[tuple[str, int | None]]:
        if self._pattern is None:
            return [(text, None)] if text else []
        out: list[tuple[str, int | None]] = []
        pos = 0
        for m in self._pattern.finditer(text):
            if m.start() > pos:
                out.append((text[pos:m.start()], None))
            out.append((m.group(), self.ids[m.group()]))
            pos = m.end()
        if pos < len(text):
            out.append((text[pos:], None))
        return out

    def occurs_in(self, data: bytes) -> bool:
        """Whether any special token occurs in the UTF-8 ``data``."""
        return any(token.encode("utf-8") in data for token in self.ids)

    def plain_parts(self, text: str) -> list[str]:
        """The text between special tokens (what a trainer counts)."""
        return [s for s, i in self.segments(text) if i is None]
