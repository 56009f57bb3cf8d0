"""The gru4rec and bert4rec training benchmarks: their straight modules load, train one epoch
on small Beauty-shaped data, and the harness times both sides."""

from __future__ import annotations

import numpy as np
import pytest

from recplug.bench import straight
from recplug.bench.straight._sequences import beauty_shaped
from recplug.bench.train import run


def test_beauty_shaped_data():
    train = beauty_shaped(n_users=300, n_items=200, interactions=3000, seed=1)
    lengths = np.diff(train.seq_indptr)
    assert train.n_users == 300 and train.n_items == 200 and lengths.min() >= 5 and lengths.max() <= 200
    assert abs(len(train) - 3000) < 600
    np.testing.assert_array_equal(train.seq_items, beauty_shaped(n_users=300, n_items=200, interactions=3000,
                                                                 seed=1).seq_items)


@pytest.mark.parametrize("name,params", [
    ("gru4rec", {"hidden": 8, "n_sample": 16}),
    ("bert4rec", {"hidden": 8, "max_len": 12}),
])
def test_harness_times_ours_and_the_straight_epoch(name, params):
    module = straight.load(name)
    assert module.target == 2.0 and name in straight.available()
    data = beauty_shaped(n_users=120, n_items=80, interactions=900)
    (row,) = run(name, repeats=1, threads=1, data=data, params=params)
    assert row.ours_s > 0 and row.alternative_s > 0 and row.kernel == f"{name} epoch"


@pytest.mark.parametrize("name", ["gru4rec", "bert4rec"])
def test_main_prints_the_row(name, capsys, monkeypatch):
    import importlib

    module = importlib.import_module(f"recplug.bench.straight.{name}")
    small = {"gru4rec": {"hidden": 8, "n_sample": 16}, "bert4rec": {"hidden": 8, "max_len": 12}}[name]
    monkeypatch.setattr(module, "PARAMS", {**getattr(module, "PARAMS", {}), **small}, raising=False)
    module.main(data=beauty_shaped(n_users=100, n_items=60, interactions=700))
    assert f"'kernel': '{name} epoch'" in capsys.readouterr().out
