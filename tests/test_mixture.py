"""Data mixture inference: the replay and scan kernels against slow references, the LP on a
worked example whose answer is known exactly, tokenizers trained on known mixtures (tokforge's
and HF's BpeTrainer), and the clear errors."""
import json
from collections import Counter

import highspy
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings, strategies as st

from conftest import CORPORA
from reference import reference_pair_counts_per_step
from tokforge.cli import main
from tokforge.corpus import Corpus
from tokforge.counting.feed import feed
from tokforge.counting.words import WordCounts
from tokforge.errors import ConfigError
from tokforge.kernels.mixture_scan import count_peaks, key_set, violations
from tokforge.kernels.pair_replay import replay_merges
from tokforge.mixture import Category, categories_of, infer, infer_from_samples, parse_category
from tokforge.mixture.inference import merge_rows, replay
from tokforge.mixture.lp import GAP, MergeCounts, solve
from tokforge.mixture.samples import Sample
from tokforge.models.bpe import BPEModel
from tokforge.models.bpe_trainer import train_bpe
from tokforge.text.normalizers import Normalizer
from tokforge.text.pretokenizers import Pretokenizer
from tokforge.text.specials import SpecialSplitter


def packed(words):
    syms = np.array([s for w, _ in words for s in w], np.int32)
    lengths = np.array([len(w) for w, _ in words], np.int64)
    return syms, np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64), lengths, \
        np.array([n for _, n in words], np.int64)


@st.composite
def words_and_merges(draw):
    """Words over 4 symbols (many overlaps like "aaa"), and merges of pairs of symbols made so far;
    a merge may give an id made before (the reuse of an existing token's string)."""
    words = draw(st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=0, max_size=10), st.integers(1, 5)),
                          min_size=1, max_size=12))
    made = [0, 1, 2, 3]
    merges = []
    for _ in range(draw(st.integers(0, 12))):
        a, b = draw(st.sampled_from(made)), draw(st.sampled_from(made))
        new = draw(st.sampled_from(made[4:])) if len(made) > 4 and draw(st.booleans()) else len(made)
        if new == len(made):
            made.append(new)
        merges.append((a, b, new))
    return words, merges


def counts_per_step(init_keys, init_counts, bounds, keys, deltas):
    current = Counter({(k >> 32, k & 0xFFFFFFFF): c for k, c in zip(init_keys.tolist(), init_counts.tolist())})
    steps = [+current]
    for t in range(len(bounds) - 1):
        changed = keys[bounds[t]:bounds[t + 1]].tolist()
        assert len(set(changed)) == len(changed) and 0 not in deltas[bounds[t]:bounds[t + 1]]
        for k, d in zip(changed, deltas[bounds[t]:bounds[t + 1]].tolist()):
            current[k >> 32, k & 0xFFFFFFFF] += d
        assert min(current.values(), default=0) >= 0
        steps.append(+current)
    return steps


@settings(max_examples=300, deadline=None)
@given(words_and_merges())
def test_replay_matches_reference(case):
    words, merges = case
    rows = np.array(merges, np.int64).reshape(-1, 3)
    out = replay_merges(*packed(words), rows)
    assert counts_per_step(*out) == reference_pair_counts_per_step(words, merges)


def reference_violations(counts0, weights, pair_slack, step_slack, merge_pids, bounds, pids, cats, deltas, tol):
    """Every violated (step, pair) with its count differences, from the counts recomputed per step."""
    counts = counts0.copy()
    found = set()
    for t, m in enumerate(merge_pids.tolist()):
        if counts[m].any():
            mix = counts @ weights
            cutoff = mix[m] + step_slack[t] + tol * max(1.0, abs(mix[m]))
            for p in np.flatnonzero(mix - pair_slack > cutoff).tolist():
                if p != m:
                    found.add((t, p, tuple((counts[m] - counts[p]).tolist())))
        for k in range(bounds[t], bounds[t + 1]):
            counts[pids[k], cats[k]] += deltas[k]
    return found


