"""The runner hands the item table to models that declare they read item features, and only
to them; the table's content is part of such a run's identity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.runner import EvalRequest, run_eval
from recplug.store import ResultStore


class SeesItems(Model):
    """Scores items by the length of their title; records what fit received."""

    recplug_api = 1
    tags = Tags(needs_item_features=True)
    seen: list = []

    def fit(self, train: TrainData, options: FitOptions) -> "SeesItems":
        SeesItems.seen.append(train.items)
        if train.items is None:
            raise RuntimeError("no item table")
        self.scores_ = np.array([len(t or "") for t in train.items.fields["title"].values], np.float32)
        return self

    def score(self, batch: ScoreBatch) -> np.ndarray:
        return np.tile(self.scores_, (len(batch), 1))


class Blind(SeesItems):
    tags = Tags()

    def fit(self, train: TrainData, options: FitOptions) -> "Blind":
        SeesItems.seen.append(train.items)
        self.scores_ = np.zeros(train.n_items, np.float32)
        return self


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "ml-mini"
    folder.mkdir()
    rng = np.random.default_rng(0)
    rows = [f"{u}\t{i}\t{rng.integers(1, 6)}\t{10 * u + k}"
            for u in range(1, 31) for k, i in enumerate(rng.choice(np.arange(1, 21), 6, replace=False))]
    (folder / "u.data").write_text("\n".join(rows) + "\n")
    flags = "|".join("0" * 19)
    (folder / "u.item").write_text("".join(f"{i}|Movie {'x' * i} (1995)|01-Jan-1995|||{flags}\n"
                                           for i in range(1, 21)), encoding="latin-1")
    return folder


@pytest.fixture(autouse=True)
def models(register_models):
    register_models({"sees-items": SeesItems, "blind": Blind})
    SeesItems.seen.clear()


def test_a_model_that_reads_item_features_gets_the_table_and_others_do_not(folder, tmp_path):
    db = tmp_path / "r.sqlite"
    outcomes = run_eval(EvalRequest(models=["sees-items", "blind"], dataset=str(folder), db=str(db),
                                    device="cpu", threads=1))
    assert [o.status for o in outcomes] == ["done", "done"]
    table, blind = SeesItems.seen
    assert table is not None and table.n_items == 20 and blind is None
    with ResultStore(db) as store:
        specs = {r.spec.model: r.spec.training for r in store.runs()}
    assert specs["tests:sees-items"]["item_features"] == table.fingerprint()
    assert "item_features" not in specs["tests:blind"]


def test_changed_item_content_is_another_run(folder, tmp_path):
    db = tmp_path / "r.sqlite"
    request = EvalRequest(models=["sees-items"], dataset=str(folder), db=str(db), device="cpu", threads=1)
    assert run_eval(request)[0].status == "done"
    assert run_eval(request)[0].status == "skipped"
    text = (folder / "u.item").read_text(encoding="latin-1").replace("Movie x ", "Film y ")
    (folder / "u.item").write_text(text, encoding="latin-1")
    assert run_eval(request)[0].status == "done"
