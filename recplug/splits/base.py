"""What every split returns (DESIGN.md §4)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from recplug.data.interactions import Interactions
from recplug.data.targets import Targets


@dataclass(frozen=True)
class Split:
    """A split of one dataset.

    ``train`` is what models fit on; ``validation`` holds the validation-window
    interactions (they join the history at test time). ``valid_targets`` are masked
    against ``train``; ``test_targets`` against ``train + validation`` (:meth:`test_history`).
    ``summary`` records what was dropped and why (counts), and reaches the report.
    ``test`` holds the test rows themselves, with their ratings when the data has them
    (the rating task predicts them; every row, repeats included); None for a Split built
    by hand without them. ``items`` is the dataset's item side information
    (:class:`~recplug.data.items.ItemTable`, aligned with the item vocabulary) or None; the
    runner hands it to models that declare ``Tags.needs_item_features``.
    """

    name: str
    params: dict[str, Any]
    train: Interactions
    validation: Interactions
    valid_targets: Targets
    test_targets: Targets
    summary: dict[str, Any] = field(default_factory=dict)
    test: Interactions | None = None
    items: Any = None

    def history(self, which: str) -> Interactions:
        """History masked at evaluation: ``"valid"`` -> train, ``"test"`` -> train + validation."""
        if which == "valid":
            return self.train
        if which == "test":
            return self.test_history()
        raise ValueError(f"which must be 'valid' or 'test', got {which!r}")

    def test_history(self) -> Interactions:
        """Train + validation interactions, chronological (computed once, then cached)."""
        return self._test_history

    @functools.cached_property
    def _test_history(self) -> Interactions:
        return self.train.concat(self.validation, name=f"{self.train.name}+validation")

    def rows(self, which: str) -> Interactions:
        """The held-out rows themselves: ``"valid"`` -> validation, ``"test"`` -> test."""
        if which == "valid":
            return self.validation
        if which == "test":
            if self.test is None:
                raise ValueError(f"split {self.name!r} was built without its test rows")
            return self.test
        raise ValueError(f"which must be 'valid' or 'test', got {which!r}")

    def targets(self, which: str) -> Targets:
        if which == "valid":
            return self.valid_targets
        if which == "test":
            return self.test_targets
        raise ValueError(f"which must be 'valid' or 'test', got {which!r}")
