"""recplug bench rating: both sides cross-validate the same folds and report time and RMSE;
without scikit-surprise the bench says so."""

from __future__ import annotations

import math
import re

import pytest

from recplug.bench import rating
from recplug.testing.data import tiny_interactions


@pytest.fixture()
def data():
    return tiny_interactions(n_users=40, n_items=30)


def test_without_surprise_only_our_times_are_shown(monkeypatch, data):
    monkeypatch.setattr(rating, "surprise_version", lambda: None)
    rows, note = rating.run(1, ("svd",), data=data)
    assert note == rating.NOT_INSTALLED and "pip install 'recplug[bench]'" in note
    (row,) = rows
    assert row.alternative == "scikit-surprise (not installed)" and math.isnan(row.alternative_s)
    assert row.ours_s > 0 and 0 < row.ours_rmse < 2 and math.isnan(row.alternative_rmse)
    assert not row.met and row.target == 3.0


def test_with_surprise_both_sides_run_the_same_folds(data):
    pytest.importorskip("surprise")
    rows, note = rating.run(1, ("svd", "svdpp"), data=data)
    assert note is None
    for row, target in zip(rows, (3.0, 5.0)):
        assert row.alternative.startswith("scikit-surprise ") and row.alternative_s > 0 and row.target == target
        # same folds, same defaults: the two RMSEs are close (different random streams)
        assert abs(row.ours_rmse - row.alternative_rmse) < 0.15, row


def test_synthetic_ratings_have_the_ml_100k_shape():
    data = rating.synthetic_ratings()
    assert (data.n_users, data.n_items, len(data)) == rating.SHAPE
    assert data.ratings.min() == 1 and data.ratings.max() == 5


def test_the_command_prints_both_rmses_or_says_surprise_is_missing(monkeypatch, data):
    from typer.testing import CliRunner

    from recplug.cli.app import app

    monkeypatch.setattr(rating, "bench_data", lambda: (data, "tiny"))
    monkeypatch.setattr(rating, "surprise_version", lambda: None)
    result = CliRunner().invoke(app, ["bench", "rating"])
    assert result.exit_code == 0, result.output
    assert re.search(r"^svd mean test RMSE over the folds: recplug \d\.\d{4}$", result.output, re.M)
    assert re.search(r"^svdpp mean test RMSE over the folds: recplug \d\.\d{4}$", result.output, re.M)
    assert "scikit-surprise is not installed (pip install 'recplug[bench]')" in result.output


def test_the_command_refuses_zero_repeats():
    from typer.testing import CliRunner

    from recplug.cli.app import app

    result = CliRunner().invoke(app, ["bench", "rating", "--repeats", "0"])
    assert result.exit_code == 2 and "--repeats must be >= 1" in result.stderr
    assert "Traceback" not in result.output
