"""The built-in demo dataset: generated deterministically, no download, every split works,
and `recplug eval pop ease bpr --dataset demo` runs end to end with no network and an empty
data directory."""

from __future__ import annotations

import socket

import numpy as np
import pytest
from typer.testing import CliRunner

from recplug.cli.app import app
from recplug.data import load_dataset
from recplug.data import demo as demo_module
from recplug.data.registry import REGISTRY, find_local
from recplug.splits import make_split

runner = CliRunner()


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No network, an empty RECPLUG_DATA_DIR and an empty cache."""
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv("RECPLUG_DATA_DIR", str(empty))
    monkeypatch.setenv("RECPLUG_CACHE_DIR", str(tmp_path / "cache"))

    def refuse(*args, **kwargs):
        raise AssertionError("the demo dataset must never touch the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    from recplug.data import download

    monkeypatch.setattr(download, "fetch", refuse)
    return tmp_path


def test_demo_is_generated_once_the_same_everywhere(offline):
    first = load_dataset("demo")
    path = demo_module.demo_path(create=False)
    assert path.is_file() and path == offline / "cache" / "demo" / f"v{demo_module.VERSION}" / "demo.inter"
    content = path.read_bytes()
    path.unlink()
    second = load_dataset("demo")
    assert path.read_bytes() == content and second.fingerprint() == first.fingerprint()
    inter = first.interactions
    assert (inter.n_users, inter.n_items, len(inter)) == (2500, 1200, 56093)
    assert first.report["duplicates"] == 0
    assert set(np.unique(inter.ratings).tolist()) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert np.all(np.diff(inter.timestamps) >= 0)
    assert inter.user_vocab.ids[0].startswith("u") and inter.item_vocab.ids[0].startswith("i")
    counts = np.sort(np.bincount(inter.items))[::-1]
    assert counts[0] > 10 * np.median(counts) / 2  # a popularity long tail


def test_demo_is_registered_as_built_in(offline):
    spec = REGISTRY["demo"]
    assert spec.builtin and spec.remote == ()
    where, _ = find_local(spec)
    assert where == "built-in"
    listing = runner.invoke(app, ["datasets", "list"])
    assert listing.exit_code == 0 and "demo" in listing.output


def test_every_split_works_on_demo(offline):
    dataset = load_dataset("demo")
    for split, params in [("loo", {}), ("temporal", {}), ("temporal-user", {}), ("ratio", {}),
                          ("kfold", {"folds": 5}), ("cold-items", {})]:
        made = make_split(dataset, split, seed=0, **params)
        assert len(made.targets("test").users()) > 100, split


def test_eval_runs_end_to_end_offline_and_prints_a_leaderboard(offline):
    db = offline / "r.sqlite"
    result = runner.invoke(app, ["eval", "pop", "ease", "bpr", "--dataset", "demo", "--set", "bpr.epochs=2",
                                 "--threads", "1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    for line in ("Leaderboard", "pop", "ease", "bpr", "NDCG@10"):
        assert line in result.output
