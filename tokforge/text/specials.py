"""Special tokens: found in raw text first (longest match at the leftmost position), never split.

    >>> SpecialSplitter({"<s>": 0, "<s>x": 1}).segments("a<s>xb<s>")
    [('a', None), ('<s>x', 1), ('b', None), ('<s>', 0)]

Hugging Face's added tokens may carry flags (``AddedTokens``): ``lstrip``/``rstrip`` take the White_Space
on their left/right into the match, ``normalized`` ones are matched in the normalized text (the facade runs
a second splitter there), ``special: false`` ones are not skipped by ``decode(skip_special_tokens=True)``.
``single_word`` is not reproduced (it needs Rust's ``is_alphanumeric`` tables): files that use it are refused.

    >>> SpecialSplitter({"<m>": 5}, strip_left={"<m>"}, strip_right={"<m>"}).segments("a  <m> b")
    [('a', None), ('  <m> ', 5), ('b', None)]

Which special tokens count as control (tiktoken's ``allowed_special``/``disallowed_special``) is a
``SpecialPolicy``, decided per call by the facade.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import AbstractSet, Any, Collection, Literal, Union

import regex

from tokforge.errors import InputError
from tokforge.text.normalizers import WHITE_SPACE

_WHITE = frozenset(chr(c) for a, b in WHITE_SPACE for c in range(a, b + 1))

Allowed = Union[Literal["all"], AbstractSet[str], Collection[str]]


class SpecialSplitter:
    """Cuts text into (plain text, None) and (special token, id) segments, in order."""

    def __init__(self, special_tokens: dict[str, int], strip_left: Collection[str] = (),
                 strip_right: Collection[str] = ()):
        self.ids = dict(special_tokens)
        self._left, self._right = frozenset(strip_left), frozenset(strip_right)
        by_length = sorted(self.ids, key=len, reverse=True)
        self._pattern = regex.compile("|".join(map(regex.escape, by_length))) if by_length else None

    def segments(self, text: str) -> list[tuple[str, int | None]]:
        if self._pattern is None:
            return [(text, None)] if text else []
        out: list[tuple[str, int | None]] = []
        pos = 0
        search = self._pattern.search
        m = search(text, pos)
        while m is not None:
            start, stop, token = m.start(), m.end(), m.group()
            if token in self._left:  # HF: the White_Space before it, not what an earlier match took
                while start > pos and text[start - 1] in _WHITE:
                    start -= 1
            if token in self._right:
                while stop < len(text) and text[stop] in _WHITE:
                    stop += 1
            if start > pos:
                out.append((text[pos:start], None))
            out.append((text[start:stop], self.ids[token]))
            pos = stop
            m = search(text, pos)
        if pos < len(text):
            out.append((text[pos:], None))
        return out

    def occurs_in(self, data: bytes) -> bool:
        """Whether any special token occurs in the UTF-8 ``data``."""
        return any(token.encode("utf-8") in data for token in self.ids)

    def plain_parts(self, text: str) -> list[str]:
        """The text between special tokens (what a trainer counts)."""
        return [s for s, i in self.segments(text) if i is None]

    def only(self, tokens: AbstractSet[str]) -> "SpecialSplitter":
        """The splitter of ``tokens`` alone (the others become plain text), same flags."""
        return SpecialSplitter({t: i for t, i in self.ids.items() if t in tokens}, self._left, self._right)


@dataclass(frozen=True)
class AddedTokens:
    """The flags of a tokenizer.json's added tokens, beyond "special, matched in the raw text, no strip"
    (tokforge's own), and the tokens its post-processor puts around a text (``add_special_tokens``)."""

    lstrip: frozenset[str] = frozenset()
    rstrip: frozenset[str] = frozenset()
    normalized: frozenset[str] = frozenset()
    not_special: frozenset[str] = frozenset()     # added, but kept by skip_special_tokens
    prefix: tuple[int, ...] = ()                  # the post-processor's ids before the text ...
    suffix: tuple[int, ...] = ()                  # ... and after it
    post_processor: dict[str, Any] | None = field(default=None, compare=False)  # as read, for export

    @property
    def plain(self) -> bool:
        return self == AddedTokens()

    def flags(self, token: str) -> dict[str, bool]:
        """The token's entry flags in tokenizer.json's ``added_tokens``."""
        return {"single_word": False, "lstrip": token in self.lstrip, "rstrip": token in self.rstrip,
                "normalized": token in self.normalized, "special": token not in self.not_special}

    def to_native(self) -> dict[str, Any]:
        return {"lstrip": sorted(self.lstrip), "rstrip": sorted(self.rstrip), "normalized": sorted(self.normalized),
                "not_special": sorted(self.not_special), "post_processor": self.post_processor}

    @classmethod
    def from_native(cls, doc: dict[str, Any], specials: dict[str, int]) -> "AddedTokens":
        post = doc.get("post_processor")
        prefix, suffix = template_ids(post, specials) if post is not None else ((), ())
        return cls(*(frozenset(doc.get(k) or ()) for k in ("lstrip", "rstrip", "normalized", "not_special")),
                   prefix, suffix, post)


def template_ids(post: Any, specials: dict[str, int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The ids a tokenizer.json ``post_processor`` puts before and after one text: ByteLevel (none),
    TemplateProcessing (its ``single`` template) or a Sequence of them; ValueError for anything else."""
    steps = post.get("processors") if isinstance(post, dict) and post.get("type") == "Sequence" else [post]
    if not isinstance(steps, list):
        raise ValueError("a Sequence post_processor needs a 'processors' list")
    prefix: list[int] = []
    suffix: list[int] = []
    for step in steps:
        kind = step.get("type") if isinstance(step, dict) else step
        if kind == "ByteLevel":
            continue
        if kind != "TemplateProcessing":
            raise ValueError(f"post_processor {kind!r} is not supported (tokforge reads ByteLevel and "
                             "TemplateProcessing)")
        tokens = step.get("special_tokens") or {}
        seen_text = False
        for item in step.get("single") or []:
            if "Sequence" in item:
                if item["Sequence"].get("id") != "A" or seen_text:
                    raise ValueError(f"TemplateProcessing single template {step.get('single')!r} is not one text "
                                     "between special tokens")
                seen_text = True
                continue
            name = item.get("SpecialToken", {}).get("id")
            ids = (tokens.get(name) or {}).get("ids")
            if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
                raise ValueError(f"TemplateProcessing special token {name!r} has no ids")
            (suffix if seen_text else prefix).extend(ids)
        if not seen_text:
            raise ValueError("TemplateProcessing single template has no $A")
    return tuple(prefix), tuple(suffix)


@dataclass(frozen=True)
class SpecialPolicy:
    """Which special tokens in a text are control (their id) and which are an error; the rest is
    text (tiktoken's ``allowed_special``/``disallowed_special``).

    >>> sorted(SpecialPolicy.of({"<s>", "<e>"}, allowed="all").control)
    ['<e>', '<s>']
    >>> SpecialPolicy.of({"<s>", "<e>"}, allowed={"<s>"}, disallowed="all").check("a <e>")
    Traceback (most recent call last):
    ...
    tokforge.errors.InputError: the text contains the special token '<e>', which is not allowed: ...
    """

    control: frozenset[str]
    refused: frozenset[str]

    @classmethod
    def of(cls, tokens: AbstractSet[str], allowed: Allowed = (), disallowed: Allowed = ()) -> "SpecialPolicy":
        allow = frozenset(tokens) if allowed == "all" else frozenset(allowed)
        refuse = frozenset(tokens) - allow if disallowed == "all" else frozenset(disallowed)
        unknown = sorted((allow | refuse) - frozenset(tokens))
        if unknown:
            raise InputError(f"{unknown[0]!r} is not a special token of this tokenizer (its special tokens: "
                             f"{sorted(tokens)[:10]})")
        return cls(allow, refuse - allow)

    def check(self, text: str) -> None:
        for token in sorted(self.refused, key=len, reverse=True):
            if token in text:
                raise InputError(f"the text contains the special token {token!r}, which is not allowed: pass "
                                 f"allowed_special={{{token!r}}} to encode it as its id, or disallowed_special=() "
                                 "to encode it as plain text")
