"""Plugin discovery against fake installed distributions (real ``.dist-info`` folders on a
temporary path), pointing at the modules in tests/discovery_plugins: nothing is installed."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from recplug import discovery
from recplug.contract import Tags
from recplug.discovery import PluginInfo, discover, load_model_class, validate_class
from recplug.errors import ContractError, PluginError, UnknownModelError

PLUGIN_DIR = Path(__file__).parent / "discovery_plugins"
PKG = "recplug_fake_plugins"


class FakeSite:
    """Writes ``NAME-VERSION.dist-info`` folders and serves their entry points."""

    def __init__(self, root: Path):
        self.root = root

    def add(self, dist: str, version: str, entry_points: dict[str, str]) -> None:
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[{discovery.GROUP}]\n{lines}")
        discover(refresh=True)

    def entry_points(self, **select):
        """Stands in for importlib.metadata.entry_points: only the fake site's distributions."""
        found = [ep for dist in importlib.metadata.distributions(path=[str(self.root)])
                 for ep in dist.entry_points]
        return importlib.metadata.EntryPoints(found).select(**select)


@pytest.fixture
def site(tmp_path, monkeypatch):
    fake = FakeSite(tmp_path / "site")
    fake.root.mkdir()
    (tmp_path / "modules").mkdir()
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    monkeypatch.syspath_prepend(str(tmp_path / "modules"))
    monkeypatch.setattr(importlib.metadata, "entry_points", fake.entry_points)
    discover(refresh=True)
    yield fake
    for name in [m for m in sys.modules if m.startswith(PKG) or m.startswith("recplug_tmp_")]:
        del sys.modules[name]
    monkeypatch.undo()  # the real entry points again before the caches are rebuilt
    discover(refresh=True)


def by_name(infos: list[PluginInfo]) -> dict[str, PluginInfo]:
    return {info.qualified_name: info for info in infos}


def test_discover_reads_metadata_only_until_asked_to_load(site):
    site.add("fake-good", "1.2.3", {"good": f"{PKG}.good:GoodModel"})
    site.add("fake-broken", "0.1", {"broken": f"{PKG}.broken_import:Never"})
    infos = discover()
    assert [i.qualified_name for i in infos] == ["fake-broken:broken", "fake-good:good"]
    assert all(i.status == "not loaded" and i.tags is None and i.error is None for i in infos)
    assert f"{PKG}.good" not in sys.modules and f"{PKG}.broken_import" not in sys.modules
    good = by_name(infos)["fake-good:good"]
    assert (good.name, good.dist, good.version, good.target) == ("good", "fake-good", "1.2.3",
                                                                 f"{PKG}.good:GoodModel")


def test_load_records_each_failure_and_keeps_the_others(site, tmp_path):
    (tmp_path / "modules" / "recplug_tmp_syntax.py").write_text("def broken(:\n    pass\n")
    site.add("fake-good", "1.0", {"good": f"{PKG}.good:GoodModel", "rating": f"{PKG}.good:RatingModel"})
    site.add("fake-bad", "2.0", {
        "needs-dep": f"{PKG}.broken_import:Never",
        "syntax": "recplug_tmp_syntax:Model",
        "raises": f"{PKG}.raises_at_import:Model",
        "exits": f"{PKG}.exits_at_import:Model",
        "no-attr": f"{PKG}.good:DoesNotExist",
        "future": f"{PKG}.wrong_api:FutureModel",
        "no-score": f"{PKG}.missing_score:NoScore",
        "not-class": f"{PKG}.missing_score:NOT_A_CLASS",
    })
    infos = by_name(discover(load=True))
    assert infos["fake-good:good"].status == "ok"
    assert infos["fake-good:good"].tags == Tags(sequential=True, needs_timestamps=True)
    assert infos["fake-good:rating"].status == "ok"
    expected = {
        "needs-dep": ("failed", "ModuleNotFoundError: No module named 'recplug_no_such_dependency'"),
        "syntax": ("failed", "SyntaxError: "),
        "raises": ("failed", "RuntimeError: cannot start: the licence file is missing"),
        "exits": ("failed", "SystemExit: 3"),
        "no-attr": ("failed", "AttributeError: "),
        "future": ("incompatible", "recplug_api is 99, but this recplug supports API version 1"),
        "no-score": ("incompatible", "NoScore lacks score()"),
        "not-class": ("incompatible", "must name a model class, got object"),
    }
    for name, (status, phrase) in expected.items():
        info = infos[f"fake-bad:{name}"]
        assert info.status == status, info
        assert phrase in info.error and "\n" not in info.error, info.error
        assert info.tags is None
    assert infos["fake-bad:needs-dep"].message == (
        'failed to load plugin "needs-dep" from fake-bad 2.0: '
        "ModuleNotFoundError: No module named 'recplug_no_such_dependency'")
    assert infos["fake-bad:future"].message.startswith(
        'plugin "future" from fake-bad 2.0 breaks the recplug model contract: FutureModel.recplug_api is 99')
    # metadata-only listing now shows what loading found (cached)
    assert by_name(discover())["fake-bad:syntax"].status == "failed"


def test_load_model_class_by_name_and_qualified_name(site):
    site.add("Fake_Good", "1.0", {"good": f"{PKG}.good:GoodModel"})
    cls, info = load_model_class("good")
    from recplug_fake_plugins.good import GoodModel

    assert cls is GoodModel and info.status == "ok" and info.qualified_name == "Fake_Good:good"
    assert load_model_class("Fake_Good:good")[0] is GoodModel
    assert load_model_class("fake-good:good")[0] is GoodModel  # dist names compare normalised
    assert load_model_class("good")[1] is info                # cached


