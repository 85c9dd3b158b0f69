"""HF's decoders for token strings that are the text itself (the sentencepiece layouts of imported
files: ``▁`` for spaces written by the normalizer or pre-tokenizer, ``<0xNN>`` byte tokens): the chain of
a tokenizer.json's ``decoder``, step by step as ``tokenizers`` runs it on the tokens' strings.

    >>> Decoder.from_hf(LLAMA2).decode(["▁Hello", "▁w", "<0xC3>", "<0xB6>", "rld"])
    'Hello wörld'

Steps: ``Replace`` (a string by a string), ``ByteFallback`` (a run of ``<0xNN>`` tokens becomes its
UTF-8 text, or one U+FFFD per byte when it is not valid UTF-8), ``Fuse`` (one string), ``Strip``
(``start``/``stop`` copies of ``content`` off each token's ends), ``Metaspace`` (``▁`` to spaces, the
first token's leading space dropped unless ``prepend_scheme`` is ``never``) and ``Sequence``.
Anything else is a ValueError naming the step.
"""
from __future__ import annotations

import re
from typing import Any

#: The decoder of transformers' Llama/sentencepiece BPE conversions (``add_dummy_prefix``).
LLAMA2 = {"type": "Sequence", "decoders": [
    {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"},
    {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}

_BYTE_TOKEN = re.compile(r"<0x([0-9A-F]{2})>")


class Decoder:
    """A tokenizer.json decoder chain over token strings (see the module)."""

    def __init__(self, steps: list[dict[str, Any]], spec: dict[str, Any] | None):
        self.steps, self.spec = steps, spec

    @classmethod
    def from_hf(cls, spec: Any) -> "Decoder":
        steps: list[dict[str, Any]] = []

        def walk(o: Any) -> None:
            if not isinstance(o, dict):
                raise ValueError(f"decoder step {o!r} is not an object")
            kind = o.get("type")
            if kind == "Sequence":
                for sub in o.get("decoders") or []:
                    walk(sub)
            elif kind == "Replace" and set(o.get("pattern") or {}) == {"String"} and isinstance(o.get("content"), str):
                steps.append(o)
            elif kind in ("ByteFallback", "Fuse"):
                steps.append(o)
            elif kind == "Strip" and isinstance(o.get("content"), str) and len(o["content"]) == 1:
                steps.append(o)
            elif kind == "Metaspace" and o.get("prepend_scheme", "always") in ("always", "first", "never"):
                steps.append(o)
            else:
                raise ValueError(f"decoder step {kind!r} ({o}) is not supported; tokforge reads Replace (of a "
                                 "string), ByteFallback, Fuse, Strip, Metaspace and Sequence")

        if spec is not None:
            walk(spec)
        return cls(steps, spec)

    def decode(self, tokens: list[str]) -> str:
        for step in self.steps:
            tokens = _STEPS[step["type"]](step, tokens)
        return "".join(tokens)


def _replace(step: dict[str, Any], tokens: list[str]) -> list[str]:
    old, new = step["pattern"]["String"], step["content"]
    return [t.replace(old, new) for t in tokens]


def _byte_fallback(step: dict[str, Any], tokens: list[str]) -> list[str]:
    out: list[str] = []
    run: list[int] = []

    def flush() -> None:
        if run:
            try:
                out.append(bytes(run).decode("utf-8"))
            except UnicodeDecodeError:
                out.extend("\ufffd" for _ in run)
            run.clear()

    for t in tokens:
        m = _BYTE_TOKEN.fullmatch(t)
        if m:
            run.append(int(m.group(1), 16))
        else:
            flush()
            out.append(t)
    flush()
    return out


def _strip(step: dict[str, Any], tokens: list[str]) -> list[str]:
    content, start, stop = step["content"], int(step.get("start", 0)), int(step.get("stop", 0))
    out = []
    for t in tokens:
        a = 0
        while a < min(start, len(t)) and t[a] == content:
            a += 1
        b = len(t)
        while len(t) - b < stop and b > a and t[b - 1] == content:
            b -= 1
        out.append(t[a:b])
    return out


def _metaspace(step: dict[str, Any], tokens: list[str]) -> list[str]:
    mark = step.get("replacement", "\u2581")
    out = []
    for i, t in enumerate(tokens):
        t = t.replace(mark, " ")
        if i == 0 and step.get("prepend_scheme", "always") != "never" and t.startswith(" "):
            t = t[1:]
        out.append(t)
    return out


_STEPS = {"Replace": _replace, "ByteFallback": _byte_fallback, "Fuse": lambda step, tokens: ["".join(tokens)],
          "Strip": _strip, "Metaspace": _metaspace}
