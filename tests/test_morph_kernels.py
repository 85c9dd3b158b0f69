"""The morph planner kernel (tokforge.kernels.morph) against its slow oracle, the stage's Python code
(MorphStage.plan_pieces): the same units on every file of corpora/ and on generated text, for the
shipped rule sets, a rule set with categories, alternatives and requirements, and both stage versions;
and the tokenizer's ids from the kernel path equal those of the Python path."""
import functools
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tokforge
from tokforge.models.morph.compiled import compile_stage, plan_batch
from tokforge.models.morph.rules import load_rules, rules_from_dict
from tokforge.models.morph.stage import CAP, CAPS, MorphStage, affix_token, root_token
from tokforge.packed import lengths_of, offsets_from_lengths
from tokforge.text.pretokenizers import Pretokenizer

from conftest import CORPORA, ROOT

LINES_PER_FILE = 500


def _stage(rules, version=2):
    roots = list(rules.roots)
    return MorphStage(rules, roots[::3], roots[1::3] + roots[::6], version)


@functools.lru_cache(maxsize=4)
def _tr_stage(version):
    return _stage(load_rules("tr"), version)


@functools.lru_cache(maxsize=8)
def _codes(stage):
    """Stage codes for the planner and the code of each stage token (ids of our own choosing)."""
    rules = stage.rules
    n_fixed, roots = 2 + len(rules.affixes), list(rules.roots)
    codes = np.full(n_fixed + 2 * len(roots), -1, np.int64)
    codes[:n_fixed] = 10_000 + np.arange(n_fixed)
    of = {CAP: 10_000, CAPS: 10_001, **{affix_token(rules, k): 10_002 + k for k in range(len(rules.affixes))}}
    for r, i in zip(roots, range(len(roots))):
        if r in stage.roots_set:
            codes[n_fixed + i] = of[root_token(r)] = 100_000 + i
        if r in stage.spaced_set:
            codes[n_fixed + len(roots) + i] = of[root_token(r, spaced=True)] = 200_000 + i
    return codes, of


def _compare(stage, docs, pattern="cl100k"):
    """Assert the kernel's units of each document equal the oracle's; return how many were compared."""
    pre = Pretokenizer(pattern)
    codes, of = _codes(stage)
    encoded = [d.encode() for d in docs]
    buf = b"".join(encoded)
    doc_bounds = offsets_from_lengths(lengths_of(encoded))
    pieces = pre.scan_bytes(buf, doc_bounds)
    planned = plan_batch(compile_stage(stage.rules), buf, pieces, np.searchsorted(pieces, doc_bounds), codes,
                         stage.version)
    texts = [planned.texts[a:b] for a, b in zip(planned.text_bounds[:-1], planned.text_bounds[1:])]
    compared = 0
    for d, doc in enumerate(docs):
        if planned.doc_python[d]:
            continue
        want = [of[u.token] if u.token else u.text.encode() for _, _, units in stage.plan_pieces(pre.split(doc))
                for u in units]
        got = [c if c >= 0 else texts[-1 - c] for c in planned.codes[planned.doc_units[d]:planned.doc_units[d + 1]]]
        assert got == want, doc
        compared += 1
    return compared


def _lines(path, n=LINES_PER_FILE):
    return path.read_text(encoding="utf-8").splitlines(keepends=True)[:n]


@pytest.mark.parametrize("version", [1, 2])
def test_kernel_plans_every_file_of_the_corpora_as_the_stage_does(version):
    tr = _tr_stage(version)
    files = sorted(CORPORA.rglob("*.txt"))
    docs = [line for f in files for line in _lines(f)]
    assert _compare(tr, docs) > 0.99 * len(docs)
    # the English rule set's conditions look at two letters (-es after "ch"): the stage plans it in Python
    assert compile_stage(load_rules("en")) is None


WORDS = ["kitaplarımızdan", "Kitapları", "KİTAPLAR", "evlerde", "İstanbul'da", "Ankara’ya", "NATO'nun", "yayılıp",
         "okuyorum", "gidiyorlar", "saatler", "debianları", "IŞIK", "ılık", "ΑΘΗΝΑΣ", "Σ", "ß", "Straße", "ǅ",
         "iPhone", "x86", "12,345", "'", "’", "'d", "a", "e\u0301", "東京", " ", "  ", "\n", ".", "(", "-"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.text(alphabet="aeıioöuüAEIİOÖUÜbcçdgğklmnprsştvyzBÇĞŞ' ’.",
                                                  max_size=12), max_size=10).map("".join),
       st.sampled_from([1, 2]), st.sampled_from(["cl100k", "gpt2", "o200k", "whitespace"]))
