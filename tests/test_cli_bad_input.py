"""The bad-input table: every bad invocation gives one ``error:`` line on stderr that names
the option, argument or file, the documented exit code, no traceback, and no store.

Exit codes (README): 2 usage, 3 kernels, 4 data, 5 plugin, 6 store, 1 other.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recplug.cli.app import app

USAGE, DATA, PLUGIN, STORE, OTHER = 2, 4, 5, 6, 1

# (id, arguments, exit code, words the message must contain (case-insensitive)).
# Placeholders: {data} a good u.data, {bad} a malformed u.data, {csv} a table with a header,
# {lines} a per-user line file (no ratings, no timestamps), {dir} an existing folder,
# {file} an existing plain file, {db} a store path that must stay absent.
EVAL = ["eval", "--dataset", "{data}", "--db", "{db}"]
CASES = [
    # --set values of each type, unknown names
    ("set-lr-abc", [*EVAL, "bpr", "--set", "lr=abc"], USAGE, ["lr", "> 0"]),
    ("set-factors-string", [*EVAL, "bpr", "--set", 'factors="abc"'], USAGE, ["factors", "integer"]),
    ("set-k-list", [*EVAL, "itemknn", "--set", "k=[10,20]"], USAGE, ["k=[10, 20]", "integer"]),
    ("set-lr-negative", [*EVAL, "bpr", "--set", "lr=-1"], USAGE, ["lr=-1", "> 0"]),
    ("set-factors-zero", [*EVAL, "bpr", "--set", "factors=0"], USAGE, ["factors", ">= 1"]),
    ("set-factors-float", [*EVAL, "bpr", "--set", "factors=1.5"], USAGE, ["factors", "integer"]),
    ("set-epochs-bool", [*EVAL, "bpr", "--set", "epochs=true"], USAGE, ["epochs"]),
    ("set-l2-string", [*EVAL, "ease", "--set", "l2=abc"], USAGE, ["l2"]),
    ("set-shrink-null", [*EVAL, "itemknn", "--set", "shrink=null"], USAGE, ["shrink"]),
    ("set-no-equals", [*EVAL, "bpr", "--set", "nonsense"], USAGE, ["--set", "key=value"]),
    ("set-bad-name", [*EVAL, "bpr", "--set", "1abc=3"], USAGE, ["--set", "hyperparameter name"]),
    ("set-unknown-scoped", [*EVAL, "bpr", "--set", "bpr.nope=1"], USAGE, ["nope", "factors"]),
    ("set-unknown-unscoped", [*EVAL, "pop", "bpr", "--set", "nope=1"], USAGE, ["nope"]),
    ("set-pop-has-none", [*EVAL, "pop", "--set", "pop.x=1"], USAGE, ["pop", "'x'"]),
    ("unknown-model", [*EVAL, "no-such-model"], PLUGIN, ["no-such-model"]),
    ("unknown-dist", [*EVAL, "nodist:pop"], PLUGIN, ["nodist:pop"]),
    ("no-model", [*EVAL], USAGE, ["models"]),
    # training options
    ("epochs-zero", [*EVAL, "bpr", "--epochs", "0"], USAGE, ["--epochs", ">= 1"]),
    ("epochs-negative", [*EVAL, "bpr", "--epochs", "-3"], USAGE, ["--epochs", ">= 1"]),
    ("epochs-abc", [*EVAL, "bpr", "--epochs", "abc"], USAGE, ["--epochs"]),
    ("patience-negative", [*EVAL, "bpr", "--patience", "-1"], USAGE, ["--patience", ">= 1"]),
    ("patience-zero", [*EVAL, "bpr", "--patience", "0"], USAGE, ["--patience", ">= 1"]),
    ("valid-metric-unknown", [*EVAL, "bpr", "--valid-metric", "XYZ@10"], USAGE, ["--valid-metric", "NDCG@10"]),
    ("valid-metric-no-k", [*EVAL, "bpr", "--valid-metric", "NDCG"], USAGE, ["--valid-metric", "NAME@K"]),
    ("valid-metric-k-zero", [*EVAL, "bpr", "--valid-metric", "NDCG@0"], USAGE, ["--valid-metric", "K >= 1"]),
    ("refit-with-value", [*EVAL, "bpr", "--refit=yes"], USAGE, ["--refit"]),
    # evaluation options
    ("threads-negative", [*EVAL, "pop", "--threads", "-1"], USAGE, ["--threads", ">= 0"]),
    ("threads-abc", [*EVAL, "pop", "--threads", "abc"], USAGE, ["--threads"]),
    ("batch-size-zero", [*EVAL, "pop", "--batch-size", "0"], USAGE, ["--batch-size", ">= 1"]),
    ("batch-size-negative", [*EVAL, "pop", "--batch-size", "-4"], USAGE, ["--batch-size", ">= 1"]),
    ("k-zero", [*EVAL, "pop", "--k", "0"], USAGE, ["--k", "positive"]),
    ("k-negative", [*EVAL, "pop", "--k", "5,-1"], USAGE, ["--k", "positive"]),
    ("k-abc", [*EVAL, "pop", "--k", "abc"], USAGE, ["--k", "integers"]),
    ("k-empty", [*EVAL, "pop", "--k", ","], USAGE, ["--k", "integers"]),
    ("metrics-bogus", [*EVAL, "pop", "--metrics", "bogus"], USAGE, ["--metrics", "bogus", "ndcg"]),
    ("metrics-at-k", [*EVAL, "pop", "--metrics", "ndcg@10"], USAGE, ["--metrics", "ndcg@10"]),
    ("ties-bogus", [*EVAL, "pop", "--ties", "bogus"], USAGE, ["--ties", "pessimistic"]),
    ("sampler-bogus", [*EVAL, "pop", "--negatives", "10", "--sampler", "bogus"], USAGE, ["--sampler", "uniform"]),
    ("negatives-zero", [*EVAL, "pop", "--negatives", "0"], USAGE, ["--negatives", ">= 1"]),
    ("negatives-negative", [*EVAL, "pop", "--negatives", "-5"], USAGE, ["--negatives", ">= 1"]),
    ("seeds-zero", [*EVAL, "pop", "--seeds", "0"], USAGE, ["--seeds", ">= 1"]),
    ("seeds-negative", [*EVAL, "pop", "--seeds", "-2"], USAGE, ["--seeds", ">= 1"]),
    ("seed-negative", [*EVAL, "pop", "--seed", "-1"], USAGE, ["--seed", ">= 0"]),
    ("seed-abc", [*EVAL, "pop", "--seed", "abc"], USAGE, ["--seed"]),
    ("out-unknown-suffix", [*EVAL, "pop", "--out", "results.xyz"], USAGE, ["--out", ".md"]),
    ("out-no-suffix", [*EVAL, "pop", "--out", "results"], USAGE, ["--out", ".json"]),
    ("unknown-option", [*EVAL, "pop", "--bogus"], USAGE, ["--bogus"]),
    # splits and devices
    ("split-bogus", [*EVAL, "pop", "--split", "bogus"], USAGE, ["--split", "loo"]),
    ("target-on-loo", [*EVAL, "pop", "--target", "next"], USAGE, ["--target", "temporal"]),
    ("target-bogus", [*EVAL, "pop", "--split", "temporal", "--target", "bogus"], USAGE, ["target", "next"]),
    ("device-cuda", [*EVAL, "bpr", "--device", "cuda"], USAGE, ["cuda", "cpu"]),
    ("device-cuda-unsupported", [*EVAL, "pop", "--device", "cuda"], USAGE, ["cuda", "supports_cuda"]),
    ("device-cuda-1", [*EVAL, "bpr", "--device", "cuda:1"], USAGE, ["cuda:1"]),
    ("device-bogus", [*EVAL, "pop", "--device", "tpu"], USAGE, ["--device", "cpu"]),
    ("device-cuda-x", [*EVAL, "pop", "--device", "cuda:x"], USAGE, ["--device", "cuda:N"]),
    # the rating task (baseline: a rating model; pop: a ranking one)
    ("task-bogus", [*EVAL, "pop", "--task", "bogus"], USAGE, ["--task", "ranking, rating", "bogus"]),
    ("task-bogus-kfold", [*EVAL, "baseline", "--task", "bogus", "--split", "kfold"], USAGE, ["--task", "bogus"]),
    ("task-rating-ranking-model", [*EVAL, "pop", "--task", "rating"], USAGE, ["--task", "pop", "ranking model"]),
    ("kfold-without-task-rating", [*EVAL, "baseline", "--split", "kfold"], USAGE, ["--split kfold", "--task rating"]),
    ("folds-one", [*EVAL, "baseline", "--task", "rating", "--split", "kfold", "--folds", "1"], USAGE, ["--folds", ">= 2"]),
    ("folds-zero", [*EVAL, "baseline", "--task", "rating", "--split", "kfold", "--folds", "0"], USAGE, ["--folds", ">= 2"]),
    ("folds-abc", [*EVAL, "baseline", "--task", "rating", "--split", "kfold", "--folds", "abc"], USAGE, ["--folds"]),
    ("folds-without-kfold", [*EVAL, "baseline", "--task", "rating", "--folds", "3"], USAGE, ["--folds", "kfold"]),
    ("rating-valid-metric", [*EVAL, "baseline", "--task", "rating", "--valid-metric", "NDCG@10"], USAGE,
     ["--valid-metric", "RMSE"]),
    ("rating-negatives", [*EVAL, "baseline", "--task", "rating", "--negatives", "10"], USAGE, ["--negatives", "rating"]),
    ("rating-ties", [*EVAL, "baseline", "--task", "rating", "--ties", "pessimistic"], USAGE,
     ["--ties applies to --task ranking", "drop it"]),
    ("rating-k-metrics", [*EVAL, "baseline", "--task", "rating", "--k", "10", "--metrics", "ndcg"], USAGE,
     ["--k, --metrics apply to --task ranking", "RMSE"]),
    ("kfold-no-ratings", ["eval", "baseline", "--dataset", "{lines}", "--task", "rating", "--split", "kfold",
                          "--db", "{db}"], DATA, ["needs ratings", "seq", "rating=COL"]),
    ("rating-ratio-no-ratings", ["eval", "baseline", "--dataset", "{lines}", "--task", "rating", "--split", "ratio",
                                 "--db", "{db}"], DATA, ["task 'rating' needs ratings"]),
    # data options on eval
    ("eval-missing-file", ["eval", "pop", "--dataset", "{dir}/nope.csv", "--db", "{db}"], DATA, ["nope.csv"]),
    ("eval-unknown-name", ["eval", "pop", "--dataset", "no-such-set", "--db", "{db}"], DATA, ["no-such-set", "ml-100k"]),
    ("eval-offline-unknown", ["eval", "pop", "--dataset", "no-such-set", "--offline", "--db", "{db}"], DATA, ["no-such-set"]),
    ("eval-columns-bad", [*EVAL, "pop", "--columns", "user"], USAGE, ["--columns", "role=column"]),
    ("eval-columns-role", [*EVAL, "pop", "--columns", "user=u,item=i,color=c"], USAGE, ["--columns", "color"]),
    ("eval-columns-no-user", [*EVAL, "pop", "--columns", "item=i"], USAGE, ["--columns", "user"]),
    ("eval-min-rating-abc", [*EVAL, "pop", "--min-rating", "abc"], USAGE, ["--min-rating"]),
    ("eval-min-rating-nan", [*EVAL, "pop", "--min-rating", "nan"], USAGE, ["--min-rating", "finite"]),
    ("eval-kcore-zero", [*EVAL, "pop", "--kcore", "0"], USAGE, ["--kcore", ">= 1"]),
    ("eval-kcore-abc", [*EVAL, "pop", "--kcore", "abc"], USAGE, ["--kcore"]),
    ("eval-format-bogus", [*EVAL, "pop", "--format", "bogus"], USAGE, ["--format", "grouplens-tab"]),
    # the store
    ("db-folder", ["eval", "pop", "--dataset", "{data}", "--db", "{dir}"], STORE, ["folder", "--db"]),
    ("db-under-a-file", ["eval", "pop", "--dataset", "{data}", "--db", "{file}/r.sqlite"], STORE, ["--db"]),
    # datasets info
    ("info-missing-file", ["datasets", "info", "{dir}/nope.csv"], DATA, ["nope.csv"]),
    ("info-unknown-name", ["datasets", "info", "no-such-set"], DATA, ["no-such-set"]),
    ("info-offline-unknown", ["datasets", "info", "no-such-set", "--offline"], DATA, ["no-such-set"]),
    ("info-malformed", ["datasets", "info", "{bad}"], DATA, ["bad.data", "line"]),
    ("info-columns-bad", ["datasets", "info", "{csv}", "--columns", "user=,item=iid"], USAGE, ["--columns"]),
    ("info-columns-missing", ["datasets", "info", "{csv}", "--columns", "user=nope,item=iid"], DATA, ["nope", "columns"]),
    ("info-columns-on-udata", ["datasets", "info", "{data}", "--columns", "user=0,item=1"], DATA, ["columns"]),
    ("info-kcore-zero", ["datasets", "info", "{data}", "--kcore", "0"], USAGE, ["--kcore"]),
    ("info-kcore-abc", ["datasets", "info", "{data}", "--kcore", "abc"], USAGE, ["--kcore"]),
    ("info-min-rating-abc", ["datasets", "info", "{data}", "--min-rating", "abc"], USAGE, ["--min-rating"]),
    ("info-min-rating-no-ratings", ["datasets", "info", "{lines}", "--min-rating", "4"], DATA, ["min_rating", "ratings"]),
    ("info-format-bogus", ["datasets", "info", "{data}", "--format", "bogus"], USAGE, ["--format"]),
    ("info-format-wrong", ["datasets", "info", "{csv}", "--format", "grouplens-tab"], DATA, ["ratings.csv"]),
    ("info-no-argument", ["datasets", "info"], USAGE, ["dataset"]),
    ("datasets-bogus-command", ["datasets", "bogus"], USAGE, ["bogus"]),
    ("download-unknown", ["datasets", "download", "no-such-set"], DATA, ["no-such-set"]),
    # leaderboard
    ("leaderboard-no-store", ["leaderboard", "-d", "x", "-s", "loo", "--db", "{db}"], STORE, ["no results store"]),
    ("leaderboard-format", ["leaderboard", "-d", "x", "-s", "loo", "--format", "bogus", "--db", "{db}"], USAGE, ["--format"]),
    ("leaderboard-test", ["leaderboard", "-d", "x", "-s", "loo", "--test", "bogus", "--db", "{db}"], USAGE, ["--test"]),
    ("leaderboard-alpha", ["leaderboard", "-d", "x", "-s", "loo", "--alpha", "2", "--db", "{db}"], USAGE, ["--alpha"]),
    ("leaderboard-alpha-abc", ["leaderboard", "-d", "x", "-s", "loo", "--alpha", "abc", "--db", "{db}"], USAGE, ["--alpha"]),
    ("leaderboard-bootstrap", ["leaderboard", "-d", "x", "-s", "loo", "--bootstrap", "-1", "--db", "{db}"], USAGE, ["--bootstrap"]),
    ("leaderboard-no-dataset", ["leaderboard", "-s", "loo", "--db", "{db}"], USAGE, ["--dataset"]),
    ("leaderboard-task-bogus", ["leaderboard", "-d", "x", "-s", "kfold", "--task", "bogus", "--db", "{db}"], USAGE, ["--task"]),
    ("leaderboard-task-protocol", ["leaderboard", "-d", "x", "-s", "kfold", "--task", "rating", "--protocol", "full",
                                   "--db", "{db}"], USAGE, ["--protocol", "--task rating"]),
    ("leaderboard-db-folder", ["leaderboard", "-d", "x", "-s", "loo", "--db", "{dir}"], STORE, ["folder"]),
    # bench, models, the root
    ("bench-scale", ["bench", "kernels", "--scale", "huge"], USAGE, ["--scale"]),
    ("bench-eval-scale", ["bench", "eval", "--scale", "huge"], USAGE, ["--scale"]),
    ("bench-repeats-zero", ["bench", "kernels", "--repeats", "0"], USAGE, ["--repeats", ">= 1"]),
    ("bench-repeats-abc", ["bench", "eval", "--repeats", "abc"], USAGE, ["--repeats"]),
    ("bench-train-model", ["bench", "train", "nosuch"], USAGE, ["bpr", "nosuch"]),
    ("models-bogus-option", ["models", "--bogus"], USAGE, ["--bogus"]),
    ("root-unknown-command", ["nosuch"], USAGE, ["nosuch"]),
    ("root-unknown-option", ["--bogus"], USAGE, ["--bogus"]),
]

@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("bad_input")
    data = root / "u.data"
    data.write_text("".join(f"{u}\t{i}\t{1 + (u + i) % 5}\t{100 + 7 * u + i}\n" for u in range(12) for i in range(8)))
    bad = root / "bad.data"
    bad.write_text("1\t2\t5\t100\n1\tx\n")
    csv = root / "ratings.csv"
    csv.write_text("uid,iid,stars,ts\n" + "".join(f"{u},{i},4,{u * 10 + i}\n" for u in range(5) for i in range(4)))
    lines = root / "seq.txt"
    lines.write_text("".join(f"{u} " + " ".join(str(i) for i in range(5)) + "\n" for u in range(6)))
    folder = root / "folder"
    folder.mkdir()
    plain = root / "plain.txt"
    plain.write_text("not a folder")
    return {"data": str(data), "bad": str(bad), "csv": str(csv), "lines": str(lines), "dir": str(folder),
            "file": str(plain), "db": str(root / "never" / "results.sqlite")}


def test_the_table_has_at_least_76_cases():
    assert len(CASES) >= 76 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case, args, code, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_one_clean_line(files, case, args, code, words, monkeypatch):
    monkeypatch.setenv("RECPLUG_OFFLINE", "1")
    monkeypatch.setenv("RECPLUG_DATA_DIR", files["dir"])
    monkeypatch.setenv("RECPLUG_CACHE_DIR", files["dir"] + "/cache")
    argv = [a.format(**files) for a in args]
    result = CliRunner().invoke(app, argv)
    stderr = result.stderr
    assert result.exit_code == code, f"exit {result.exit_code}, stderr: {stderr!r}"
    assert "Traceback" not in result.output
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    for word in words:
        assert word.lower() in lines[0].lower(), f"{word!r} not in {lines[0]!r}"
    assert not Path(files["db"]).exists()


def test_a_bad_hyperparameter_fails_in_well_under_a_second_before_any_data_loads(files, tmp_path):
    db = tmp_path / "r.sqlite"
    runner = CliRunner()
    runner.invoke(app, ["eval", "bpr", "--set", "lr=-1", "--dataset", files["data"], "--db", str(db)])  # warm imports
    start = time.perf_counter()
    result = runner.invoke(app, ["eval", "bpr", "--set", "lr=-1", "--dataset", "/nonexistent/never-read.csv",
                                 "--db", str(db)])
    seconds = time.perf_counter() - start
    assert result.exit_code == 2 and "lr=-1" in result.stderr  # not the missing file: data were never read
    assert seconds < 1.0
    assert not db.exists()


def test_a_leaderboard_of_an_empty_store_says_how_to_fill_it(tmp_path):
    from recplug.store import ResultStore

    db = tmp_path / "empty.sqlite"
    ResultStore(db).close()
    before = db.read_bytes()
    result = CliRunner().invoke(app, ["leaderboard", "-d", "x", "-s", "loo", "--db", str(db)])
    assert result.exit_code == OTHER
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error:") and "recplug eval" in line and "Traceback" not in result.output
    assert db.read_bytes() == before
