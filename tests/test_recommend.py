"""recplug recommend: a user's list is the evaluator's top-K for that user (masking, tie
order, factor kernel), whatever the batch size; the files hold raw ids; saved models are
reused and refused for other data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from recplug import kernels
from recplug.cli.app import app
from recplug.contract import FitOptions, TrainData
from recplug.data import load_dataset
from recplug.data.synthetic import generate
from recplug.discovery import load_model_class
from recplug.errors import ConfigError
from recplug.evaluation import EvalConfig, evaluate
from recplug.evaluation.batches import make_batch
from recplug.evaluation.collector import tie_priority
from recplug.recommend import RecommendRequest, recommend, run_recommend, write_recommendations
from recplug.splits import make_split

runner = CliRunner()


def write_udata(path: Path, seed: int = 0, n_users: int = 50, n_items: int = 40, rows: int = 900,
                drop_item: int | None = None) -> Path:
    data = generate(n_users, n_items, rows, seed=seed)
    lines = [f"{u + 1000}\t{i + 7}\t5\t{t}" for u, i, t in zip(data.users, data.items, data.timestamps)
             if i != drop_item]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def data(tmp_path):
    return write_udata(tmp_path / "u.data")


def fitted(name: str, split, **params):
    cls, _ = load_model_class(name)
    model = cls(**params)
    model.fit(TrainData(split.train), FitOptions(seed=0, threads=1, validator=None))
    return model


def brute_force_topk(model, history, users, k, seed):
    """Full score matrix, history masked, ordered by (score desc, tie priority desc)."""
    indptr, items = history.sequences()
    scores = np.asarray(model.score(make_batch(users, indptr, items, history.n_items, "cpu")), dtype=np.float64)
    csr = history.csr()
    priority = tie_priority(history.n_items, seed)
    lists = []
    for row, user in enumerate(users):
        seen = set(csr.indices[csr.indptr[user]:csr.indptr[user + 1]].tolist())
        candidates = [i for i in range(history.n_items) if i not in seen]
        candidates.sort(key=lambda i: (-scores[row, i], -priority[i]))
        lists.append(candidates[:k])
    return lists


@pytest.mark.parametrize("name,params", [("ease", {}), ("pop", {}), ("bpr", {"epochs": 2, "factors": 8})])
def test_lists_are_the_evaluators_top_k(data, name, params):
    split = make_split(load_dataset(str(data)), "loo", seed=3)
    model = fitted(name, split, **params)
    history, users = split.history("test"), split.targets("test").users()
    batches = list(recommend(model, history, users, 10, seed=3, batch_size=7, threads=1))
    got_users = np.concatenate([b.users for b in batches])
    ids = np.concatenate([b.items for b in batches])
    assert got_users.tolist() == users.tolist()
    if name != "bpr":  # bpr ranks through the fused factor kernel: compared via the metrics below
        assert ids.tolist() == brute_force_topk(model, history, users, 10, seed=3)
    # the evaluator's per-user metrics come out of the same lists
    result = evaluate(model, split, "test", EvalConfig(ks=(10,), seed=3, batch_size=13, threads=1))
    targets = split.targets("test")
    metrics = kernels.ranking_metrics(ids, _target_rows(targets, users), (10,))
    np.testing.assert_allclose(metrics["ndcg"][0], result.per_user["NDCG@10"], rtol=1e-6)
    np.testing.assert_allclose(metrics["hr"][0], result.per_user["HR@10"], rtol=1e-6)


def _target_rows(targets, users):
    from recplug.evaluation.batches import csr_rows

    return csr_rows(targets.indptr.astype(np.int64), targets.items.astype(np.int32), users)


def test_lists_do_not_depend_on_batch_size_and_mask_the_history(data):
    split = make_split(load_dataset(str(data)), "loo", seed=0)
    model = fitted("ease", split)
    history, users = split.history("test"), split.targets("test").users()
    one = np.concatenate([b.items for b in recommend(model, history, users, 5, batch_size=1)])
    many = np.concatenate([b.items for b in recommend(model, history, users, 5, batch_size=1000)])
    assert one.tolist() == many.tolist()
    csr = history.csr()
    for row, user in enumerate(users):
        assert not set(one[row].tolist()) & set(csr.indices[csr.indptr[user]:csr.indptr[user + 1]].tolist())


def test_short_lists_are_padded_and_padding_is_not_written(tmp_path):
    path = tmp_path / "u.data"
    path.write_text("1\t10\t5\t1\n1\t11\t5\t2\n2\t10\t5\t3\n2\t12\t5\t4\n")
    dataset = load_dataset(str(path))
    cls, _ = load_model_class("pop")
    model = cls().fit(TrainData(dataset.interactions), FitOptions(seed=0))
    inter = dataset.interactions
    (batch,) = recommend(model, inter, np.arange(2), 3)
    assert (batch.items == -1).sum(axis=1).tolist() == [2, 2]  # 3 items, 2 seen each
    out = tmp_path / "r.csv"
    assert write_recommendations(iter([batch]), out, inter.user_vocab.ids, inter.item_vocab.ids) == 2
    frame = pd.read_csv(out)
    assert frame.to_dict("list") == {"user": [1, 2], "item": [12, 11], "rank": [1, 1], "score": [1.0, 1.0]}


def test_cli_writes_the_same_rows_in_every_format_with_raw_ids(data, tmp_path):
    frames = []
    for suffix in ("csv", "jsonl", "parquet"):
        out = tmp_path / f"recs.{suffix}"
        result = runner.invoke(app, ["recommend", "pop", "--dataset", str(data), "--k", "4", "--out", str(out),
                                     "--threads", "1"])
        assert result.exit_code == 0, result.output
        if suffix == "csv":
            frames.append(pd.read_csv(out))
        elif suffix == "jsonl":
            frames.append(pd.DataFrame([json.loads(line) for line in out.read_text().splitlines()]))
        else:
            frames.append(pd.read_parquet(out))
    for frame in frames[1:]:
        pd.testing.assert_frame_equal(frame.astype({"score": "float32", "rank": "int64"}),
                                      frames[0].astype({"score": "float32", "rank": "int64"}))
    first = frames[0]
    assert set(first["user"]) <= set(range(1000, 1050)) and set(first["item"]) <= set(range(7, 47))
    assert first.groupby("user")["rank"].apply(list).map(lambda r: r == [1, 2, 3, 4]).all()


def test_fit_all_recommends_to_every_user_and_saved_models_are_reused(data, tmp_path):
    saved = tmp_path / "saved"
    run_recommend(RecommendRequest(out=str(tmp_path / "a.csv"), dataset=str(data), model="ease",
                                   fit="all", k=5, threads=1, save_model=str(saved)))
    first = pd.read_csv(tmp_path / "a.csv")
    assert first["user"].nunique() == 50
    summary = run_recommend(RecommendRequest(out=str(tmp_path / "b.csv"), dataset=str(data),
                                             model_dir=str(saved), k=5, threads=1))
    assert summary.fit_seconds is None and summary.users == 50
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "b.csv"), first)
    other = write_udata(tmp_path / "other" / "u.data", drop_item=5)
    result = runner.invoke(app, ["recommend", "--model", str(saved), "--dataset", str(other),
                                 "--out", str(tmp_path / "c.csv")])
    assert result.exit_code == 1 and "another item vocabulary" in result.output


def test_eval_saved_model_recommends_what_a_fresh_fit_recommends(data, tmp_path):
    from recplug.runner import EvalRequest, run_eval

    run_eval(EvalRequest(models=["ease"], dataset=str(data), db=str(tmp_path / "r.sqlite"), threads=1,
                         save_model=str(tmp_path / "m"), seeds=[1]))
    fresh = run_recommend(RecommendRequest(out=str(tmp_path / "fresh.csv"), dataset=str(data), model="ease",
                                           seed=1, threads=1))
    reused = run_recommend(RecommendRequest(out=str(tmp_path / "reused.csv"), dataset=str(data),
                                            model_dir=str(tmp_path / "m" / "ease-seed1"), threads=1))
    assert fresh.users == reused.users
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "fresh.csv"), pd.read_csv(tmp_path / "reused.csv"))


@pytest.mark.parametrize("args,message", [
    (["pop", "--out", "r.txt"], "unknown output format"),
    (["pop", "--out", "r.csv", "--users", "all"], "--users 'all' goes with fit 'all'"),
    (["pop", "--out", "r.csv", "--k", "0"], "--k must be an integer >= 1"),
    (["--out", "r.csv"], "MODEL"),
    (["pop", "--out", "r.csv", "--fit", "most"], "--fit must be one of"),
])
def test_bad_options_are_one_clear_line_before_any_data(args, message, tmp_path):
    result = runner.invoke(app, ["recommend", *args, "--dataset", str(tmp_path / "missing")])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_library_errors_name_the_argument():
    with pytest.raises(ConfigError, match="^k must be"):
        next(recommend(None, None, np.arange(1), 0))
