"""feed: the byte-kernel fast path counts exactly what the per-document Python path counts."""
import numpy as np
import pytest

from tokforge.corpus import Block, Corpus
from tokforge.counting.feed import HeldOut, feed
from tokforge.text.normalizers import Normalizer
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.specials import SpecialSplitter

from conftest import CORPORA


@pytest.mark.parametrize("pattern, digits, normalizer", [
    ("cl100k", "none", ("none",)), ("gpt2", "rtl3", ("none",)), ("o200k", "single", ("lowercase",)),
    ("whitespace", "ltr3", ("none",)), ("cl100k", "none", ("nfkc", "collapse_whitespace")),
    ("metaspace", "none", ("nfkc",))])
def test_fast_and_slow_feed_count_the_same(monkeypatch, pattern, digits, normalizer):
    pretokenizer = Pretokenizer(pattern, digits)
    specials = SpecialSplitter({"<|endoftext|>": 0})

    def run():
        held_out = HeldOut(0.05, seed=7)
        counts = feed(Corpus(str(CORPORA)), Normalizer(normalizer), pretokenizer, specials, held_out)
        return dict(counts.items()), held_out.documents

    fast_counts, fast_held = run()
    assert pretokenizer.has_scanner
    monkeypatch.setattr(Pretokenizer, "has_scanner", property(lambda self: False))
    slow_counts, slow_held = run()
    assert fast_counts == slow_counts
    assert fast_held == slow_held and len(fast_held) > 100
    if normalizer != ("none",):  # the normalizer did change words, and both paths saw it
        plain = feed(Corpus(str(CORPORA)), Normalizer("none"), pretokenizer, specials, HeldOut(0.05, seed=7))
        assert dict(plain.items()) != fast_counts


def test_held_out_choice_does_not_depend_on_blocks():
    docs = [f"line {i}\n".encode() for i in range(1000)]
    data = b"".join(docs)
    bounds = np.concatenate([[0], np.cumsum([len(d) for d in docs])])
    whole = HeldOut(0.1, seed=1)
    whole.filter(Block(data, bounds, 0))
    parts = HeldOut(0.1, seed=1)
    for start in range(0, 1000, 300):
        end = min(start + 300, 1000)
        sub = bounds[start:end + 1] - bounds[start]
        parts.filter(Block(data[bounds[start]:bounds[end]], sub, start))
    assert whole.documents == parts.documents and 50 < len(whole.documents) < 150


def test_prefetch_yields_in_order_and_reraises():
    from tokforge.background import prefetch

    assert list(prefetch(iter(range(100)), depth=3)) == list(range(100))

    def failing():
        yield 1
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        for x in prefetch(failing()):
            got.append(x)
    assert got == [1]


_EXIT_WHILE_COMPILING = """
import os, sys, threading
import numba, numpy as np
from numba.core import event
from tokforge.background import in_background

compiling = threading.Event()

class Report(event.Listener):
    def on_start(self, e):
        compiling.set()
    def on_end(self, e):
        if e.data["dispatcher"] is kernel:
            os.write(1, b"compiled\\n")

@numba.njit(cache=False)
def kernel(a):
    return np.sort(a)[::-1].cumsum()

event.register("numba:compile", Report())
in_background(kernel, np.ones(3))
compiling.wait()
sys.exit(0)
"""


def test_a_process_ending_while_a_background_thread_compiles_a_kernel_waits_for_it():
    """The run stopped by a signal while the kernels load in the background (the warm-up) could
    abort in LLVM as the interpreter tore down; at exit the process now waits for the kernel being
    compiled (its end is reported) and exits normally."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _EXIT_WHILE_COMPILING], capture_output=True, timeout=300)
    assert (done.returncode, done.stdout) == (0, b"compiled\n"), done.stderr.decode()[-2000:]
