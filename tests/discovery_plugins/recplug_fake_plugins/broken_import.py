"""Imports a package that is not installed."""

import recplug_no_such_dependency  # noqa: F401


class Never:
    pass
