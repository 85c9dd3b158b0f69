"""Model files written by an earlier tokforge (tests/data/models/, made by make.py there) still load,
encode, split and decode exactly as they did, and are written back field for field the same."""
import json
from pathlib import Path

import pytest

import tokforge

MODELS = Path(__file__).parent / "data" / "models"
EXPECTED = json.loads((MODELS / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED["models"]))
def test_old_model_file_encodes_and_decodes_as_before(name):
    tok = tokforge.Tokenizer.load(MODELS / f"{name}.json")
    expected = EXPECTED["models"][name]
    ids = tok.encode(EXPECTED["text"])
    assert ids == expected["ids"]
    assert tok.encode_batch([EXPECTED["text"]] * 3) == [expected["ids"]] * 3
    assert tok.pieces(EXPECTED["text"]) == expected["tokens"]
    assert tok.decode(ids) == expected["decoded"]


@pytest.mark.parametrize("name", sorted(EXPECTED["models"]))
def test_old_model_file_is_written_back_the_same(name):
    doc = json.loads((MODELS / f"{name}.json").read_text(encoding="utf-8"))
    written = tokforge.Tokenizer.load(MODELS / f"{name}.json").to_native()
    assert set(doc) - set(written) == {"files_sha256"}
    assert {k: v for k, v in doc.items() if k != "files_sha256"} == written


def test_every_model_file_loads_in_a_fresh_process():
    """``tokforge.Tokenizer.load`` right after ``import tokforge``, as a user's script does: a model whose
    tokenizer class tokforge imports only when used (the morph hybrid's) loads too (it failed before:
    only a process that had imported tokforge.models.morph could read one)."""
    import subprocess
    import sys
    code = ("import json, sys, tokforge\n"
            "for path in sys.argv[1:]:\n"
            "    tok = tokforge.Tokenizer.load(path)\n"
            "    print(json.dumps([type(tok).__name__, tok.encode(" + repr(EXPECTED["text"]) + ")]))\n")
    names = sorted(EXPECTED["models"])
    run = subprocess.run([sys.executable, "-c", code, *(str(MODELS / f"{n}.json") for n in names)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    loaded = [json.loads(line) for line in run.stdout.splitlines()]
    assert [ids for _, ids in loaded] == [EXPECTED["models"][n]["ids"] for n in names]
    kinds = {name: kind for name, (kind, _) in zip(names, loaded)}
    assert [kinds[n] for n in names if n.startswith("morph")] == ["MorphTokenizer"] * 2
