"""Optional dependencies: checked when a model module is imported, so that `recplug models`
lists a model whose packages are missing as failed, with the package and the extra named."""

from __future__ import annotations

import importlib.util


def require(module: str, package: str, extra: str, model: str) -> None:
    """ImportError naming ``package`` and ``pip install 'recplug-content[extra]'`` unless
    ``module`` can be imported (found, not imported: `recplug models` stays fast)."""
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"the {model!r} model needs the package {package!r}, which is not "
                          f"installed; pip install 'recplug-content[{extra}]'")
