"""Without its extras the plugin fails to import with the missing package named, and
recplug's discovery lists it as failed with that line."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import pytest


@pytest.mark.parametrize("module, missing, package, extra", [
    ("recplug_content.text", "sentence_transformers", "sentence-transformers", "text"),
    ("recplug_content.clip", "transformers", "transformers", "clip"),
    ("recplug_content.clip", "PIL", "pillow", "clip"),
])
def test_a_missing_extra_is_named_on_import_and_in_discovery(monkeypatch, module, missing, package, extra):
    from recplug import discovery

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name, *a))
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=f"needs the package '{package}'.*recplug-content\\[{extra}\\]"):
        importlib.import_module(module)
    monkeypatch.delitem(sys.modules, module, raising=False)
    name = module.rsplit(".", 1)[1]
    try:
        infos = {i.qualified_name: i for i in discovery.discover(load=True, refresh=True)}
        info = infos[f"recplug-content:{name}"]
        assert info.status == "failed" and package in info.error
        assert infos["recplug:pop"].status == "ok"   # the others keep working
    finally:
        monkeypatch.undo()
        sys.modules.pop(module, None)
        discovery.discover(refresh=True)
