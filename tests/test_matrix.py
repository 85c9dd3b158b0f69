"""The composition matrix (``tokforge.compat.CELLS``): every cell trains and round-trips, saves and
reloads to the same ids, gives shards at p = 0 equal to ``encode_batch`` and saves a folder that
transformers loads with identical ids: a tokenizer.json (which tokforge imports back) or, where
``hf_limit`` says tokenizer.json cannot express it, tokforge's tokenizer class (``trust_remote_code``)
-- or is refused when the config is made, with its stated reason."""
from __future__ import annotations

import re
from itertools import product
from pathlib import Path

import numpy as np
import pytest
import transformers

import tokforge
from tokforge.compat import (ALGORITHMS, CELLS, DIGITS, NORMALIZERS, NUMBERS, SPECIALS, Cell, covered_pairs,
                             matrix_table)
from tokforge.errors import ConfigError, ExportError
from tokforge.formats import hf as hf_export
from tokforge.sampling.shards import write_shards

from conftest import CORPORA, ROOT

OCCURRING_SPECIAL = "<|im_start|>"  # in the text; a special token of the "several" set
SOURCES = [("en/essays_tokforge_en.txt", 12), ("tr/denemeler_tokforge_tr.txt", 10), ("en/debian_handbook_en.txt", 14),
           ("tr/gnu_manpages_tr.txt", 10), ("code/python_stdlib.txt", 10)]
EXTRA = ["Total:  1,234,567.891 items\tat 3.14 each, x86 v1.2.3 and 007 — ｆｕｌｌ ｗｉｄｔｈ ①② "
         "İstanbul'da",
         f"{OCCURRING_SPECIAL}user: 12 + 3400 = 3412?{OCCURRING_SPECIAL}  ok\t\tfine  ",
         "Çok GÜZEL 2024 yılında 15.000 kişi; ＡＢＣ 1.5 ve 0012 \x0e\x1a marker-like bytes"]


def _lines(path: str, n: int) -> list[str]:
    """The first ``n`` non-empty lines of a corpus file, half of them with a digit if it has them."""
    lines = [ln for ln in (CORPORA / path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    digits = [ln for ln in lines if re.search("[0-9]", ln)][: n // 2]
    rest = [ln for ln in lines if ln not in digits][: n - len(digits)]
    return [ln[:300] for ln in digits + rest]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[str]]:
    """A few KB of text from corpora/ (several languages, code, numbers, the occurring special token)."""
    lines = [ln for path, n in SOURCES for ln in _lines(path, n)]
    lines = [f"{OCCURRING_SPECIAL}{ln}" if k % 9 == 4 else ln for k, ln in enumerate(lines)] + EXTRA
    path = tmp_path_factory.mktemp("matrix") / "text.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, lines


def _sizes(cell: Cell) -> dict:
    """Tiny vocabularies: room for the fixed tokens and about 100 learned ones."""
    fixed = 256 + 1 + len(SPECIALS[cell.specials] or ("x",)) + (9990 if cell.numbers == "tst-vocab" else 0)
    if cell.algorithm.startswith("morph"):
        fixed += 2 + 70  # case markers, the affix tokens of rule set tr
    sizes = {"vocab_size": fixed + 120, "workers": 1}
    if cell.algorithm == "superbpe":
        sizes["transition"] = fixed + 60
    return sizes


def _expected(tok: tokforge.Tokenizer, text: str) -> str:
    """The text decode gives back: special tokens as they are, the text between them normalized."""
    specials = sorted(tok.special_tokens, key=len, reverse=True)
    parts = re.split("(" + "|".join(map(re.escape, specials)) + ")", text) if specials else [text]
    return "".join(p if k % 2 else tok.normalizer.normalize(p) for k, p in enumerate(parts))


@pytest.mark.parametrize("cell", CELLS, ids=[c.id for c in CELLS])
def test_cell(cell, corpus, tmp_path):
    path, lines = corpus
    options = {**cell.options(), **_sizes(cell)}
    if cell.refusal is not None:
        reason = re.escape(cell.refusal.why.split(":")[0].format(**options))
        with pytest.raises(ConfigError, match=reason):
            tokforge.TrainConfig(**options)
        with pytest.raises(ConfigError, match=reason):  # before any corpus work: the corpus does not exist
            tokforge.train(str(tmp_path / "no-such-corpus"), **options)
        return
    tok = tokforge.train(str(path), **options)
    text = "\n".join(lines)
    ids = tok.encode(text)
    assert tok.decode(ids) == _expected(tok, text)
    if cell.specials == "several":
        assert tok.special_tokens[OCCURRING_SPECIAL] in ids

    folder = tmp_path / "model"
    tok.save(folder)
    if cell.hf_limit is None:
        hf = transformers.AutoTokenizer.from_pretrained(str(folder))
        assert tokforge.Tokenizer.load(folder / "tokenizer.json").encode(text) == ids
    else:
        assert not (folder / "tokenizer.json").exists()
        with pytest.raises(ExportError):  # no approximate tokenizer.json
            hf_export.hf_files(tok)
        hf = transformers.AutoTokenizer.from_pretrained(str(folder), trust_remote_code=True)
    assert hf.encode(text, add_special_tokens=True) == ids
    assert hf.decode(ids) == tok.decode(ids)
    assert tokforge.Tokenizer.load(folder).encode(text) == ids

    documents = [d for block in tokforge.Corpus([str(path)]).iter_blocks() for d in block.documents()]
    # encode_batch matches special-token text (transformers' default); shards do when allowed to
    manifest = write_shards(tokforge.Corpus([str(path)]), tok, tmp_path / "shards", workers=1, allowed_special="all")
    shard = manifest["folders"][0]["shards"]
    assert len(shard) == 1
    shard_ids = np.load(tmp_path / "shards" / "epoch-0000" / "shard-00000.ids.npy")
    bounds = np.load(tmp_path / "shards" / "epoch-0000" / "shard-00000.bounds.npy")
    assert [shard_ids[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])] == tok.encode_batch(documents)


def test_cells_cover_every_pair_of_factor_values_and_every_algorithm_digits_numbers_cell():
    assert {(c.algorithm, c.digits, c.numbers) for c in CELLS} == set(product(ALGORITHMS, DIGITS, NUMBERS))
    everything = [Cell(*combo) for combo in product(ALGORITHMS, NORMALIZERS, DIGITS, NUMBERS, SPECIALS)]
    assert len(everything) == 648 and len(set(CELLS)) == len(CELLS)
    pairs = covered_pairs(everything)  # every pair of values that some trainable combination has
    # algorithm x the other four factors, then the other pairs
    assert len(pairs) == 6 * 4 + 6 * 3 + 6 * 3 + 6 * 3 + (4 * 3 + 4 * 3 + 4 * 3 + 3 * 3 + 3 * 3 + 3 * 3)
    assert pairs == covered_pairs(CELLS)


def test_readme_table_is_the_matrix():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- matrix table: made by tokforge.compat.matrix_table() -->\n", "\n<!-- end of matrix table -->"
    assert readme[readme.index(start) + len(start):readme.index(end)] == matrix_table()
