"""`recplug datasets` mounted on a small Typer app, driven by CliRunner."""

from __future__ import annotations

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from recplug.cli import datasets
from recplug.cli.options import parse_columns
from recplug.errors import ConfigError, DataError, DatasetNotFoundError

app = typer.Typer()


@app.callback()
def _root() -> None:
    """Test root."""


app.add_typer(datasets.app, name="datasets")
runner = CliRunner()


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "ml-100k").mkdir(parents=True)
    (data / "ml-100k" / "u.data").write_text(
        "1\t10\t5\t881250949\n2\t10\t3\t881250950\n1\t10\t4\t891250949\n")
    monkeypatch.setenv("RECPLUG_DATA_DIR", str(data))
    monkeypatch.setenv("RECPLUG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "200")
    return data


def test_default_and_list_show_registry_and_local_copies(dirs):
    for args in (["datasets"], ["datasets", "list"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "ml-100k" in result.output and "amazon-book" in result.output
        assert "data dir" in result.output and str(dirs) in result.output
        assert "not local" in result.output


def test_info_prints_the_numbers(dirs):
    result = runner.invoke(app, ["datasets", "info", "ml-100k", "--offline"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "users" in out and "interactions" in out and "density" in out
    assert "1 rows repeat" in out  # (1, 10) appears twice
    assert "1997-12-04" in out and "UTC" in out  # time span from epoch seconds
    assert "grouplens-tab" in out


def test_info_with_columns_and_filters(tmp_path, dirs):
    path = tmp_path / "log.csv"
    path.write_text("who,what,stars\na,x,5\nb,x,1\na,y,4\n")
    result = runner.invoke(app, ["datasets", "info", str(path), "--columns",
                                 "user=who,item=what,rating=stars", "--min-rating", "4"])
    assert result.exit_code == 0, result.output
    assert "no timestamps" in result.output
    assert "rows below min rating" in result.output


def test_info_errors_are_recplug_errors(dirs):
    result = runner.invoke(app, ["datasets", "info", "nothing-here", "--offline"])
    assert isinstance(result.exception, DatasetNotFoundError)
    result = runner.invoke(app, ["datasets", "info", "ml-1m", "--offline"])
    assert isinstance(result.exception, DatasetNotFoundError)
    assert "ratings.dat" in str(result.exception)


def test_download_reports_data_dir_copy(dirs):
    result = runner.invoke(app, ["datasets", "download", "ml-100k"])
    assert result.exit_code == 0 and "RECPLUG_DATA_DIR" in result.output
    result = runner.invoke(app, ["datasets", "download", "nope"])
    assert isinstance(result.exception, DataError)


def test_parse_columns():
    assert parse_columns("user=a, item=b,timestamp=2") == {"user": "a", "item": "b", "timestamp": 2}
    assert parse_columns(None) is None
    with pytest.raises(ConfigError, match="role=column"):
        parse_columns("user")


def test_the_readme_example_works_on_a_table_with_a_rating_column(tmp_path):
    """README: recplug datasets info data/log.csv --columns user=uid,item=iid,timestamp=ts --min-rating 4 --kcore 5"""
    from recplug.cli.app import app as recplug_app
    from recplug.data.synthetic import generate

    data = generate(60, 30, 2400, seed=3)
    ratings = 1 + (np.arange(len(data)) * 7) % 5
    rows = zip(data.user_vocab.ids[data.users], data.item_vocab.ids[data.items], data.timestamps, ratings)
    log = tmp_path / "data" / "log.csv"
    log.parent.mkdir()
    log.write_text("uid,iid,ts,rating\n" + "".join(f"u{u},i{i},{t},{r}\n" for u, i, t, r in rows))
    result = CliRunner().invoke(recplug_app, ["datasets", "info", str(log), "--columns", "user=uid,item=iid,timestamp=ts",
                                              "--min-rating", "4", "--kcore", "5"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "rows below min rating" in result.stdout and "kcore" in result.stdout