def test_kernel_plans_generated_text_as_the_stage_does(text, version, pattern):
    _compare(_tr_stage(version), [text, " " + text, text.upper()], pattern)


TOY = {"name": "toy", "case": "turkish", "vowels": "aeıioöuü", "categories": ["noun", "verb", "closed"],
       "unknown": ["noun"],
       "symbols": {"A": [[{"last_vowel_in": "eiöü"}, "e"], [{"last_vowel_in": "aıou"}, "a"]],
                   "I": [[{"last_vowel_in": "ei"}, "i"], [{"last_vowel_in": "öü"}, "ü"], [{"last_vowel_in": "aı"}, "ı"],
                         [{"last_vowel_in": "ou"}, "u"]]},
       "optional": {"y": {"after": list("aeıioöuü")}},
       "affixes": [{"id": "PASS", "template": [[{"after": list("aeıioöuü")}, "n"], [{"after": ["l"]}, "In"],
                                                [{}, "Il"]], "order": 6, "attaches": ["verb"]},
                   {"id": "VN", "template": "mA", "order": 25, "next": 15, "attaches": ["verb"], "makes": "noun"},
                   {"id": "PL", "template": "lAr", "order": 20, "attaches": ["noun"]},
                   {"id": "P3", "template": "(y)I", "order": 30, "attaches": ["noun"]},
                   {"id": "ACC_N", "template": "nI", "order": 40, "requires": ["P3"], "attaches": ["noun"]},
                   {"id": "PAST", "template": "dI", "order": 30, "next": 50, "attaches": ["verb"]},
                   {"id": "A1", "template": "m", "order": 60, "requires": ["PAST"]}],
       "roots": ["yap\t\tverb", "yapı\t\tnoun", "bil\t\tverb", "oku\t\tverb", "kitap\tkitab\tnoun", "ev\t\tnoun",
                 "ara\t\tnoun,verb", "bile\t\tclosed"]}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["yap", "yapı", "bil", "oku", "kitap", "kitab", "ev", "ara", "bile", "ıl", "ın", "n",
                                 "ma", "me", "lar", "ler", "ı", "i", "yı", "nı", "ni", "dı", "di", "m", "x", " ", "'",
                                 "Y", "K"]), min_size=1, max_size=7).map("".join))
def test_kernel_follows_categories_alternatives_and_requirements(text):
    rules = rules_from_dict(TOY)
    stage = MorphStage(rules, ["yap", "ev"], ["kitap", "oku"])
    _compare(stage, [" " + text, text, "'" + text])
    assert rules.analyze("yapılar") == ("yapı", False, ("PL",))       # not yap-ıl-ar: yap-ıl has no PL
    assert rules.analyze("okunmadım") is None                          # VN makes a noun: no PAST after it
    assert rules.analyze("bilindim") == ("bil", False, ("PASS", "PAST", "A1"))


def test_the_tokenizers_kernel_path_gives_the_python_paths_ids():
    tok = tokforge.train([str(CORPORA / "tr" / "denemeler_tokforge_tr.txt")], algo="morph", vocab_size=900)
    assert tok.stage.version == 2 and tok.stage.spaced_roots
    docs = [line for f in sorted(CORPORA.rglob("*.txt")) for line in _lines(f, 150)]
    assert tok.encode_batch(docs) == [tok.encode_with_offsets(d)[0] for d in docs]
    for d in docs[:50]:
        assert tok.decode(tok.encode(d)) == d


def test_old_model_files_plan_as_version_1(tmp_path):
    """A model file that names no stage version plans without apostrophe groups and finer analyses."""
    doc = json.loads((ROOT / "tests" / "data" / "models" / "morph-bpe.json").read_text(encoding="utf-8"))
    assert "version" not in doc["morph"]
    old = tokforge.Tokenizer.from_native(doc)
    assert old.stage.version == 1 and "'" not in old.pieces(" İstanbul'da")
    doc["morph"]["version"] = 2
    new = tokforge.Tokenizer.from_native(doc)
    assert new.pieces(" İstanbul'da")[-2:] == ["'", affix_token(new.stage.rules, new.stage.rules.affix_index["LOC"])]
    doc["morph"]["version"] = 3
    with pytest.raises(tokforge.ModelFormatError, match="morph.version.*upgrade tokforge"):
        tokforge.Tokenizer.from_native(doc)