@settings(max_examples=150, deadline=None)
@given(words_and_merges(), words_and_merges(), st.floats(0.0, 1.0), st.data())
def test_scan_matches_reference(case_a, case_b, share, data):
    (words_a, merges), (words_b, _) = case_a, case_b
    if not merges:
        return
    rows = np.array(merges, np.int64)
    counts = MergeCounts.build([replay_merges(*packed(w), rows) for w in (words_a, words_b)], rows, [100, 300])
    n_pairs = len(counts.pair_keys)
    pair_slack = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.5, 2.0]), min_size=n_pairs, max_size=n_pairs)))
    step_slack = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=len(rows), max_size=len(rows))))
    weights = np.array([share, 1 - share]) * counts.scale
    args = (counts.counts0, weights, pair_slack, step_slack, counts.merge_pids, counts.bounds, counts.pids,
            counts.cats, counts.deltas)
    expected = reference_violations(*args, 1e-9)
    args = (counts.counts0, counts.peaks, counts.merged, *args[1:])
    steps, pairs, diffs, excess, _ = violations(*args, key_set(np.zeros(0, np.int64)), 1000, 10**6, 1e-9, len(rows))
    assert (excess > 0).all()
    assert {(t, p, tuple(d)) for t, p, d in zip(steps.tolist(), pairs.tolist(), diffs.tolist())} == expected
    # known constraints are not found again, and at most per_step per step, the most violated first
    known = key_set((steps[::2] << 32) | pairs[::2])
    steps1, pairs1, _, _, _ = violations(*args, known, 1, 10**6, 1e-9, len(rows))
    assert set(zip(steps1.tolist(), pairs1.tolist())) <= set(zip(steps[1::2].tolist(), pairs[1::2].tolist()))
    assert len(set(steps1.tolist())) == len(steps1)


@settings(max_examples=150, deadline=None)
@given(words_and_merges(), words_and_merges())
def test_count_peaks_matches_reference(case_a, case_b):
    (words_a, merges), (words_b, _) = case_a, case_b
    rows = np.array(merges, np.int64).reshape(-1, 3)
    counts = MergeCounts.build([replay_merges(*packed(w), rows) for w in (words_a, words_b)], rows, [100, 300])
    per_cat = [reference_pair_counts_per_step(w, merges) for w in (words_a, words_b)]
    pairs = [(k >> 32, k & 0xFFFFFFFF) for k in counts.pair_keys.tolist()]
    peaks, merged = count_peaks(counts.counts0, counts.merge_pids, counts.bounds, counts.pids, counts.cats,
                                counts.deltas)
    assert peaks.tolist() == [[max(steps[t][p] for t in range(len(steps))) for steps in per_cat] for p in pairs]
    assert merged.tolist() == [[steps[t][(a, b)] for steps in per_cat] for t, (a, b, _) in enumerate(merges)]
    assert (counts.peaks == peaks).all() and (counts.merged == merged).all()


def byte_model(merges: list[tuple[bytes, bytes]]) -> BPEModel:
    """A BPE model with the 256 byte tokens (id = byte) and the given merges."""
    vocab = [bytes([b]) for b in range(256)]
    pairs = []
    for left, right in merges:
        if left + right not in vocab:
            vocab.append(left + right)
        pairs.append((vocab.index(left), vocab.index(right)))
    return BPEModel(vocab, pairs)


def test_worked_example_with_exact_answer():
    """Category A's sample is twice the size of B's. Merge "ab" (A) came before "gh" (B): per byte
    of text, alpha_A * 30/240 >= alpha_B * 30/120; then "gh" came before "ij" (A): alpha_B * 30/120
    >= alpha_A * 30/240. So alpha_A = 2 alpha_B: 2/3 and 1/3, with no slack."""
    model = byte_model([(b"a", b"b"), (b"g", b"h"), (b"c", b"d"), (b"i", b"j")])
    samples = [Sample("A", WordCounts.from_dict({"ab": 30, "ij": 30}), 240, 60),
               Sample("B", WordCounts.from_dict({"cd": 30, "gh": 30}), 120, 60)]
    result = infer_from_samples(model, samples, merge_rows(model, 4))
    assert result.alpha == pytest.approx([2 / 3, 1 / 3], abs=1e-9)
    assert result.objective == pytest.approx(0, abs=1e-9) and result.constraints >= 1 and result.rounds >= 1
    assert result.merges_in_samples == 4


