"""Kernel variants chosen at run time: reported, forceable, and bit-identical to one another."""

from __future__ import annotations

import numpy as np
import pytest

from recplug import kernels
from recplug.errors import ConfigError

pytestmark = pytest.mark.skipif(not kernels.available(), reason="recplug._kernels is not built")


@pytest.fixture(autouse=True)
def automatic_choice(monkeypatch):
    monkeypatch.delenv(kernels.VARIANT_ENV, raising=False)
    kernels.use_variant(None)
    yield
    kernels.use_variant(None)


def test_build_info_reports_the_variant_in_use_and_those_available():
    info = kernels.build_info()
    assert info["variant"] in kernels.VARIANTS
    assert info["variants"] == kernels.variants()
    assert info["variant"] == info["variants"][0]  # the best one runs unless told otherwise


def test_use_variant_forces_each_available_path_and_back():
    for variant in kernels.variants():
        kernels.use_variant(variant)
        assert kernels.build_info()["variant"] == variant
    kernels.use_variant(None)
    assert kernels.build_info()["variant"] == kernels.variants()[0]


def test_environment_variable_forces_a_variant(monkeypatch):
    last = kernels.variants()[-1]
    monkeypatch.setenv(kernels.VARIANT_ENV, last)
    kernels.use_variant(None)
    assert kernels.build_info()["variant"] == last


@pytest.mark.parametrize("bad", ["avx1024", "", 3])
def test_unknown_variant_is_a_config_error_naming_the_choices(bad):
    with pytest.raises(ConfigError, match=r"^variant=.*choose one of"):
        kernels.use_variant(bad)


def test_bad_environment_variant_names_the_variable(monkeypatch):
    monkeypatch.setenv(kernels.VARIANT_ENV, "avx1024")
    kernels.use_variant(None)
    with pytest.raises(ConfigError, match=r"^RECPLUG_KERNELS='avx1024'"):
        kernels.build_info()


def every_kernel(rng_seed: int = 0) -> dict[str, np.ndarray]:
    """Outputs of every kernel on small random inputs (ties and excluded items included)."""
    rng = np.random.default_rng(rng_seed)
    n_users, n_items, d, k = 61, 530, 37, 7
    users = rng.standard_normal((n_users, d)).astype(np.float32)
    items = rng.standard_normal((n_items, d)).astype(np.float32)
    items[5] = items[6]  # exact ties
    bias = rng.standard_normal(n_items).astype(np.float32)
    counts = rng.integers(0, 40, size=n_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    pos = np.concatenate([np.sort(rng.choice(n_items, c, replace=False)) for c in counts]).astype(np.int32)
    excl = (indptr, pos)
    tgt_counts = rng.integers(1, 4, size=n_users)
    tgt_indptr = np.concatenate([[0], np.cumsum(tgt_counts)]).astype(np.int64)
    tgt = (tgt_indptr, rng.integers(0, n_items, size=int(tgt_indptr[-1])).astype(np.int32))
    priority = rng.permutation(n_items).astype(np.int32)
    out: dict[str, np.ndarray] = {}
    out["score_matrix"] = kernels.score_matrix(users, items, bias)
    for ties in ("random", "optimistic", "pessimistic"):
        ids, scores, boundary = kernels.fused_topk(users, items, k, exclude=excl, priority=priority, targets=tgt,
                                                   ties=ties, item_bias=bias)
        out[f"fused_{ties}"] = np.concatenate([ids.ravel().view(np.uint32), scores.ravel().view(np.uint32),
                                               boundary.ravel().astype(np.uint32)])
        ids2, _, _ = kernels.masked_topk(out["score_matrix"], k, exclude=excl, priority=priority, targets=tgt,
                                         ties=ties)
        out[f"masked_{ties}"] = ids2
    metrics = kernels.ranking_metrics(out["masked_random"], tgt, [1, 3, 7])
    for name, values in metrics.items():
        out[f"metric_{name}"] = values
    out["negatives"] = kernels.sample_negatives(np.repeat(np.arange(n_users, dtype=np.int32), 3), indptr, pos,
                                                n_items, 5, seed=3)
    out["negatives_norep"] = kernels.sample_negatives(np.arange(n_users, dtype=np.int32), indptr, pos, n_items, 9,
                                                      seed=4, replace=False)
    adj = kernels.bipartite_norm_adj(indptr, pos, n_items)
    out["adj_values"] = adj[2]
    dense = rng.standard_normal((n_users + n_items, 19)).astype(np.float32)
    out["spmm"] = kernels.csr_dense_matmul(*adj, dense)
    r_users = rng.integers(0, n_users, 400).astype(np.int32)
    r_items = rng.integers(0, n_items, 400).astype(np.int32)
    ratings = rng.uniform(1, 5, 400).astype(np.float32)
    state = {"user_bias": np.zeros(n_users), "item_bias": np.zeros(n_items),
             "user_factors": rng.standard_normal((n_users, 8)) * 0.1, "item_factors": rng.standard_normal((n_items, 8)) * 0.1}
    rates = {name: 0.01 for name in ("bu", "bi", "pu", "qi")}
    sse = kernels.svd_epoch(r_users, r_items, ratings, np.arange(400, dtype=np.int64), global_mean=3.0, biased=True,
                            lr=rates, reg=rates, **state)
    out["svd"] = np.concatenate([[sse], state["user_factors"].ravel(), state["item_bias"]])
    return out


@pytest.mark.skipif(not kernels.available() or len(kernels.variants()) < 2,
                    reason="only one kernel variant is built (RECPLUG_ISA_VARIANTS=OFF or not x86-64)")
def test_every_variant_gives_bit_identical_results():
    reference_variant = kernels.variants()[0]
    kernels.use_variant(reference_variant)
    reference = every_kernel()
    for variant in kernels.variants()[1:]:
        kernels.use_variant(variant)
        got = every_kernel()
        for name, expected in reference.items():
            assert got[name].dtype == expected.dtype, (variant, name)
            assert got[name].tobytes() == expected.tobytes(), f"{variant} differs from {reference_variant} in {name}"


def test_doctor_shows_the_variant_and_the_usable_cpus(monkeypatch):
    from typer.testing import CliRunner

    from recplug.cli.app import app
    from recplug.training.threads import usable_cpus

    last = kernels.variants()[-1]
    monkeypatch.setenv(kernels.VARIANT_ENV, last)
    monkeypatch.setenv("RECPLUG_THREADS", "1")
    kernels.use_variant(None)
    result = CliRunner().invoke(app, ["doctor"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"kernel variant  │ {last} (" in result.output
    assert f"usable by this process: {usable_cpus()}" in result.output
    assert "threads per job │ 1 (RECPLUG_THREADS=1)" in result.output
