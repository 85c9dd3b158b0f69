"""Other spellings of the presets (tiktoken's possessive ones with \\s++$, Llama 3's, GPT-2's own) take the
numba scanner (with its variants): proved the way the presets are -- every code point in context,
hypothesis strings against the regex path, the corpora."""
import numpy as np
import pytest
import regex
from hypothesis import HealthCheck, example, given, settings

from tokforge.kernels import pretokenize as K
from tokforge.text.presets import SPELLINGS
from tokforge.text.pretokenizers import Pretokenizer

from test_pretokenize_kernels import ALL_CPS, EXAMPLES, check, corpus_lines, documents, scanned

CASES = [(s, d) for s in SPELLINGS for d in ("none", "rtl3")]


def test_every_spelling_has_its_scanner():
    assert set(K.SPELLING_IDS) == set(SPELLINGS)
    for spelling in SPELLINGS:
        assert Pretokenizer(spelling).has_scanner and Pretokenizer(spelling, "single").has_scanner
    assert not Pretokenizer(r"""'s|'t| ?\p{L}+|\s+""").has_scanner


@pytest.mark.parametrize("spelling,digits", CASES)
def test_scanner_equals_split(spelling, digits):
    pre = Pretokenizer(spelling, digits)

    @settings(max_examples=EXAMPLES if digits == "none" else 150, deadline=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(documents)
    @example(["a  ", "a \n ", " \n\n", "x\n \t", "12345678 1234\n  ", "\r\n\r\n  x  1234567 ½²³ \u3000"])
    @example(["It's 2024!  ", "  ", "\n", "'ll 'LL 'ſ ", "x ١٢٣٤٥٦ y"])
    def run(docs):
        check(pre, docs)

    run()


def test_every_code_point_in_context():
    rare = regex.compile(r"[\p{Cn}\p{Co}]")
    cps = [c for i, c in enumerate(ALL_CPS) if i % 64 == 0 or not rare.match(c)]
    templates = {"gpt2": "'{0} {0}a{0}1{0} ", "cl100k": "'{0}1 {0}\n{0}a{0} "}
    for spelling, (preset, _) in SPELLINGS.items():
        pre = Pretokenizer(spelling)
        template = templates[preset]
        docs = ["".join(template.format(c) for c in cps[i:i + 4096]) for i in range(0, len(cps), 4096)]
        if scanned(pre, docs) != [pre.split(d) for d in docs]:  # find the culprit
            for c in cps:
                check(pre, [template.format(c)])
            pytest.fail(f"{spelling}: pieces differ only in context")


@pytest.mark.parametrize("spelling", list(SPELLINGS))
def test_corpora(spelling):
    pre = Pretokenizer(spelling)
    for path in corpus_lines():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        enc = [line.encode() for line in lines]
        bounds = np.zeros(len(lines) + 1, np.int64)
        np.cumsum([len(x) for x in enc], out=bounds[1:])
        want = [0]
        for line in lines:
            want.extend(len(p.encode()) for p in pre.split(line))
        assert np.array_equal(pre.scan_bytes(b"".join(enc), bounds), np.cumsum(want)), path


def test_the_variants_are_what_the_spellings_mean():
    cl100k, tiktoken_cl100k = Pretokenizer("cl100k"), Pretokenizer(next(iter(
        s for s, (_, v) in SPELLINGS.items() if v == ("tail", "digit_runs"))))
    assert cl100k.split("a \n ") == ["a", " \n", " "] and tiktoken_cl100k.split("a \n ") == ["a", " \n "]
    assert cl100k.split("1234567") == ["123", "456", "7"] and tiktoken_cl100k.split("1234567") == ["1234567"]
