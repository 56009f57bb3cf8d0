"""The early-stopping hook models call during training (``FitOptions.validator``)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from recplug.errors import ConfigError
from recplug.evaluation.config import DISPLAY, EvalConfig
from recplug.splits.base import Split

_METRIC = re.compile(r"^([A-Za-z]+)@(\d+)$")


def parse_metric(name: str) -> tuple[str, int]:
    """``"NDCG@10"`` -> ``("ndcg", 10)``; ConfigError for anything else."""
    match = _METRIC.match(name.strip())
    keys = {v.lower(): k for k, v in DISPLAY.items()}
    if not match or match.group(1).lower() not in keys:
        raise ConfigError(f"metric {name!r} is not of the form NAME@K with NAME in "
                          f"{', '.join(DISPLAY.values())} (e.g. NDCG@10)")
    return keys[match.group(1).lower()], int(match.group(2))


class SplitValidator:
    """Evaluates a model on the split's validation targets; higher is better.

    Uses the same machinery as the test evaluation (masking with the train history,
    the same tie policy and seed), restricted to one metric.
    """

    def __init__(self, split: Split, metric: str = "NDCG@10", config: EvalConfig | None = None,
                 *, device: str = "cpu"):
        key, k = parse_metric(metric)
        self.metric = f"{DISPLAY[key]}@{k}"
        base = config or EvalConfig()
        self.config = replace(base, ks=(k,), metrics=(key,))
        self.split = split
        self.device = device
        self.history: list[float] = []

    @property
    def available(self) -> bool:
        """False when the split has no validation targets (early stopping impossible)."""
        return len(self.split.valid_targets) > 0

    def __call__(self, model: Any) -> float:
        from recplug.evaluation.evaluator import evaluate

        result = evaluate(model, self.split, "valid", self.config, device=self.device)
        value = result.summary[self.metric]
        self.history.append(value)
        return value
