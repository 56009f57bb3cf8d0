"""Evaluation settings (the metric and tie vocabularies live in :mod:`recplug.vocabulary`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from recplug.errors import ConfigError

from recplug.vocabulary import DISPLAY, METRICS, SAMPLERS, TIES

__all__ = ["DISPLAY", "METRICS", "EvalConfig", "metric_name"]


@dataclass(frozen=True)
class EvalConfig:
    """How to evaluate. Results never depend on ``batch_size``, ``chunk_size`` or ``threads``.

    ``batch_size``: users scored at once; ``chunk_size``: items per top-K merge step
    (None = the whole row); ``negatives``: None for full ranking, else the number of
    sampled negatives per user (paper reproduction only; results are labelled sampled).
    """

    ks: tuple[int, ...] = (5, 10, 20, 50)
    metrics: tuple[str, ...] = METRICS
    ties: str = "random"
    seed: int = 0
    batch_size: int = 1024
    chunk_size: int | None = None
    threads: int = 0
    negatives: int | None = None
    sampler: str = "uniform"
    force_torch: bool = False  #: run the torch path on CPU too (tests compare both paths)
    use_factors: bool = True   #: rank FactorModels with the fused kernel (False: through score())
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        ks = tuple(sorted({int(k) for k in self.ks}))
        if not ks or ks[0] < 1:
            raise ConfigError(f"ks must be positive integers, got {self.ks!r}")
        object.__setattr__(self, "ks", ks)
        unknown = [m for m in self.metrics if m not in METRICS]
        if unknown:
            raise ConfigError(f"metrics: unknown metric(s) {unknown}; choose from {', '.join(METRICS)}")
        if self.ties not in TIES:
            raise ConfigError(f"ties must be one of {', '.join(TIES)}, got {self.ties!r}")
        if self.sampler not in SAMPLERS:
            raise ConfigError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ConfigError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.negatives is not None and self.negatives < 1:
            raise ConfigError(f"negatives must be >= 1, got {self.negatives}")

    @property
    def max_k(self) -> int:
        return self.ks[-1]

    @property
    def protocol(self) -> str:
        """``"full"`` or ``"sampled:N:sampler"`` — runs of different protocols never mix."""
        return "full" if self.negatives is None else f"sampled:{self.negatives}:{self.sampler}"


def metric_name(metric: str, k: int) -> str:
    """Display name of a metric at K, e.g. ``NDCG@10``."""
    return f"{DISPLAY[metric]}@{k}"
