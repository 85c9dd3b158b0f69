r"""The split presets: the one table of the regexes tokforge splits with by name, the digit policies
and the other names users give the presets. The pretokenizer compiles them
(``tokforge.text.pretokenizers``); the numba scanners reproduce them
(``tokforge.kernels.pretokenize``, which checks that each is still the regex its scanner was
written for).

    >>> sorted(PRESETS), DIGIT_POLICIES
    (['cl100k', 'gpt2', 'o200k', 'superword', 'superword-sentences', 'whitespace'], ('none', 'single', 'ltr3', 'rtl3'))
    >>> DIGIT_PATTERNS["ltr3"]
    '\\p{N}{1,3}'
"""
from __future__ import annotations

#: Split regexes by name.  They match every character and never match the empty string, so their
#: ``findall`` pieces cover the text (tokforge relies on this for speed; tests check it).
PRESETS: dict[str, str] = {
    # GPT-2 (exactly the regex of HF's ByteLevel(use_regex=true), so a plain ByteLevel imports as "gpt2").
    "gpt2": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
    # GPT-4 (tiktoken cl100k_base): contractions, words with one leading non-letter, 1-3 digits.
    "cl100k": r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*"""
              r"""|\s*[\r\n]|\s+(?!\S)|\s+""",
    # GPT-4o (tiktoken o200k_base): also splits camelCase words and keeps contractions on the word.
    # Rewritten for engine parity: "\u0295" (ʕ) added to both upper-case classes, because ʕ is Ll
    # for HF's Oniguruma (Unicode 16) and Lo for `regex` (Unicode 17); now both put it in both.
    "o200k": r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}\u0295]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+"""
             r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?"""
             r"""|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}\u0295]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*"""
             r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)?"""
             r"""|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+""",
    # Lossless whitespace split: each run of non-space with at most one leading space; other
    # whitespace stays together (its last space goes to the next word when one follows).
    "whitespace": r""" ?\S+|\s+(?!\S)|\s+""",
    # SuperBPE's stage 2 (tokforge.models.superbpe), as in the paper: no split at whitespace, newlines
    # or punctuation; pieces end only at digits (1-3 per piece, as cl100k).
    "superword": r"""\p{N}{1,3}|[^\p{N}]+""",
    # The stage-2 split of tokforge before 2026-12 (its models keep it: a model file saves its regex):
    # pieces also end at newlines (isolated) and after sentence punctuation . ! ? ; : (and CJK
    # full-width) that is followed by whitespace.
    "superword-sentences": r"""\p{N}{1,3}|[\r\n]+|(?:[^\r\n\p{N}.!?;:\u3002\uff01\uff1f\uff1b\uff1a]"""
                           r"""|[.!?;:\u3002\uff01\uff1f\uff1b\uff1a](?!\s))+[.!?;:\u3002\uff01\uff1f\uff1b\uff1a]*"""
                           r"""|[.!?;:\u3002\uff01\uff1f\uff1b\uff1a]+""",
}

#: Other spellings of the presets in circulation, with the scanner variants they need
#: (``tokforge.kernels.pretokenize.VARIANT_BITS``): a tokenizer.json whose split regex is one of these
#: splits with the numba scanner. Each is proved to split as its scanner does (tests: every code point
#: in context, hypothesis strings against the ``regex`` path, the corpora).
SPELLINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Llama 3, transformers' TikTokenConverter default, tiktoken's cl100k before its possessive rewrite
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"""
    r"""|\s+(?!\S)|\s+""": ("cl100k", ()),
    # tiktoken's cl100k_base today; in HF (Oniguruma) \p{N}{1,3}+ keeps a run of digits whole
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$"""
    r"""|\s*[\r\n]|\s+(?!\S)|\s""": ("cl100k", ("tail", "digit_runs")),
    # the same with \p{N}{1,3}: 1-3 digits, as tiktoken itself splits
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$"""
    r"""|\s*[\r\n]|\s+(?!\S)|\s""": ("cl100k", ("tail",)),
    # tiktoken's r50k/p50k (GPT-2) today
    r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""": ("gpt2", ("tail",)),
    # GPT-2's own (encoder.py), with explicit classes
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?[\p{L}]+| ?[\p{N}]+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""": ("gpt2", ()),
}

#: Digit policies, applied before the main regex.
DIGIT_POLICIES: tuple[str, ...] = ("none", "single", "ltr3", "rtl3")

#: The regex of each digit policy (a "digit" is any ``\p{N}`` character, as in the presets).
DIGIT_PATTERNS: dict[str, str] = {
    "single": r"\p{N}",                                   # 1234567 -> 1|2|3|4|5|6|7
    "ltr3": r"\p{N}{1,3}",                                # 1234567 -> 123|456|7
    "rtl3": r"\p{N}{1,3}(?=(?:\p{N}{3})*(?!\p{N}))",      # 1234567 -> 1|234|567
}


#: Other names users give the presets (tiktoken's encodings, the models that use them).
PRESET_ALIASES: dict[str, str] = {"gpt4": "cl100k", "gpt35": "cl100k", "gpt4o": "o200k", "r50k": "gpt2",
                                  "ws": "whitespace"}
