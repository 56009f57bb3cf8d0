"""The one hierarchy of recplug errors.

Every error a user can cause derives from :class:`RecplugError`; the CLI maps each
to one line (its message, which says what is wrong and how to fix it) and an exit code.
Kernel input errors also derive from :class:`ValueError`, as numeric code expects.
"""

from __future__ import annotations


class RecplugError(Exception):
    """Base of every recplug error. ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class KernelsNotBuiltError(RecplugError, ImportError):
    """The compiled module ``recplug._kernels`` is missing or does not load."""

    exit_code = 3


class KernelInputError(RecplugError, ValueError):
    """An array handed to a kernel has the wrong dtype, shape, layout or values."""


class DataError(RecplugError, ValueError):
    """A dataset file or table is missing, malformed or inconsistent."""

    exit_code = 4


class DatasetNotFoundError(DataError, FileNotFoundError):
    """A named dataset has no local copy and cannot be downloaded."""


class SplitError(RecplugError, ValueError):
    """A split cannot be made with these data and parameters, or leaks."""


class LeakageError(SplitError):
    """A split's leakage check failed (a target is visible at fit or scoring time)."""


class EvaluationError(RecplugError, ValueError):
    """Evaluation got inconsistent inputs (scores of the wrong shape, bad K, ...)."""


class ModelError(RecplugError):
    """A model misbehaved while fitting or scoring."""


class PluginError(RecplugError):
    """A model plugin failed to load or breaks the contract."""

    exit_code = 5


class ContractError(PluginError):
    """A model class does not honour the recplug model contract."""


class UnknownModelError(PluginError, KeyError):
    """No plugin is registered under the requested name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class StoreError(RecplugError):
    """The results store cannot be opened, migrated or written."""

    exit_code = 6


class LeaderboardError(RecplugError, ValueError):
    """No runs match a leaderboard's filters, or the runs cannot be compared fairly."""


class ConfigError(RecplugError, ValueError):
    """A command-line option or hyperparameter has an invalid value."""

    exit_code = 2
