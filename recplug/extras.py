"""Optional dependencies (pyproject extras): import one, or fail with one line naming its extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from recplug.errors import ConfigError

#: module -> (extra that installs it, what needs it)
EXTRAS = {"optuna": ("tune", "tuning (recplug tune, [tune] in a study file)"),
          "ray": ("ray", "the Ray executor (--executor ray)")}


def require(module: str) -> ModuleType:
    """Import ``module`` (a key of :data:`EXTRAS`); ConfigError naming the extra when it is missing."""
    extra, purpose = EXTRAS[module]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"{purpose} needs {module}, which is not installed ({exc}); install the "
                          f"extra: pip install 'recplug[{extra}]'") from None