def full_lp_objective(cases, nbytes, merges):
    """The LP with every constraint (each step, each other pair present), from the reference counts."""
    per_cat = [reference_pair_counts_per_step(words, merges) for words in cases]
    scale = 1e6 / np.array(nbytes, float)
    pairs = sorted({p for steps in per_cat for c in steps[:len(merges)] for p in c})
    rows, steps_used, pairs_used = [], set(), set()
    for t, (a, b, _) in enumerate(merges):
        m = (a, b)
        if not any(steps[t][m] for steps in per_cat):
            continue
        for p in pairs:
            if p != m and any(steps[t][p] for steps in per_cat):
                rows.append((t, p, [(steps[t][m] - steps[t][p]) * s for steps, s in zip(per_cat, scale)]))
                steps_used.add(t)
                pairs_used.add(p)
    if not rows:
        return 0.0
    n = len(cases)
    step_var = {t: n + i for i, t in enumerate(sorted(steps_used))}
    pair_var = {p: n + len(step_var) + i for i, p in enumerate(sorted(pairs_used))}
    a = np.zeros((len(rows) + 1, n + len(step_var) + len(pair_var)))  # rows >= 0, then sum(alpha) = 1
    for r, (t, p, coef) in enumerate(rows):
        a[r, :n] = coef
        a[r, step_var[t]] = a[r, pair_var[p]] = 1
    a[-1, :n] = 1
    n_vars = a.shape[1]
    highs = highspy._Highs()  # a cold solve of the whole LP, with its defaults (presolve, ...)
    highs.setOptionValue("output_flag", False)
    empty = np.zeros(0, np.int32)
    highs.addCols(n_vars, np.r_[np.zeros(n), np.ones(n_vars - n)], np.zeros(n_vars),
                  np.r_[np.ones(n), np.full(n_vars - n, highspy.kHighsInf)], 0, empty, empty, np.zeros(0))
    index = np.tile(np.arange(n_vars, dtype=np.int32), len(a))
    highs.addRows(len(a), np.r_[np.zeros(len(rows)), 1.0], np.r_[np.full(len(rows), highspy.kHighsInf), 1.0],
                  a.size, np.arange(0, a.size, n_vars, dtype=np.int32), index, a.ravel())
    highs.run()
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return highs.getInfo().objective_function_value


@settings(max_examples=60, deadline=None)
@given(words_and_merges(), words_and_merges(), words_and_merges(), st.integers(1, 3))
def test_lazy_lp_reaches_the_full_lp(case_a, case_b, case_c, per_step):
    """Lazy constraint generation (a few constraints per step and round) ends at the optimum of the
    LP that holds every constraint (within GAP of it)."""
    merges = case_a[1]
    if not merges:
        return
    cases = [case_a[0], case_b[0], case_c[0]]
    nbytes = [100, 250, 60]
    rows = np.array(merges, np.int64)
    counts = MergeCounts.build([replay_merges(*packed(w), rows) for w in cases], rows, nbytes)
    solution = solve(counts, per_step=per_step, max_new=3, first_stage=2)
    assert solution.alpha.sum() == pytest.approx(1) and (solution.alpha >= 0).all()
    assert solution.objective == pytest.approx(full_lp_objective(cases, nbytes, merges), rel=2 * GAP, abs=1e-4)


def words_of(path):
    """(word counts of a text file under the default pipeline, its bytes)."""
    return feed(Corpus(str(path)), Normalizer("none"), Pretokenizer(), SpecialSplitter({})), path.stat().st_size


