"""The only door to the compiled kernels (``recplug._kernels``).

Every function here validates dtype, shape, contiguity and index ranges before the
call, so bad input raises :class:`~recplug.errors.KernelInputError` (a ValueError)
naming the argument, and the C++ side never reads out of bounds. A missing or broken
extension raises :class:`~recplug.errors.KernelsNotBuiltError` saying how to rebuild.
"""

from __future__ import annotations

import functools
from typing import Any

from recplug.errors import KernelsNotBuiltError

REBUILD_HINT = (
    "rebuild it from the repository root with: "
    "pip install --no-build-isolation -e '.[test]'"
)


@functools.cache
def _native() -> Any:
    """Import the extension once; turn any import failure into one clear error."""
    try:
        from recplug import _kernels
    except ImportError as exc:
        raise KernelsNotBuiltError(
            f"the compiled module recplug._kernels is not available ({exc}); {REBUILD_HINT}"
        ) from None
    return _kernels


def available() -> bool:
    """True when the compiled module imports."""
    try:
        _native()
    except KernelsNotBuiltError:
        return False
    return True


def build_info() -> dict[str, Any]:
    """Instruction set, OpenMP use, default thread count and compiler of the build."""
    return dict(_native().build_info())
