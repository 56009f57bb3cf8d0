"""Experiment files (recplug run study.toml): parsing, every error naming the file, the key and
the fix before anything runs, the jobs a file makes, and a rerun that skips what is done."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recplug.cli.app import app
from recplug.errors import ConfigError, RecplugError
from recplug.experiment import load_experiment
from recplug.store import ResultStore

from test_tune import write_udata

GOOD = """
[study]
datasets = ["{data}"]
splits = ["loo"]
seeds = 2
metrics = ["NDCG@10", "HR@5"]
threads = 1
db = "r.sqlite"

[models.pop]

[models.itemknn]
params = {{ k = 5 }}
"""


def write(tmp_path: Path, text: str) -> Path:
    data = write_udata(tmp_path / "u.data")
    path = tmp_path / "study.toml"
    path.write_text(textwrap.dedent(text).format(data=data))
    return path


def test_a_file_becomes_eval_and_tune_requests(tmp_path):
    pytest.importorskip("optuna")
    path = write(tmp_path, GOOD + """
[tune]
trials = 4

[models.ease]
search = {{ l2 = "loguniform:10:1000" }}
""")
    experiment = load_experiment(path)
    (k1, ev), (k2, tune) = experiment.requests()
    assert (k1, k2) == ("eval", "tune")
    assert ev.models == ["pop", "itemknn"] and ev.seeds == [0, 1] and ev.overrides == {"itemknn": {"k": 5}}
    assert ev.eval_config.ks == (5, 10) and set(ev.eval_config.metrics) == {"ndcg", "hr"}
    assert ev.db == str(tmp_path / "r.sqlite")  # relative to the file
    assert tune.eval.models == ["ease"] and tune.budget.trials == 4
    assert tune.space["ease"]["l2"].low == 10


@pytest.mark.parametrize("extra, key, fix", [
    ("[study2]\n", "study2 is not a known key", "remove it or use one of"),
    ("[models.ease]\nparms = {{ l2 = 1 }}\n", "models.ease.parms is not a known key", "params: a table"),
    ("[models.nosuchmodel]\n", "models.nosuchmodel", "unknown model"),
    ("[models.ease]\nparams = {{ l2 = -5 }}\n", "models.ease.params", "l2 must be"),
    ("[models.ease]\nparams = {{ l3 = 5 }}\n", "models.ease.params", "has no hyperparameter 'l3'"),
    ("[models.ease]\nsearch = {{ l2 = \"loguniform:0:10\" }}\n", "models.ease.search", "LOW > 0"),
    ("[models.ease]\nsearch = {{ l2 = \"uniform:-1:10\" }}\n", "models.ease.search", "narrow the range"),
    ("[models.ease]\nsearch = 3\n", "models.ease.search", "must be true or a table of ranges"),
    ("[tune]\ntrials = 3\n", "tune", "no model is searched"),
    ("[tune]\ntrials = 0\n[models.ease]\nsearch = true\n", "tune", "trials must be an integer >= 1"),
])
def test_bad_files_name_the_file_the_key_and_the_fix(tmp_path, extra, key, fix):
    pytest.importorskip("optuna")
    path = write(tmp_path, GOOD + extra)
    with pytest.raises(RecplugError) as info:
        load_experiment(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and key in message and fix in message, message


@pytest.mark.parametrize("change, key, fix", [
    (("[models.pop]", "[models.pop]\nsearch = true"), "models.pop.search", "declares no search ranges"),
    (("seeds = 2", "seeds = 0"), "study.seeds", "count >= 1"),
    (("metrics = [\"NDCG@10\", \"HR@5\"]", "metrics = [\"NDCG\"]"), "study.metrics[0]", "NAME@K"),
    (("splits = [\"loo\"]", "splits = [\"sideways\"]"), "study", "split 'sideways' is unknown"),
    (("splits = [\"loo\"]", "splits = [{{ nam = \"loo\" }}]"), "study.splits[0]", "name = "),
    (("datasets = [\"{data}\"]", "datasets = [\"/no/such/file.tsv\"]"), "study", "neither an existing file"),
    (("[study]", "[study]\nseed = 1"), "study.seed is not a known key", "seeds: a count"),
])
def test_bad_study_values(tmp_path, change, key, fix):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(Exception) as info:
        load_experiment(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and key in message and fix in message, message


def test_bad_toml_and_missing_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[study\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_experiment(path)
    with pytest.raises(ConfigError, match="no such experiment file"):
        load_experiment(tmp_path / "nope.toml")


def test_cli_runs_the_file_and_a_rerun_skips_what_is_done(tmp_path):
    path = write(tmp_path, GOOD)
    runner = CliRunner()
    first = runner.invoke(app, ["run", str(path)])
    assert first.exit_code == 0, first.output
    assert "4 runs: 4 done now, 0 already in the store" in first.output
    with ResultStore(tmp_path / "r.sqlite") as store:
        runs = store.runs()
    assert sorted((r.spec.short_model, r.spec.seed) for r in runs) == [("itemknn", 0), ("itemknn", 1),
                                                                      ("pop", 0), ("pop", 1)]
    again = runner.invoke(app, ["run", str(path)])
    assert again.exit_code == 0 and "4 runs: 0 done now, 4 already in the store" in again.output


def test_cli_bad_file_writes_nothing(tmp_path):
    path = write(tmp_path, GOOD + "[models.ease]\nparams = {{ l2 = -5 }}\n")
    result = CliRunner().invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "models.ease" in lines[0]
    assert not (tmp_path / "r.sqlite").exists()


def test_check_lists_the_jobs_and_runs_nothing(tmp_path):
    path = write(tmp_path, GOOD)
    result = CliRunner().invoke(app, ["run", str(path), "--check"])
    assert result.exit_code == 0, result.output
    assert "eval: pop, itemknn on" in result.output and "seeds 0, 1" in result.output
    assert not (tmp_path / "r.sqlite").exists()