def test_true_mixture_violates_nothing():
    """A tokenizer trained on the union of two samples: at the true shares (the samples' bytes),
    every merge is the most frequent pair at its step, so no constraint is violated."""
    en = words_of(CORPORA / "en" / "essays_tokforge_en.txt")
    tr = words_of(CORPORA / "tr" / "denemeler_tokforge_tr.txt")
    union = Counter(dict(en[0].items())) + Counter(dict(tr[0].items()))
    model = train_bpe(WordCounts.from_dict(union), 256 + 400)
    rows = merge_rows(model, len(model.merges))
    counts = MergeCounts.build([replay(model, c, rows) for c, _ in (en, tr)], rows, [en[1], tr[1]])
    truth = np.array([en[1], tr[1]]) / (en[1] + tr[1])
    found = violations(counts.counts0, counts.peaks, counts.merged, truth * counts.scale,
                       np.zeros(len(counts.pair_keys)), np.zeros(len(rows)), counts.merge_pids, counts.bounds, counts.pids, counts.cats, counts.deltas,
                       key_set(np.zeros(0, np.int64)), 10, 10**6, 1e-9, len(rows))
    assert len(found[0]) == 0
    solution = solve(counts)
    assert solution.objective == pytest.approx(0, abs=1e-6)
    assert solution.alpha == pytest.approx(truth, abs=0.05)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Samples of en and tr text (even lines) and a tokenizer trained on 3 parts en to 1 part tr
    of them (by bytes), as a tokforge model and as a tokenizer.json of HF's BpeTrainer (alphabet:
    the bytes it saw)."""
    import tokenizers

    import tokforge
    folder = tmp_path_factory.mktemp("mixture")
    texts = {}
    for name, path in (("en", CORPORA / "en" / "debian_handbook_en.txt"),
                       ("tr", CORPORA / "tr" / "debian_handbook_tr.txt")):
        text = "".join(path.read_text(encoding="utf-8").splitlines(keepends=True)[::2])[:60_000]
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        texts[name] = text
    training = texts["en"] * 3 + texts["tr"]
    (folder / "train.txt").write_text(training, encoding="utf-8")
    size = len(training.encode())
    truth = {"en": 3 * len(texts["en"].encode()) / size, "tr": len(texts["tr"].encode()) / size}
    tokforge.train(str(folder / "train.txt"), vocab_size=900, held_out=0.0, workers=1).save(folder / "tokforge")
    hf = tokenizers.Tokenizer(tokenizers.models.BPE())
    hf.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = tokenizers.decoders.ByteLevel()
    hf.train([str(folder / "train.txt")], tokenizers.trainers.BpeTrainer(vocab_size=900, show_progress=False))
    hf.save(str(folder / "hf.json"))
    zh = (CORPORA / "zh" / "debian_handbook_zh_cn.txt").read_text(encoding="utf-8")[:5000]
    (folder / "zh.txt").write_text(zh, encoding="utf-8")
    return folder, truth


@pytest.mark.parametrize("model", ["tokforge", "hf.json"])
def test_known_mixture_is_recovered(mixed, model):
    folder, truth = mixed
    result = infer(folder / model, {"en": str(folder / "en.txt"), "tr": str(folder / "tr.txt")})
    assert result.proportions == pytest.approx(truth, abs=0.01)
    assert result.objective == pytest.approx(0, abs=1e-6)  # the samples are the training text


def test_cli_prints_and_writes(mixed, tmp_path):
    folder, truth = mixed
    out = CliRunner().invoke(main, ["mixture", str(folder / "hf.json"), "--category", f"en={folder / 'en.txt'}",
                                    "--category", f"tr={folder / 'tr.txt'}", "--merges", "300", "-q",
                                    "--json", str(tmp_path / "r.json"), "--plots", str(tmp_path / "plots")])
    assert out.exit_code == 0, out.output
    assert "proportion" in out.output and "constraints" in out.output and "objective" in out.output
    saved = json.loads((tmp_path / "r.json").read_text())
    assert saved["merges"] == 300 and saved["proportions"]["en"] == pytest.approx(truth["en"], abs=0.02)
    assert (tmp_path / "plots" / "mixture.png").stat().st_size > 1000


def cli_error(*args):
    """The one-line error of a failing `tokforge mixture` (no traceback)."""
    out = CliRunner().invoke(main, ["mixture", *map(str, args), "-q"])
    assert out.exit_code in (1, 2) and isinstance(out.exception, SystemExit), out.exception
    assert "Traceback" not in out.output and out.output.count("Error:") == 1
    return out.output


def test_clear_errors(mixed, tmp_path):
    import tokforge
    folder, _ = mixed
    en, tr = f"en={folder / 'en.txt'}", f"tr={folder / 'tr.txt'}"
    assert "NAME=PATH" in cli_error(folder / "tokforge", "--category", "en", "--category", tr)
    assert "at least two" in cli_error(folder / "tokforge", "--category", en)
    assert "more than once" in cli_error(folder / "tokforge", "--category", en, "--category", en)
    assert "has only 643 merges" in cli_error(folder / "tokforge", "--category", en, "--category", tr,
                                              "--merges", 5000)
    (tmp_path / "empty.txt").write_text("\n\n")
    assert "give at least 1,000 bytes" in cli_error(folder / "tokforge", "--category", en,
                                                    "--category", f"empty={tmp_path / 'empty.txt'}")
    # HF's trainer kept only the bytes it saw: Chinese text holds others
    assert "alphabet lacks" in cli_error(folder / "hf.json", "--category", en, "--category", f"zh={folder / 'zh.txt'}")
    tokforge.train(str(folder / "train.txt"), vocab_size=400, algo="unigram", held_out=0.0).save(tmp_path / "uni")
    assert "no merge list" in cli_error(tmp_path / "uni", "--category", en, "--category", tr)


def test_category_parsing():
    assert parse_category("code=a=b.txt") == Category("code", "a=b.txt")
    assert [c.name for c in categories_of(["x=1", ("y", ["2", "3"])])] == ["x", "y"]
    for bad in ("x", "=a", "x="):
        with pytest.raises(ConfigError, match="NAME=PATH"):
            parse_category(bad)
    with pytest.raises(ConfigError, match="whole number"):
        merge_rows(byte_model([(b"a", b"b")]), 0)
