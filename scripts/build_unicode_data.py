"""Build tokforge/data/unicode/hf_unicode.json: the Unicode character data that Hugging Face
``tokenizers`` uses, read off its own engines, so that tokforge splits, lowercases and normalizes
exactly as HF does whatever ``regex`` (and Python) release is installed.

    python scripts/build_unicode_data.py                 # needs tokenizers and Debian's unicode-data
    python scripts/build_unicode_data.py --check         # compare the shipped file with this tokenizers

What is read, and from where:

* general category, script, ``\\s``, ``\\d`` of every code point: HF's ``Split`` pre-tokenizer
  (Oniguruma) matching ``\\p{Lu}``, ``\\p{Greek}``, ... over a string of all code points;
* the case-insensitive matches of ``'`` and the letters of the presets' contractions
  (``(?i:s)`` -> S, s, U+017F): the same way;
* ``lowercase``: HF's ``Lowercase`` normalizer (Rust's ``char::to_lowercase``) on every code point;
* ``assigned_in_9_0``: the code points assigned in Unicode 9.0 or earlier (HF's NFC/NFKC tables are
  Unicode 9.0), from ``DerivedAge.txt`` (``apt-get install unicode-data``).

Script names are the values of ``regex``'s Script property that HF's engine accepts; ``regex`` only
lists names here, it decides no membership.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tokforge" / "data" / "unicode" / "hf_unicode.json"
DERIVED_AGE = Path("/usr/share/unicode/DerivedAge.txt")

GENERAL_CATEGORIES = ("Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe",
                      "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn")
FOLDED = "'sdmtlver"  # (?i:X) for the contraction groups of the presets


def all_code_points() -> np.ndarray:
    cps = np.arange(0x110000, dtype=np.uint32)
    return cps[(cps < 0xD800) | (cps > 0xDFFF)]


def hf_mask(pattern: str, cps: np.ndarray, text: str) -> np.ndarray:
    """bool[0x110000]: the code points HF's Oniguruma matches with ``pattern`` (one character)."""
    from tokenizers import Regex, pre_tokenizers

    split = pre_tokenizers.Split(Regex(f"(?:{pattern})+"), "removed")
    keep = np.zeros(len(cps), dtype=bool)   # positions of text that are not matched
    step = 4096   # one character per match, so chunks change nothing; HF is much faster on short strings
    for i in range(0, len(text), step):
        for _, (s, e) in split.pre_tokenize_str(text[i:i + step]):
            keep[i + s:i + e] = True
    mask = np.zeros(0x110000, dtype=bool)
    mask[cps[~keep]] = True
    return mask


def hf_accepts(pattern: str) -> bool:
    from tokenizers import Regex, pre_tokenizers

    try:
        pre_tokenizers.Split(Regex(pattern), "removed")
    except Exception:
        return False
    return True


def runs(values: np.ndarray) -> list[list]:
    """[[start, value], ...] of the runs of equal values (start of each run)."""
    starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
    return [[int(s), values[s]] for s in starts]


def ranges(mask: np.ndarray) -> list[list[int]]:
    """[[first, last], ...] of the True runs of a mask."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return [[int(a), int(b) - 1] for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


def script_names() -> dict[int, list[str]]:
    import regex._regex_core as core

    _, values = core.PROPERTIES["SCRIPT"]
    by_id: dict[int, list[str]] = {}
    for name, i in values.items():
        by_id.setdefault(i, []).append(name)
    return by_id


def build() -> dict:
    import tokenizers
    from tokenizers import normalizers

    cps = all_code_points()
    text = cps.tobytes().decode("utf-32-le")

    gc = np.full(0x110000, "", dtype=object)
    for name in GENERAL_CATEGORIES:
        mask = hf_mask(rf"\p{{{name}}}", cps, text)
        if (gc[mask] != "").any():
            raise SystemExit(f"\\p{{{name}}} overlaps another general category")
        gc[mask] = name
    gc[0xD800:0xE000] = "Cs"
    if (gc == "").any():
        raise SystemExit(f"{int((gc == '').sum())} code points have no general category, e.g. "
                         f"U+{int(np.flatnonzero(gc == '')[0]):04X}")

    assigned_cps = cps[gc[cps] != "Cn"]   # the other classes are read over assigned code points only
    assigned_text = assigned_cps.tobytes().decode("utf-32-le")
    scripts = np.full(0x110000, "", dtype=object)
    aliases: dict[str, str] = {}
    for _, names in sorted(script_names().items()):
        accepted = [n for n in names if hf_accepts(rf"\p{{{n}}}")]
        if not accepted:
            continue
        canonical = max(accepted, key=len).lower()   # the long name, e.g. "latin"
        mask = hf_mask(rf"\p{{{canonical}}}", assigned_cps, assigned_text)
        if not mask.any():
            continue
        scripts[mask & (scripts == "")] = canonical
        for n in accepted:
            aliases[n.lower()] = canonical
    scripts[scripts == ""] = "unknown"

    white_space = hf_mask(r"\s", cps, text)
    digit = hf_mask(r"\d", cps, text)
    folds = {c: [int(x) for x in np.flatnonzero(hf_mask(f"(?i:{c})", cps, text))] for c in FOLDED}

    # Lowercase maps one character at a time; U+0000 (its own lowercase) separates the others.
    rest = cps[1:].tolist()
    lowered = normalizers.Lowercase().normalize_str("\0".join(map(chr, rest))).split("\0")
    if len(lowered) != len(rest):
        raise SystemExit("Lowercase changed the separator")
    lowercase = {str(c): low for c, low in zip(rest, lowered) if low != chr(c)}

    assigned = np.zeros(0x110000, dtype=bool)
    if not DERIVED_AGE.exists():
        raise SystemExit(f"{DERIVED_AGE} is missing: apt-get install unicode-data")
    for line in DERIVED_AGE.read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        span, age = (x.strip() for x in line.split(";"))
        major, minor = (int(x) for x in age.split("."))
        if (major, minor) <= (9, 0):
            a, _, b = span.partition("..")
            assigned[int(a, 16):int(b or a, 16) + 1] = True

    return {
        "about": "Unicode character data of Hugging Face tokenizers' engines; built by scripts/build_unicode_data.py",
        "tokenizers": tokenizers.__version__,
        "general_category": runs(gc),
        "script": runs(scripts),
        "script_aliases": dict(sorted(aliases.items())),
        "white_space": ranges(white_space),
        "digit": ranges(digit),
        "case_insensitive": folds,
        "lowercase": lowercase,
        "assigned_in_9_0": ranges(assigned),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare the shipped file with the installed tokenizers")
    args = ap.parse_args()
    data = build()
    if args.check:
        shipped = json.loads(OUT.read_text())
        diff = [k for k in data if k not in ("tokenizers", "about") and data[k] != shipped.get(k)]
        print("differs: " + ", ".join(diff) if diff else f"same as tokenizers {data['tokenizers']}")
        sys.exit(1 if diff else 0)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
