"""Counting on a Dask cluster (a LocalCluster of two worker processes on this machine, one per
module) gives the counts of local counting."""
import numpy as np
import pytest
from click.testing import CliRunner
from dask import distributed

from tokforge.cli import main
from tokforge.config import TrainConfig
from tokforge.counting.engines import count_corpus
from tokforge.counting.saved import load_counts

from conftest import CORPORA

@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster


def same(a, b):
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("arena", "offsets", "counts"))


def test_dask_counts_equal_local_counts(cluster):
    config = TrainConfig(held_out=0.05, seed=3, pattern="gpt2", digits="rtl3", numbers="tst-marker")
    local = count_corpus(str(CORPORA), config, workers=1)
    with distributed.Client(cluster) as client:
        on_dask = count_corpus(str(CORPORA), config, engine="dask", scheduler=client)
    assert on_dask.report["engine"] == "dask" and on_dask.report["workers"] == 2
    assert same(on_dask.counts, local.counts)
    assert on_dask.held_out.documents == local.held_out.documents and on_dask.corpus == local.corpus


def test_cli_count_on_a_scheduler_address(cluster, tmp_path):
    r = CliRunner().invoke(main, ["count", str(CORPORA / "tr"), "-o", str(tmp_path / "c"), "-q",
                                  "--engine", "dask", "--scheduler", cluster.scheduler_address])
    assert r.exit_code == 0, r.output
    assert same(load_counts(tmp_path / "c").counts, count_corpus(str(CORPORA / "tr"), workers=1).counts)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(main, ["count", str(CORPORA / "tr"), "-o", str(tmp_path / "c"), "-q",
                                  "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9"])
    assert r.exit_code == 1 and "cannot reach the Dask scheduler" in r.output