def test_failed_plugin_raises_plugin_error_with_its_cause(site):
    site.add("fake-bad", "2.0", {"broken": f"{PKG}.broken_import:Never",
                                 "future": f"{PKG}.wrong_api:FutureModel"})
    site.add("fake-good", "1.0", {"good": f"{PKG}.good:GoodModel"})
    with pytest.raises(PluginError) as info:
        load_model_class("broken")
    assert not isinstance(info.value, ContractError)
    assert str(info.value) == ('failed to load plugin "broken" from fake-bad 2.0: '
                               "ModuleNotFoundError: No module named 'recplug_no_such_dependency'")
    with pytest.raises(ContractError, match='plugin "future" from fake-bad 2.0 breaks the recplug model contract'):
        load_model_class("future")
    assert load_model_class("good")[1].status == "ok"  # the others keep working


def test_duplicate_names_are_both_listed_and_the_bare_name_is_ambiguous(site):
    site.add("dist-a", "1.0", {"dup": f"{PKG}.good:GoodModel"})
    site.add("dist-b", "3.1", {"dup": f"{PKG}.good:OtherGoodModel"})
    infos = discover(load=True)
    assert [(i.qualified_name, i.status) for i in infos] == [("dist-a:dup", "ok"), ("dist-b:dup", "ok")]
    with pytest.raises(UnknownModelError) as info:
        load_model_class("dup")
    assert isinstance(info.value, PluginError)
    assert str(info.value) == ('model name "dup" is registered by 2 distributions (dist-a, dist-b); '
                               "ask for one of: dist-a:dup, dist-b:dup")
    from recplug_fake_plugins.good import OtherGoodModel

    assert load_model_class("dist-b:dup")[0] is OtherGoodModel


def test_unknown_name_lists_the_available_ones(site):
    site.add("fake-good", "1.0", {"good": f"{PKG}.good:GoodModel", "rating": f"{PKG}.good:RatingModel"})
    with pytest.raises(UnknownModelError) as info:
        load_model_class("goood")
    assert str(info.value) == ('unknown model "goood"; available: good, rating (see `recplug models`). '
                               "Did you mean good?")
    with pytest.raises(UnknownModelError, match=r"available: fake-good:good, fake-good:rating"):
        load_model_class("other-dist:good")


def test_no_plugins_at_all_says_so(site):
    with pytest.raises(UnknownModelError, match='no model plugins are installed .entry-point group "recplug.models" is empty'):
        load_model_class("pop")


def test_invalid_entry_point_name_is_reported_not_loaded(site):
    site.add("fake-good", "1.0", {"has space": f"{PKG}.good:GoodModel"})
    (info,) = discover(load=True)
    assert info.status == "failed" and "invalid model name 'has space'" in info.error
    assert f"{PKG}.good" not in sys.modules


def test_refresh_rereads_metadata(site):
    site.add("fake-good", "1.0", {"good": f"{PKG}.good:GoodModel"})
    assert len(discover()) == 1
    (site.root / "fake_good-1.0.dist-info" / "entry_points.txt").write_text(
        f"[{discovery.GROUP}]\ngood = {PKG}.good:GoodModel\nother = {PKG}.good:OtherGoodModel\n")
    assert len(discover()) == 1                  # cached
    assert len(discover(refresh=True)) == 2


@pytest.mark.parametrize("attr, phrase", [
    ("NoScore", "NoScore lacks score()"),
    ("RatingWithoutPredict", 'declares tags.task="rating" but has no predict(users, items)'),
    ("PositionalInit", "takes positional-only parameter(s) factors"),
    ("StarArgs", "takes *args"),
    ("ApiAsString", "recplug_api must be an int, got str '1'"),
    ("Bare", "Bare has no recplug_api class attribute"),
])
def test_validate_class_names_the_exact_problem(monkeypatch, attr, phrase):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    from recplug_fake_plugins import missing_score

    with pytest.raises(ContractError) as info:
        validate_class(getattr(missing_score, attr))
    assert phrase in str(info.value)


def test_validate_class_lists_every_problem_of_a_bare_class(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    from recplug_fake_plugins.missing_score import Bare

    message = str(pytest.raises(ContractError, validate_class, Bare).value)
    assert "no recplug_api" in message
    assert "lacks fit(), score(), get_params()" in message
    assert "tags must be a recplug.contract.Tags instance, got NoneType" in message


def test_validate_class_accepts_a_good_model(monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_DIR))
    from recplug_fake_plugins.good import GoodModel, RatingModel

    validate_class(GoodModel)
    validate_class(RatingModel)


def test_real_environment_lists_the_builtin_models_without_raising():
    infos = discover(load=True, refresh=True)
    builtin = {i.name: i for i in infos if i.dist == "recplug"}
    assert {"pop", "itemknn", "ease", "bpr", "sasrec"} <= builtin.keys()
    for info in builtin.values():
        assert info.status in ("ok", "failed", "incompatible")
        assert (info.status == "ok") == (info.error is None)


def test_a_plugin_registering_a_builtin_name_leaves_the_bare_name_to_recplug(site, capsys):
    site.add("recplug", "0.1.0", {"pop": f"{PKG}.good:GoodModel"})
    site.add("fancy-plugin", "2.0", {"pop": f"{PKG}.good:OtherGoodModel"})
    from recplug_fake_plugins.good import GoodModel, OtherGoodModel

    cls, bare = load_model_class("pop")
    assert cls is GoodModel and bare.qualified_name == "recplug:pop"
    cls_q, qualified = load_model_class("recplug:pop")
    assert cls_q is GoodModel and qualified.qualified_name == bare.qualified_name
    assert load_model_class("fancy-plugin:pop")[0] is OtherGoodModel
    assert capsys.readouterr() == ("", "")  # nothing alarming printed
