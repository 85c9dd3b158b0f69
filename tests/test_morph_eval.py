"""scripts/morph_eval.py end to end on the shipped Turkish corpus: the comparison the README reports."""
import json
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_morph_eval_compares_the_four_tokenizers_and_the_hybrid_finds_the_boundaries(tmp_path):
    out = tmp_path / "eval.json"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "morph_eval.py"), "--vocab", "1500",
                          "--json", str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    rows = {r["tokenizer"]: r for r in json.loads(out.read_text(encoding="utf-8"))["rows"]}
    assert set(rows) == {"bpe-1500", "unigram-1500", "morph-bpe-1500-r0.8", "morph-unigram-1500-r0.8"}
    for r in rows.values():
        assert r["vocab_size"] <= 1500 and r["bytes_per_token"] > 1
        p, rec, f1 = r["boundary_precision"], r["boundary_recall"], r["boundary_f1"]
        assert f1 == pytest.approx(2 * p * rec / (p + rec))
        for key in ("pure_tokens", "valid_unit_occurrences", "valid_word_tokens"):
            assert 0.0 <= r[key] <= 1.0
        assert f"| {r['tokenizer']} |" in run.stdout  # the Markdown table
    plain = [rows["bpe-1500"], rows["unigram-1500"]]
    for hybrid in (rows["morph-bpe-1500-r0.8"], rows["morph-unigram-1500-r0.8"]):
        assert hybrid["boundary_f1"] > max(r["boundary_f1"] for r in plain)
        assert hybrid["valid_unit_occurrences"] > max(r["valid_unit_occurrences"] for r in plain)
