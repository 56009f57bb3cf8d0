"""Fixtures shared by the test files."""

from __future__ import annotations

from typing import Callable

import pytest

from recplug import discovery


@pytest.fixture
def register_models(monkeypatch) -> Callable[[dict[str, type]], None]:
    """``register_models({"name": cls, ...})`` makes test model classes loadable by name through
    ``recplug.discovery.load_model_class`` (distribution "tests", qualified "tests:name"), next to
    the installed ones, for the duration of the test."""

    def register(models: dict[str, type]) -> None:
        original = discovery.load_model_class

        def load(name: str):
            if name not in models:
                return original(name)
            cls = models[name]
            return cls, discovery.PluginInfo(name=name, qualified_name=f"tests:{name}", dist="tests",
                                             version="0", target=f"tests:{cls.__name__}", status="ok",
                                             error=None, tags=cls.tags)

        monkeypatch.setattr(discovery, "load_model_class", load)

    return register
