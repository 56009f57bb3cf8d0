"""``recplug models`` on a tiny Typer app, over fake distributions and the real environment."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from recplug import discovery
from recplug.cli.models import format_tags, models
from recplug.contract import Tags

PLUGIN_DIR = Path(__file__).parent / "discovery_plugins"
PKG = "recplug_fake_plugins"

app = typer.Typer()
app.command("models")(models)


@app.callback()
def _root() -> None:
    """Tiny app: the lead mounts `models` the same way on the real one."""


def run(*args: str):
    return CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"}).invoke(app, ["models", *args])


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    """Three fake distributions: a working plugin, a broken import and a contract breaker."""
    dists = {"fake-good": ("1.2.3", f"good = {PKG}.good:GoodModel"),
             "fake-broken": ("0.1", f"broken = {PKG}.broken_import:Never"),
             "fake-future": ("9.0", f"future = {PKG}.wrong_api:FutureModel")}
    for dist, (version, line) in dists.items():
        info = tmp_path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[{discovery.GROUP}]\n{line}\n")

    def entry_points(**select):
        found = [ep for d in importlib.metadata.distributions(path=[str(tmp_path)]) for ep in d.entry_points]
        return importlib.metadata.EntryPoints(found).select(**select)

    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    discovery.discover(refresh=True)
    yield
    for name in [m for m in sys.modules if m.startswith(PKG)]:
        del sys.modules[name]
    monkeypatch.undo()  # the real entry points again before the caches are rebuilt
    discovery.discover(refresh=True)


def test_lists_every_plugin_with_status_and_cause(fake_site):
    result = run()
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "recplug models (3 registered)" in out
    for text in ("fake-good:good", "1.2.3", "ranking, sequential, timestamps", "ok",
                 "fake-broken:broken", "0.1",
                 "failed: ModuleNotFoundError: No module named 'recplug_no_such_dependency'",
                 "fake-future:future", "incompatible: FutureModel.recplug_api is 99"):
        assert text in out, text
    assert "2 of 3 plugin(s) cannot be used" in result.stderr
    assert "cannot be used" not in out   # diagnostics go to stderr


def test_no_load_reads_metadata_only(fake_site):
    result = run("--no-load")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("not loaded") == 3
    assert f"{PKG}.broken_import" not in sys.modules and f"{PKG}.good" not in sys.modules
    assert result.stderr == ""


def test_no_plugins_says_how_to_fix(monkeypatch):
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda **kw: importlib.metadata.EntryPoints([]))
    discovery.discover(refresh=True)
    try:
        result = run()
    finally:
        monkeypatch.undo()
        discovery.discover(refresh=True)
    assert result.exit_code == 0
    assert "no model plugins are installed" in result.stderr


def test_format_tags():
    assert format_tags(None) == ""
    assert format_tags(Tags()) == "ranking"
    assert format_tags(Tags(task="rating", supports_cuda=True)) == "rating, cuda"


@pytest.mark.skipif(importlib.util.find_spec("recplug_example") is None,
                    reason="the example plugin is not installed: "
                           "pip install --no-build-isolation -e plugins/recplug-example")
def test_installed_example_plugin_is_listed():
    discovery.discover(refresh=True)
    result = run()
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if "recplug-example:recency-pop" in line)
    assert "recency-pop" in row and "recplug-example" in row and "ranking, timestamps" in row
    assert "ok" in row


def test_80_columns_keep_names_whole_and_causes_short(fake_site, tmp_path):
    long_cause = tmp_path / "recplug_tmp_long.py"
    long_cause.write_text("raise RuntimeError('" + "this plugin needs a licence server " * 12 + "')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        info = tmp_path / "fake_verbose_plugin_distribution-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-verbose-plugin-distribution\n"
                                       "Version: 1.0\n")
        (info / "entry_points.txt").write_text(f"[{discovery.GROUP}]\nlong-cause = recplug_tmp_long:Model\n")
        discovery.discover(refresh=True)
        narrow = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(app, ["models"])
        verbose = CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"}).invoke(app, ["models", "--verbose"])
        (recorded,) = [i.error for i in discovery.discover() if i.name == "long-cause"]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("recplug_tmp_long", None)
    assert narrow.exit_code == 0, narrow.output
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for name in ("fake-verbose-plugin-distribution:long-cause", "fake-broken:broken", "fake-good:good",
                 "fake-future:future"):
        assert any(name in line for line in lines), name  # each name whole on a line
    assert sum("licence" in line for line in lines) <= 3 and "…" in narrow.stdout
    verbose_lines = verbose.stdout.splitlines()
    assert sum("licence" in line for line in verbose_lines) > 3
    assert max(len(line) for line in verbose_lines) <= 80
    assert "--verbose" in narrow.stderr
    whole = " ".join(verbose.stdout.split())
    assert recorded.startswith("RuntimeError: this plugin") and len(recorded) > 200
    assert recorded in whole


def test_help_flags_have_no_value_placeholder():
    result = CliRunner(env={"COLUMNS": "120"}).invoke(app, ["models", "--help"])
    for flag in ("--no-load", "--verbose"):
        (line,) = [line for line in result.stdout.splitlines() if flag in line]
        assert "<bool>" not in line
