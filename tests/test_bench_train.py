"""The training bench finds its alternatives by file: a new module in recplug.bench.straight
is a new `recplug bench train` choice, checked against the straight-module contract."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

from recplug.bench import straight
from recplug.bench.train import ml1m_shaped, run
from recplug.cli.app import app
from recplug.errors import ConfigError

# A straight module for the registered model "pop" (registered, and fast to fit).
TOY = '''
CALLS = []
TARGET = 1.5
PARAMS = {}
ALTERNATIVE = "a toy loop"
LABEL = "toy settings"

def one_epoch(train, params, *, seed, threads):
    CALLS.append((train.n_users, dict(params), seed, threads))
'''


@pytest.fixture
def extra_straight(tmp_path, monkeypatch):
    """A folder added to recplug.bench.straight's path; write modules into it."""
    monkeypatch.setattr(straight, "__path__", [*straight.__path__, str(tmp_path)])
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("recplug.bench.straight.") and m.rsplit(".", 1)[1]
                 in {p.stem for p in tmp_path.glob("*.py")}]:
        del sys.modules[name]


def test_the_built_in_alternatives_are_found():
    assert {"bpr", "sasrec"} <= set(straight.available())


def test_a_new_module_is_a_new_choice_and_gets_the_models_params(extra_straight):
    (extra_straight / "pop.py").write_text(TOY)
    assert "pop" in straight.available()
    data = ml1m_shaped(n_users=30, n_items=100, interactions=700, seed=3)
    [row] = run("pop", repeats=2, data=data, threads=1)
    assert row.kernel == "pop epoch" and row.alternative == "a toy loop" and row.target == 1.5
    assert row.shape == f"30x100 nnz={data.csr.nnz:,}, toy settings, cpu threads=1"
    calls = sys.modules["recplug.bench.straight.pop"].CALLS
    assert len(calls) == 3  # one warm-up and two timed rounds
    assert calls[0] == (30, {}, 0, 1)  # Popularity has no hyperparameters; seed 0; threads as asked


def test_params_are_the_models_defaults_then_the_modules_then_the_callers(extra_straight):
    (extra_straight / "itemknn.py").write_text(TOY.replace("PARAMS = {}", 'PARAMS = {"k": 5, "shrink": 1.0}'))
    data = ml1m_shaped(n_users=30, n_items=100, interactions=700, seed=3)
    run("itemknn", repeats=1, data=data, threads=1, params={"shrink": 2.0})
    [(_, params, _, _)] = set((c[0], tuple(sorted(c[1].items())), c[2], c[3])
                              for c in sys.modules["recplug.bench.straight.itemknn"].CALLS)
    assert dict(params) == {"k": 5, "shrink": 2.0}


def test_the_packages_own_module_wins_over_a_later_folder(extra_straight):
    (extra_straight / "bpr.py").write_text(TOY)
    assert straight.load("bpr").target == 2.0


@pytest.mark.parametrize("source, words", [
    ("def one_epoch(train, params, *, seed, threads): pass", "TARGET must be a number > 0, got None"),
    ("TARGET = True\ndef one_epoch(train, params, *, seed, threads): pass", "TARGET must be a number > 0"),
    ("TARGET = 0\ndef one_epoch(train, params, *, seed, threads): pass", "TARGET must be a number > 0, got 0"),
    ("TARGET = 2.0", "one_epoch(train, params, *, seed, threads) is missing"),
    ("TARGET = 2.0\nPARAMS = [1]\ndef one_epoch(train, params, *, seed, threads): pass", "PARAMS must be a dict"),
    ("TARGET = 2.0\nLABEL = 3\ndef one_epoch(train, params, *, seed, threads): pass", "LABEL must be a string"),
])
def test_a_module_that_breaks_the_contract_is_named(extra_straight, source, words):
    (extra_straight / "pop.py").write_text(source)
    with pytest.raises(ConfigError) as info:
        straight.load("pop")
    assert "recplug.bench.straight.pop" in str(info.value) and words in str(info.value)


def test_cli_unknown_name_is_one_line_listing_the_choices():
    result = CliRunner().invoke(app, ["bench", "train", "nosuch"])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "'nosuch'" in lines[0] and "bpr" in lines[0] and "sasrec" in lines[0]


def test_cli_accepts_a_new_module(extra_straight, monkeypatch):
    (extra_straight / "pop.py").write_text(TOY)
    import recplug.bench.train as train

    small = ml1m_shaped(n_users=30, n_items=100, interactions=700, seed=3)
    monkeypatch.setattr(train, "ml1m_shaped", lambda: small)
    result = CliRunner().invoke(app, ["bench", "train", "pop", "--repeats", "1", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "pop epoch" in result.output and "a toy loop" in result.output


def test_cli_threads_must_be_positive():
    result = CliRunner().invoke(app, ["bench", "train", "bpr", "--threads", "0"])
    assert result.exit_code == 2 and "--threads" in result.output
