"""What full-ranking and sampled evaluation share: the users and their batches, the checks
on what a model returns, and the per-user metrics collected batch by batch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from recplug.contract import ScoreBatch
from recplug.errors import EvaluationError
from recplug.evaluation.batches import csr_rows, make_batch
from recplug.evaluation.config import EvalConfig, metric_name
from recplug.evaluation.lists import ListStats
from recplug.splits.base import Split


@dataclass
class EvalResult:
    """Per-user metrics of one evaluation and their means.

    ``per_user[name]`` is float32 ``[U]`` aligned with ``users`` (int32 user indices);
    ``summary`` holds the user means (``NDCG@10`` ...) plus catalogue metrics
    (``Coverage@K``, ``ARP@K`` average recommended popularity, ``Gini@K``).
    """

    which: str
    protocol: str
    users: np.ndarray
    per_user: dict[str, np.ndarray]
    summary: dict[str, float]
    boundary_tie_rate: float | None  #: share of users whose top-K boundary cuts a tie (at max K); None when sampled
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def sampled(self) -> bool:
        return self.protocol.startswith("sampled:")


def tie_priority(n_items: int, seed: int) -> np.ndarray:
    """Seeded random priority per item (int32 permutation): the same for every model."""
    return np.random.default_rng([seed, 0x7E5]).permutation(n_items).astype(np.int32)


def _non_finite(name: str, what: str, bad: np.ndarray, users: np.ndarray, rows_bad: np.ndarray) -> EvaluationError:
    first_user = int(users[int(np.flatnonzero(rows_bad)[0])])
    return EvaluationError(f"{name} returned {int(bad)} non-finite {what} (NaN or ±inf), first for user "
                           f"{first_user}; scores must be finite (recplug masks the history itself)")


def check_finite(model: Any, scores: Any, users: np.ndarray, what: str = "scores") -> None:
    """EvaluationError when ``scores`` (numpy or torch, one row per user) hold NaN or ±inf."""
    name = type(model).__name__
    if isinstance(scores, np.ndarray):
        finite = np.isfinite(scores)
        if not finite.all():
            rows_bad = ~finite.reshape(len(finite), -1).all(axis=1)
            raise _non_finite(name, what, (~finite).sum(), users, rows_bad)
        return
    import torch

    finite = torch.isfinite(scores)
    if not bool(finite.all()):
        rows_bad = (~finite.reshape(len(finite), -1).all(dim=1)).cpu().numpy()
        raise _non_finite(name, what, int((~finite).sum()), users, rows_bad)


def as_scores(raw: Any, batch: ScoreBatch, model: Any) -> Any:
    """Check a model's scores; numpy float32 [B, N] or a torch tensor (CUDA stays on device).

    EvaluationError for a wrong shape, dtype or type, or for any NaN / ±inf score.
    """
    name = type(model).__name__
    shape = tuple(getattr(raw, "shape", ()))
    if shape != (len(batch), batch.n_items):
        raise EvaluationError(f"{name}.score returned shape {shape}, expected "
                              f"({len(batch)}, {batch.n_items}) = (batch users, items)")
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    if torch is not None and isinstance(raw, torch.Tensor):
        if raw.dtype != torch.float32:
            raise EvaluationError(f"{name}.score returned {raw.dtype}; the contract asks for float32")
        raw = raw.detach()
        scores = raw if raw.is_cuda else np.ascontiguousarray(raw.numpy())
    elif not isinstance(raw, np.ndarray):
        raise EvaluationError(f"{name}.score returned {type(raw).__name__}; expected a numpy array or torch tensor")
    elif raw.dtype != np.float32:
        raise EvaluationError(f"{name}.score returned {raw.dtype}; the contract asks for float32")
    else:
        scores = np.ascontiguousarray(raw)
    check_finite(model, scores, batch.users)
    return scores


class Collector:
    """The users to evaluate, their batches, and the per-user metrics filled batch by batch.

    Shared by full-ranking and sampled evaluation, so both report the same way.
    """

    def __init__(self, split: Split, which: str, config: EvalConfig):
        self.start_time = time.perf_counter()
        self.which, self.config = which, config
        self.history = split.history(which)
        self.targets = split.targets(which)
        self.users = self.targets.users()
        self.n_items = self.history.n_items
        self.seq_indptr, self.seq_items = self.history.sequences()
        self.priority = tie_priority(self.n_items, config.seed)
        self.per_user = {metric_name(m, kk): np.zeros(len(self.users), dtype=np.float32)
                         for m in config.metrics for kk in config.ks}
        self.lists = ListStats(config.ks, split.train.item_interaction_counts())
        self.boundary_ties = 0

    def batches(self, device: str) -> Iterator[tuple[int, np.ndarray, ScoreBatch]]:
        """(offset of the batch in ``users``, its user indices, its ScoreBatch)."""
        for start in range(0, len(self.users), self.config.batch_size):
            batch_users = self.users[start:start + self.config.batch_size]
            yield start, batch_users, make_batch(batch_users, self.seq_indptr, self.seq_items,
                                                 self.n_items, device)

    def batch_targets(self, batch_users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return csr_rows(self.targets.indptr, self.targets.items, batch_users)

    def add(self, start: int, ids: np.ndarray, metrics: dict[str, np.ndarray],
            boundary: np.ndarray | None = None) -> None:
        """Record one batch: top-K ids ``[B, K]``, kernel metrics ``{m: [len(ks), B]}``, boundary ties."""
        stop = start + ids.shape[0]
        for m in self.config.metrics:
            for row, kk in enumerate(self.config.ks):
                self.per_user[metric_name(m, kk)][start:stop] = metrics[m][row]
        self.lists.add(ids)
        if boundary is not None:
            self.boundary_ties += int(np.count_nonzero(boundary))

    def result(self, *, tie_rate: bool = True, **info: Any) -> EvalResult:
        n = len(self.users)
        summary = {name: float(values.astype(np.float64).mean()) if n else float("nan")
                   for name, values in self.per_user.items()}
        summary.update(self.lists.summary())
        rate = (self.boundary_ties / n if n else 0.0) if tie_rate else None
        return EvalResult(which=self.which, protocol=self.config.protocol, users=self.users,
                          per_user=self.per_user, summary=summary, boundary_tie_rate=rate,
                          seconds=time.perf_counter() - self.start_time,
                          info={"n_users": int(n), "n_items": int(self.n_items),
                                "ties": self.config.ties, **info})
