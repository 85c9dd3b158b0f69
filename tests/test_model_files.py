"""Every malformed model file is a ModelFormatError naming the file and the field, never another
exception: valid tokforge.json and tokenizer.json files of every algorithm and layout are mutated
field by field (the key deleted, a value of the wrong type, a wrong value), and each mutant must
either load and work, or be refused with a ModelFormatError that names the file and a field on
the mutated path."""
import json
import math
import re
from pathlib import Path

import pytest

import tokforge
from tokforge.errors import ModelFormatError
from tokforge.models.morph.rules import DATA_DIR

from conftest import CORPORA

TEXT = CORPORA / "tr" / "denemeler_tokforge_tr.txt"
SAMPLE = "KİTAPLARIMIZDAN 1234567.89 evlerde\t<|endoftext|> ok\n"

KINDS = {
    "bpe": {},
    "bpe-gpt2-nfc-lowercase-rtl3": {"pattern": "gpt2", "normalizer": ("nfc", "lowercase"), "digits": "rtl3",
                                    "special_tokens": ("<|endoftext|>", "<pad>")},
    "superbpe": {"algo": "superbpe", "vocab_size": 340, "transition": 300},
    "unigram": {"algo": "unigram"},
    "unigram-metaspace": {"algo": "unigram", "pattern": "metaspace", "normalizer": ("nfkc", "collapse_whitespace")},
    "tst-marker": {"numbers": "tst-marker", "pattern": "o200k", "digits": "single"},
    "tst-vocab": {"numbers": "tst-vocab", "vocab_size": 10_300},
    "morph-bpe": {"algo": "morph"},
    "morph-unigram": {"algo": "morph", "morph_fallback": "unigram"},
}
MISSING = object()


def small_rules(folder: Path) -> Path:
    """The Turkish rule set with only the roots the test text uses (a small, fast model file)."""
    rules = json.loads((DATA_DIR / "tr.json").read_text(encoding="utf-8"))
    words = set(TEXT.read_text(encoding="utf-8").lower().split())
    prefixes = {w[:k] for w in words for k in range(2, min(len(w), 12) + 1)}
    lines = (DATA_DIR / rules["roots"]).read_text(encoding="utf-8").splitlines()
    rules["roots"] = [line for line in lines if line and not line.startswith("#")
                      and line.split("\t")[0] in prefixes][:300]
    path = folder / "tr-small.json"
    path.write_text(json.dumps(rules, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """{(kind, file name): (path, its JSON)} of a small model of each kind."""
    root = tmp_path_factory.mktemp("models")
    rules = small_rules(root)
    files = {}
    for kind, options in KINDS.items():
        if kind.startswith("morph"):
            options = {**options, "morph_rules": str(rules), "vocab_size": 400}
        tok = tokforge.train(str(TEXT), held_out=0, **{"vocab_size": 320, **options})
        folder = root / kind
        tok.save(folder, hf=not kind.startswith("morph") and kind != "tst-vocab")
        for name in ("tokforge.json", "tokenizer.json"):
            if (folder / name).exists():
                files[kind, name] = json.loads((folder / name).read_text(encoding="utf-8"))
    return root, files


def sampled(container):
    """The keys or indices of a dict or list to mutate: all of a small one, a few of a large one."""
    keys = list(container) if isinstance(container, dict) else list(range(len(container)))
    return keys if len(keys) <= 12 else keys[:2] + [keys[len(keys) // 2], keys[-1]]


# tst-vocab's file differs from bpe's in its number stage and fixed tokens: only they are mutated
# (its 9,990 fixed tokens make every load slow); "234\x0f" is the fixed token 234<e3>.
TST_VOCAB_PATHS = [("numbers",), ("vocab",), ("vocab", "234\x0f")]


def paths(doc, path=()):
    """The paths of the values to mutate (the report under "training" is free-form: only as a whole;
    the morph rule set is mutated in the morph-bpe file only)."""
    yield path
    if isinstance(doc, (dict, list)) and path != ("training",):
        for k in sampled(doc):
            yield from paths(doc[k], path + (k,))


def bad_values(value, deep=False):
    """A value of each other type, and wrong values of the same type (``deep``: one of each)."""
    if isinstance(value, bool):
        values = ["yes", 2, None]
    elif isinstance(value, int):
        values = ["7", None, 1.5, [], -1, 10**12, 2**70]
    elif isinstance(value, float):
        values = ["x", None, math.nan, math.inf, -1e300]
    elif isinstance(value, str):
        values = [3, None, [], {}, "", "bogus \u2581 x", "\ud800"]
    elif isinstance(value, list):
        values = [{}, "x", None, 3, [], [None], [[1, 2]]]
    elif isinstance(value, dict):
        values = [[], "x", None, 3, {}, {"x": None}]
    else:
        values = [3, "x", {}, []]
    return [values[0], values[-1]] if deep else values


def mutation_paths(kind, doc):
    if kind == "tst-vocab":
        return TST_VOCAB_PATHS
    if kind == "morph-unigram":  # the same morph section as morph-bpe: its rule set is mutated there
        return [p for p in paths(doc) if p[:2] != ("morph", "rules") or len(p) <= 3]
    return list(paths(doc))


def mutated(doc, path, value):
    """A deep copy of ``doc`` with the value at ``path`` replaced (MISSING: deleted)."""
    copy = json.loads(json.dumps(doc))
    if not path:
        return value
    parent = copy
    for k in path[:-1]:
        parent = parent[k]
    if value is MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return copy


CASES = [(kind, name) for kind in KINDS for name in ("tokforge.json", "tokenizer.json")
         if name == "tokforge.json" or not (kind.startswith("morph") or kind == "tst-vocab")]


@pytest.mark.parametrize("kind, name", CASES)
def test_every_mutant_loads_and_works_or_is_a_model_format_error_naming_file_and_field(model_files, kind, name):
    root, files = model_files
    doc = files[kind, name]
    target = root / "mutants" / kind / name
    target.parent.mkdir(parents=True, exist_ok=True)
    problems = []
    tried = 0
    for path in mutation_paths(kind, doc):
        original = doc
        for k in path:
            original = original[k]
        for value in ([MISSING] if path else []) + bad_values(original, deep=len(path) > 2):
            tried += 1
            target.write_text(json.dumps(mutated(doc, path, value)), encoding="utf-8")  # "\ud800" stays escaped
            what = f"{'/'.join(map(str, path)) or '<document>'} = {'<deleted>' if value is MISSING else repr(value)[:40]}"
            try:
                tok = tokforge.Tokenizer.load(target)
                tok.decode(tok.encode(SAMPLE))
            except ModelFormatError as e:
                message = str(e)
                keys = [k for k in path if isinstance(k, str)]
                if str(target) not in message:
                    problems.append(f"{what}: the message does not name the file: {message}")
                elif keys and not any(re.search(rf"(?<!\w){re.escape(k)}(?!\w)", message) for k in keys):
                    problems.append(f"{what}: the message names no field of {keys}: {message}")
            except Exception as e:  # noqa: BLE001 -- the point of the test
                problems.append(f"{what}: {type(e).__name__}: {e}")
    assert tried > (15 if kind == "tst-vocab" else 100)
    assert not problems, f"{len(problems)} of {tried} mutants:\n" + "\n".join(problems[:60])
