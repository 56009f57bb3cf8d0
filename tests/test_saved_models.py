"""Saved models: `eval --save-model` writes each fitted model with its card, `eval --model`
reuses it without fitting (same numbers), and a model saved for other data is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recplug.data import load_dataset
from recplug.data.synthetic import generate
from recplug.errors import ConfigError, ModelError
from recplug.runner import EvalRequest, run_eval
from recplug.saved_models import (CARD_FILE, MODEL_FILE, ModelCard, dataset_card, load_model,
                                  read_card, run_folder, save_model, vocabulary_digest)
from recplug.store import ResultStore


def write_udata(path: Path, seed: int = 0, n_users: int = 40, n_items: int = 30, rows: int = 600,
                drop_item: int | None = None) -> Path:
    data = generate(n_users, n_items, rows, seed=seed)
    users, items = data.user_vocab.ids[data.users], data.item_vocab.ids[data.items]
    lines = [f"{u}\t{i + 100}\t5\t{t}" for u, i, t in zip(users, items, data.timestamps) if i != drop_item]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def data(tmp_path):
    return write_udata(tmp_path / "u.data")


def request(data, tmp_path, **extra) -> EvalRequest:
    fields = dict(models=["pop", "ease"], dataset=str(data), db=str(tmp_path / "r.sqlite"), threads=1)
    fields.update(extra)
    return EvalRequest(**fields)


def test_save_then_reuse_gives_the_same_numbers_without_fitting(data, tmp_path):
    saved = tmp_path / "models"
    first = run_eval(request(data, tmp_path, save_model=str(saved), tags={"study": "s1"}))
    assert [o.status for o in first] == ["done", "done"]
    folder = run_folder(saved, "ease", 0)
    assert first[1].saved_model == str(folder)
    card = read_card(folder)
    assert card.model == "ease" and card.qualified_model == "recplug:ease"
    assert card.split == {"name": "loo", "params": card.split["params"], "seed": 0}
    assert card.fitted_on == "train" and card.run_id == first[1].run_id
    assert card.metrics["NDCG@10"] == pytest.approx(first[1].summary["NDCG@10"])
    assert card.hyperparameters["l2"] == 500.0 and card.versions["recplug"]
    dataset = load_dataset(str(data))
    assert card.dataset == dataset_card(dataset)
    # reuse it in another store: evaluated, not fitted; numbers identical
    again = run_eval(EvalRequest(models=[], model_dirs=[str(folder)], dataset=str(data),
                                 db=str(tmp_path / "other.sqlite"), threads=1))
    (outcome,) = again
    assert outcome.status == "done" and outcome.fit_seconds is None
    assert outcome.training == {"loaded_from": str(folder)}
    for name, value in first[1].summary.items():
        assert outcome.summary[name] == pytest.approx(value, abs=1e-12), name
    with ResultStore(tmp_path / "other.sqlite") as store:
        assert store.run_tags(outcome.run_id) == {"model_dir": str(folder)}
        assert store.run(outcome.run_id).config_key == card.config_key
    with ResultStore(tmp_path / "r.sqlite") as store:
        assert [r.spec.model for r in store.runs_tagged("study", "s1")] == ["recplug:pop", "recplug:ease"]


def test_save_model_refits_a_run_already_in_the_store_once(data, tmp_path):
    run_eval(request(data, tmp_path, models=["pop"]))
    saved = tmp_path / "models"
    (outcome,) = run_eval(request(data, tmp_path, models=["pop"], save_model=str(saved)))
    assert outcome.status == "done" and (run_folder(saved, "pop", 0) / MODEL_FILE).is_file()
    (outcome,) = run_eval(request(data, tmp_path, models=["pop"], save_model=str(saved)))
    assert outcome.status == "skipped" and outcome.saved_model == str(run_folder(saved, "pop", 0))


def test_a_model_saved_for_other_data_is_refused(data, tmp_path):
    saved = tmp_path / "models"
    run_eval(request(data, tmp_path, models=["ease"], save_model=str(saved)))
    folder = run_folder(saved, "ease", 0)
    other = write_udata(tmp_path / "other" / "u.data", drop_item=3)
    with pytest.raises(ModelError, match="fitted on dataset"):
        run_eval(EvalRequest(models=[], model_dirs=[str(folder)], dataset=str(other),
                             db=str(tmp_path / "r.sqlite")))
    with pytest.raises(ModelError, match="another item vocabulary"):
        load_model(folder, interactions=load_dataset(str(other)).interactions)
    model, card = load_model(folder, interactions=load_dataset(str(data)).interactions)
    assert card.model == "ease" and model.get_params()["l2"] == 500.0


def test_saved_model_requests_are_checked_before_any_work(data, tmp_path):
    saved = tmp_path / "models"
    run_eval(request(data, tmp_path, models=["pop"], save_model=str(saved)))
    folder = str(run_folder(saved, "pop", 0))
    with pytest.raises(ConfigError, match="not both"):
        run_eval(request(data, tmp_path, models=["pop"], model_dirs=[folder]))
    with pytest.raises(ConfigError, match="split 'loo', not 'ratio'"):
        run_eval(request(data, tmp_path, models=[], model_dirs=[folder], split="ratio"))
    with pytest.raises(ModelError, match="no saved model"):
        run_eval(request(data, tmp_path, models=[], model_dirs=[str(tmp_path / "nothing")]))
    with pytest.raises(ConfigError, match="tags"):
        run_eval(request(data, tmp_path, tags={"": "x"}))


def test_card_round_trip_and_damaged_cards(tmp_path):
    card = ModelCard(model="m", qualified_model=None, model_class="x:Y", hyperparameters={"a": 1},
                     dataset={"name": "d"}, split={"name": "loo", "params": {}, "seed": 3},
                     fitted_on="train")
    assert ModelCard.from_json(card.to_json(), tmp_path) == card and card.seed == 3 and card.fold is None
    with pytest.raises(ModelError, match="not a recplug model card"):
        ModelCard.from_json(json.dumps({"format": "other"}), tmp_path)
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelCard.from_json("{", tmp_path)


def test_vocabulary_digest_tells_ids_apart():
    assert vocabulary_digest(np.array([1, 2, 3])) == vocabulary_digest(np.array([1, 2, 3]))
    assert vocabulary_digest(np.array([1, 2, 3])) != vocabulary_digest(np.array([1, 3, 2]))
    assert vocabulary_digest(np.array([1, 2])) != vocabulary_digest(np.array(["1", "2"]))


def test_save_model_replaces_an_older_save(tmp_path, data):
    saved = tmp_path / "models"
    run_eval(request(data, tmp_path, models=["pop"], save_model=str(saved)))
    folder = run_folder(saved, "pop", 0)
    model, card = load_model(folder)
    card.metrics = {"x": 1.0}
    save_model(model, folder, card)
    assert read_card(folder).metrics == {"x": 1.0} and (folder / CARD_FILE).is_file()


def test_cli_save_and_reuse(data, tmp_path):
    from typer.testing import CliRunner

    from recplug.cli.app import app

    cli = CliRunner()
    db, saved = str(tmp_path / "r.sqlite"), str(tmp_path / "m")
    first = cli.invoke(app, ["eval", "pop", "--dataset", str(data), "--db", db, "--save-model", saved,
                             "--tag", "batch=1", "--threads", "1"])
    assert first.exit_code == 0, first.output
    folder = str(run_folder(saved, "pop", 0))
    again = cli.invoke(app, ["eval", "--model", folder, "--dataset", str(data), "--db", str(tmp_path / "o.sqlite")])
    assert again.exit_code == 0 and "reused" in again.output and "pop" in again.output
    for args, message in [(["--model", folder, "--seed", "1"], "--model DIR runs on the seed in its card"),
                          (["pop", "--model", folder], "--model DIR evaluates a saved model"),
                          (["--model", folder, "--split", "ratio"], "--model: "),
                          (["pop", "--tag", "novalue"], "--tag takes key=value")]:
        result = cli.invoke(app, ["eval", *args, "--dataset", str(data), "--db", db])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    with ResultStore(db) as store:
        assert [r.spec.model for r in store.runs_tagged("batch", "1")] == ["recplug:pop"]
