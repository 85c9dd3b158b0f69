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
