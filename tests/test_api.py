"""The Python API: recplug.evaluate for plugin names, unregistered classes and instances
(stored, ranked, per-user metrics), Leaderboard.from_store as the CLI's table and a
DataFrame, and the README's Python API example, run as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import recplug
from recplug.contract import Model, Tags
from recplug.data.synthetic import generate
from recplug.errors import ConfigError
from recplug.runner import local_plugin_info
from recplug.store import ResultStore

README = Path(__file__).resolve().parents[1] / "README.md"


class Counts(Model):
    """Items by interaction count, scaled by ``power`` (a prototype: no entry point)."""

    tags = Tags(iterative=False)

    def __init__(self, power: float = 1.0):
        self.power = power

    def fit(self, train, options):
        self.counts_ = np.bincount(train.csr.indices, minlength=train.n_items).astype(np.float32) ** self.power
        return self

    def score(self, batch):
        return np.repeat(self.counts_[None, :], len(batch), axis=0)


class CountsEdited(Counts):
    def fit(self, train, options):  # same scores, other source
        super().fit(train, options)
        return self


@pytest.fixture
def data(tmp_path):
    inter = generate(40, 30, 600, seed=0)
    path = tmp_path / "u.data"
    path.write_text("\n".join(f"{u}\t{i}\t5\t{t}" for u, i, t in zip(inter.users, inter.items, inter.timestamps)))
    return str(path)


def test_an_unregistered_instance_is_evaluated_stored_and_ranked(data, tmp_path):
    db = tmp_path / "r.sqlite"
    result = recplug.evaluate(Counts(power=0.5), data, seeds=2, store=db, name="counts", threads=1)
    assert [o.status for o in result.outcomes] == ["done", "done"] and not result.failed
    summary = result.summary
    assert summary["model"].tolist() == ["local:counts"] * 2 and summary["seed"].tolist() == [0, 1]
    assert summary["hyperparameters"].tolist() == ['{"power": 0.5}'] * 2
    per_user = result.per_user()
    users, values = result.runs[0].per_user()
    first = per_user[per_user["run_id"] == result.runs[0].id]
    assert first["user"].tolist() == users.tolist()
    np.testing.assert_allclose(first["NDCG@10"], values["NDCG@10"])
    pop = recplug.evaluate("pop", data, seeds=[0, 1], store=db, threads=1)
    board = recplug.Leaderboard.from_store(result.runs[0].spec.dataset, "loo", store=db)
    assert {row.model for row in board.rows} == {"local:counts", "recplug:pop"}
    assert board.metrics == ["NDCG@10", "Recall@10", "HR@10", "MRR@10"]
    frame = board.to_frame()
    assert set(frame["qualified_model"]) == {"local:counts", "recplug:pop"}
    # the same scores (count ** 0.5 ranks as count): equal numbers, like pop
    own = result.to_leaderboard(metrics=["NDCG@10"])
    assert own.rows[0].cells["NDCG@10"].mean == pytest.approx(pop.to_leaderboard(metrics=["NDCG@10"]).rows[0]
                                                              .cells["NDCG@10"].mean)
    assert "local:counts" in board.render("json")


def test_a_class_is_a_new_configuration_when_its_source_changes(data, tmp_path):
    assert local_plugin_info("c", Counts).version != local_plugin_info("c", CountsEdited).version
    db = tmp_path / "r.sqlite"
    first = recplug.evaluate(Counts, data, store=db, threads=1)
    assert first.runs[0].spec.model == "local:counts"
    again = recplug.evaluate(Counts, data, store=db, threads=1)
    assert again.outcomes[0].status == "skipped"
    edited = recplug.evaluate(CountsEdited, data, store=db, name="counts", threads=1)
    assert edited.outcomes[0].status == "done"


def test_a_registered_class_keeps_its_plugin_name(data, tmp_path):
    from recplug.models.baselines.pop import Popularity

    result = recplug.evaluate(Popularity, data, store=tmp_path / "r.sqlite", threads=1)
    assert result.runs[0].spec.model == "recplug:pop"


def test_bad_arguments_name_the_argument(data, tmp_path):
    with pytest.raises(ConfigError, match="^name must be"):
        recplug.evaluate(Counts, data, name="my.model", store=tmp_path / "r.sqlite")
    with pytest.raises(ConfigError, match="^name renames"):
        recplug.evaluate("pop", data, name="other", store=tmp_path / "r.sqlite")
    with pytest.raises(ConfigError, match="^dataset must be a registry name"):
        recplug.evaluate("pop", object(), store=tmp_path / "r.sqlite")
    with pytest.raises(ConfigError, match="^seeds"):
        recplug.evaluate("pop", data, seeds=0, store=tmp_path / "r.sqlite")


def readme_example() -> str:
    text = README.read_text()
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's Python API section has no python example"
    return match.group(1)


def test_readme_python_api_example_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RECPLUG_CACHE_DIR", str(tmp_path / "cache"))
    exec(compile(readme_example(), "README.md (Python API)", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert "recentpop" in printed and "NDCG@10" in printed
    with ResultStore(tmp_path / "results.sqlite", readonly=True) as store:
        assert {r.spec.model for r in store.runs()} == {"local:recentpop", "recplug:pop"}
