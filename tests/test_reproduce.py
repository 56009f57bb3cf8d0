"""recplug reproduce: the catalogue is valid and says what can run here; an entry runs as
ordinary runs tagged with its id (reused when already stored) and is compared per seed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from recplug.cli.app import app
from recplug.data.synthetic import generate
from recplug.errors import ConfigError
from recplug.reproduce import TAG, Entry, compare, get_entry, load_catalogue, reproduce
from recplug.reproduce import catalogue as catalogue_module
from recplug.store import ResultStore

runner = CliRunner()


def write_udata(path: Path, n_users: int = 40, n_items: int = 30, rows: int = 700) -> Path:
    data = generate(n_users, n_items, rows, seed=1)
    rng = np.random.default_rng(0)
    stars = rng.integers(1, 6, len(data.users))
    lines = [f"{u}\t{i}\t{r}\t{t}" for u, i, r, t in zip(data.users, data.items, stars, data.timestamps)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_catalogue_holds_the_published_entries_and_what_can_run():
    entries = load_catalogue()
    svd = entries["surprise-ml100k-svd"]
    assert svd.published == {"RMSE": 0.934, "MAE": 0.737} and svd.split_params == {"folds": 5}
    assert entries["surprise-ml100k-svdpp"].published == {"RMSE": 0.919, "MAE": 0.721}
    assert entries["surprise-ml100k-baseline"].published == {"RMSE": 0.944, "MAE": 0.748}
    assert entries["sasrec-beauty-full"].published == {"NDCG@10": 0.0318, "HR@10": 0.0605}
    assert entries["sasrec-beauty-sampled100"].negatives == 100
    assert entries["lightgcn-gowalla"].published["Recall@20"] == 0.1824
    for entry in entries.values():
        assert entry.source and entry.url and entry.seeds
    assert entries["surprise-ml100k-svd"].availability() == "available"
    assert entries["multvae-ml20m"].availability().startswith("split not available")
    missing = Entry(id="x", model="no-such-model", dataset="demo", task="ranking", split="loo",
                    protocol="full", published={"NDCG@10": 0.1}, source="s", url="u")
    assert missing.availability().startswith("model not available")


def test_list_shows_every_entry_and_its_status():
    result = runner.invoke(app, ["reproduce", "--list"])
    assert result.exit_code == 0, result.output
    for entry_id in load_catalogue():
        assert entry_id in result.output
    assert "split not available" in result.output


def test_compare_uses_per_seed_means_and_the_seed_range():
    entry = Entry(id="e", model="m", dataset="d", task="rating", split="kfold", protocol="rating",
                  published={"RMSE": 0.93}, source="s", url="u")
    run = lambda seed, value: SimpleNamespace(spec=SimpleNamespace(seed=seed), metrics={"RMSE": value})  # noqa: E731
    (c,) = compare(entry, [run(0, 0.92), run(0, 0.94), run(1, 0.95), run(1, 0.95)])
    assert c.seed_values == pytest.approx([0.93, 0.95]) and c.ours == pytest.approx(0.94)
    assert c.difference == pytest.approx(0.01) and c.spread == pytest.approx((0.93, 0.95)) and c.inside
    (c,) = compare(entry, [run(0, 0.93004), run(1, 0.95)])  # above 0.93 but within its rounding
    assert c.inside
    rounded = Entry(id="e", model="m", dataset="d", task="rating", split="kfold", protocol="rating",
                    published={"RMSE": 0.93}, source="s", url="u", decimals=2)
    (c,) = compare(rounded, [run(0, 0.934), run(1, 0.95)])
    assert c.inside  # 0.93 stands for 0.925-0.935
    (c,) = compare(entry, [run(0, 0.934), run(1, 0.95)])
    assert c.inside is False
    (c,) = compare(entry, [run(0, 0.90)])
    assert c.inside is None and c.spread is None
    (c,) = compare(entry, [])
    assert c.ours is None and c.difference is None


def entries_file(tmp_path, data) -> Path:
    path = tmp_path / "catalogue.toml"
    path.write_text(f'''
[[entry]]
id = "tiny-pop"
model = "pop"
dataset = "{data}"
task = "ranking"
split = "loo"
protocol = "full"
seeds = [0, 1]
published = {{ "NDCG@10" = 0.05 }}
source = "test"
url = "https://example.org"

[[entry]]
id = "tiny-baseline"
model = "baseline"
dataset = "{data}"
task = "rating"
split = "kfold"
split_params = {{ folds = 3 }}
protocol = "rating"
refit = true
seeds = [0, 1]
published = {{ RMSE = 1.2 }}
source = "test"
url = "https://example.org"
''')
    return path


def test_an_entry_runs_as_tagged_runs_reused_the_next_time(tmp_path, monkeypatch):
    data = write_udata(tmp_path / "u.data")
    monkeypatch.setattr(catalogue_module, "CATALOGUE", entries_file(tmp_path, data))
    db = str(tmp_path / "r.sqlite")
    first = reproduce(get_entry("tiny-pop"), db=db, threads=1)
    assert len(first.run_ids) == 2 and not first.failed
    with ResultStore(db) as store:
        records = store.runs_tagged(TAG, "tiny-pop")
        assert [r.id for r in records] == first.run_ids
        manual = np.mean([r.metrics["NDCG@10"] for r in records])
    (c,) = first.comparisons
    assert c.ours == pytest.approx(manual) and len(c.seed_values) == 2
    again = reproduce(get_entry("tiny-pop"), db=db, threads=1)
    assert again.run_ids == first.run_ids  # already stored: reused, not rerun
    stored = reproduce(get_entry("tiny-pop"), db=db, run=False)
    assert stored.run_ids == first.run_ids and stored.comparisons[0].ours == pytest.approx(manual)


def test_a_kfold_entry_averages_each_seeds_folds(tmp_path, monkeypatch):
    data = write_udata(tmp_path / "u.data")
    monkeypatch.setattr(catalogue_module, "CATALOGUE", entries_file(tmp_path, data))
    db = str(tmp_path / "r.sqlite")
    result = reproduce(get_entry("tiny-baseline"), db=db, threads=1)
    assert len(result.run_ids) == 6
    with ResultStore(db) as store:
        by_seed = {}
        for r in store.runs_tagged(TAG, "tiny-baseline"):
            by_seed.setdefault(r.spec.seed, []).append(r.metrics["RMSE"])
    (c,) = result.comparisons
    assert c.seed_values == pytest.approx([np.mean(by_seed[0]), np.mean(by_seed[1])])
    cli = runner.invoke(app, ["reproduce", "tiny-baseline", "--db", db, "--stored"])
    assert cli.exit_code == 0 and "RMSE" in cli.output and f"{c.ours:.4f}" in cli.output


def test_cli_errors_are_one_line(tmp_path):
    unknown = runner.invoke(app, ["reproduce", "nope"])
    assert unknown.exit_code == 2 and "not in the catalogue" in unknown.output
    both = runner.invoke(app, ["reproduce", "surprise-ml100k-svd", "--list"])
    assert both.exit_code == 2 and "drop ENTRY" in both.output
    assert "name an ENTRY" in runner.invoke(app, ["reproduce"]).output
    cannot = runner.invoke(app, ["reproduce", "multvae-ml20m", "--db", str(tmp_path / "r.sqlite")])
    assert cannot.exit_code == 2 and "split not available" in cannot.output
    seeds = runner.invoke(app, ["reproduce", "surprise-ml100k-svd", "--seeds", "9"])
    assert seeds.exit_code == 2 and "--seeds must lie in 1..3" in seeds.output
    with pytest.raises(ConfigError, match="cannot run here"):
        reproduce(get_entry("multvae-ml20m"), db=str(tmp_path / "r.sqlite"))
