"""The model contract (DESIGN.md §6), versioned by ``RECPLUG_API``.

A model is any class with ``recplug_api``, ``tags``, ``__init__(**hyperparameters)``,
``get_params()``, ``fit(train, options)`` and ``score(batch)``; rating models add
``predict(users, items)``. :class:`Model` is an optional base class that supplies
``get_params``/``set_params``/``clone`` the scikit-learn way.

Optional parts, each checked by the conformance kit when present:

- ``parameter_constraints``: a class attribute ``{hyperparameter: Constraint}`` (see
  :mod:`recplug.training.constraints`) covering every ``__init__`` parameter, plus an
  optional classmethod ``check_param_relations(params)``; the runner checks them before
  any data loads, and tuners read the search ranges from them.
- ``latent_factors(batch)`` (:class:`FactorModel`): a model whose scores are
  ``user_factors @ item_factors.T (+ item_bias)`` says so; the evaluator then ranks with
  the fused scoring + top-K kernel instead of asking for the ``[B, n_items]`` scores.
- ``save(path)`` / ``load(path)``: weights, hyperparameters and the fitted shapes, no
  arbitrary pickle; a file made for another model or item count is refused.
- ``Tags(iterative=False)``: the model does not fit in epochs, so the epoch budget,
  patience and validation metric are not part of its run identity.
- ``Tags(needs_item_features=True)``: the model reads item side information,
  ``TrainData.items`` (and ``ScoreBatch.items``), an :class:`~recplug.data.items.ItemTable`
  with one row per item index; it raises DataError when a dataset has none.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from recplug.data.interactions import Interactions

RECPLUG_API = 1
PAD = -1  #: padding value of ``ScoreBatch.histories``


@dataclass(frozen=True)
class Tags:
    """Capabilities a model declares."""

    sequential: bool = False        #: uses the order of the history
    needs_timestamps: bool = False  #: cannot fit without timestamps
    supports_cuda: bool = False     #: fit/score can run on a CUDA device
    task: Literal["ranking", "rating"] = "ranking"
    #: fits in epochs: reads FitOptions.max_epochs, patience and the validator. False for
    #: closed-form or counting models, whose runs then ignore (and are not keyed by) them.
    iterative: bool = True
    #: reads item side information (``TrainData.items``); other models get ``items=None``
    needs_item_features: bool = False


class TrainData:
    """What ``fit`` receives: the training interactions and derived views.

    - ``csr``: binary user x item ``scipy.sparse.csr_matrix`` (float32, duplicates collapsed).
    - ``seq_indptr``/``seq_items``: per-user chronological sequences (duplicates kept).
    - ``timestamps``/``ratings``: aligned with ``interactions`` rows, or None.
    - ``items``: the item side information (:class:`~recplug.data.items.ItemTable`, row ``i``
      = item index ``i``) for models with ``Tags(needs_item_features=True)``, else None.
      Items with no training row (cold or metadata-only) are part of ``n_items``.
    """

    def __init__(self, interactions: Interactions, items: Any = None):
        if items is not None and items.n_items != interactions.n_items:
            from recplug.errors import DataError
            raise DataError(f"TrainData: the item table has {items.n_items} rows, the interactions "
                            f"{interactions.n_items} items; both must come from one dataset")
        self.interactions = interactions
        self.items = items
        self.n_users = interactions.n_users
        self.n_items = interactions.n_items
        self.csr: sp.csr_matrix = interactions.csr()
        self.seq_indptr, self.seq_items = interactions.sequences()
        self.timestamps = interactions.timestamps
        self.ratings = interactions.ratings

    def sequence(self, user: int) -> np.ndarray:
        """Chronological items of one user (int32)."""
        return self.seq_items[self.seq_indptr[user]:self.seq_indptr[user + 1]]

    def item_user_counts(self) -> np.ndarray:
        """Distinct users per item (int64[n_items]); interactions per item, duplicates
        counted: ``interactions.item_interaction_counts()``."""
        return np.bincount(self.csr.indices, minlength=self.n_items).astype(np.int64)

    def __len__(self) -> int:
        return len(self.interactions)


class ScoreBatch:
    """A batch of users to score, with their chronological histories.

    ``histories`` is int32 ``[B, L]``: each row holds the user's items oldest first,
    padded at the end with ``PAD`` (-1); ``lengths`` int32 ``[B]`` gives the real lengths.
    ``device`` is where the model was fitted (``"cpu"`` or ``"cuda:N"``).
    ``items`` is the item side information for models that declare
    ``Tags(needs_item_features=True)`` (else None), the same table ``fit`` received.
    The evaluator builds batches with :meth:`from_sequences`, which derives the padded
    ``histories`` only when a model reads them.
    """

    items: Any = None

    def __init__(self, users: np.ndarray, histories: np.ndarray, lengths: np.ndarray,
                 n_items: int, device: str = "cpu", items: Any = None):
        self.items = items
        self.users = np.ascontiguousarray(users, dtype=np.int32)
        self.n_items = int(n_items)
        self.device = device
        lengths = np.ascontiguousarray(lengths, dtype=np.int32)
        histories = np.asarray(histories, dtype=np.int32)
        if histories.ndim != 2 or histories.shape[0] != len(self.users) or len(lengths) != len(self.users):
            from recplug.errors import ContractError
            raise ContractError(f"ScoreBatch: histories {histories.shape} and lengths {lengths.shape} "
                             f"must have one row per user ({len(self.users)})")
        mask = np.arange(histories.shape[1])[None, :] < lengths[:, None]
        self._indptr = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        self._items = np.ascontiguousarray(histories[mask], dtype=np.int32)
        self._histories: np.ndarray | None = histories
        self._lengths = lengths

    @classmethod
    def from_sequences(cls, users: np.ndarray, seq_indptr: np.ndarray, seq_items: np.ndarray,
                       n_items: int, device: str = "cpu", items: Any = None) -> "ScoreBatch":
        """Batch of ``users`` whose histories are rows of a sequence CSR (indptr int64, items int32)."""
        users = np.ascontiguousarray(users, dtype=np.int32)
        starts = seq_indptr[users]
        lengths = (seq_indptr[users + 1] - starts).astype(np.int32)
        indptr = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
        total = int(indptr[-1])
        offsets = np.arange(total, dtype=np.int64) - np.repeat(indptr[:-1], lengths)
        items = seq_items[np.repeat(starts, lengths) + offsets] if total else np.zeros(0, np.int32)
        batch = cls.__new__(cls)
        batch.users, batch.n_items, batch.device = users, int(n_items), device
        batch._indptr, batch._items = indptr, np.ascontiguousarray(items, dtype=np.int32)
        batch._histories, batch._lengths = None, lengths
        batch.items = items
        return batch

    def __len__(self) -> int:
        return len(self.users)

    @property
    def lengths(self) -> np.ndarray:
        return self._lengths

    @property
    def histories(self) -> np.ndarray:
        if self._histories is None:
            width = int(self._lengths.max()) if len(self._lengths) else 0
            padded = np.full((len(self.users), width), PAD, dtype=np.int32)
            padded[np.arange(width)[None, :] < self._lengths[:, None]] = self._items
            self._histories = padded
        return self._histories

    def history_items(self) -> tuple[np.ndarray, np.ndarray]:
        """Histories as CSR: (indptr int64 [B+1], items int32, oldest first per row)."""
        return self._indptr, self._items

    def recent(self, max_len: int, pad: int = 0, shift: int = 0) -> np.ndarray:
        """The last ``max_len`` items of each history, right-aligned, int64 ``[B, max_len]``.

        Items are offset by ``shift`` (e.g. 1 when index 0 is a model's padding id) and
        the left padding is ``pad``: the layout SASRec-style models feed their encoder.
        """
        out = np.full((len(self.users), max_len), pad, dtype=np.int64)
        take = np.minimum(self._lengths, max_len).astype(np.int64)
        rows = np.repeat(np.arange(len(self.users)), take)
        within = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
        source = np.repeat(self._indptr[1:] - take, take) + within
        out[rows, max_len - np.repeat(take, take) + within] = self._items[source].astype(np.int64) + shift
        return out

    def history_csr(self) -> sp.csr_matrix:
        """Binary ``[B, n_items]`` CSR of the histories (duplicates collapsed)."""
        # copies: sum_duplicates sorts in place and must not reorder the batch's history
        m = sp.csr_matrix((np.ones(len(self._items), dtype=np.float32), self._items.copy(),
                           self._indptr.copy()), shape=(len(self.users), self.n_items))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m


@dataclass(frozen=True)
class EpochReport:
    """What a model reports after each epoch (fed to progress bars)."""

    epoch: int
    loss: float | None = None
    validation: float | None = None
    extra: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class Validator(Protocol):
    """Early-stopping hook: ``validator(model)`` returns the validation metric (higher is better)."""

    metric: str

    def __call__(self, model: Any) -> float: ...


@dataclass
class FitOptions:
    """Run-time settings for ``fit`` (not hyperparameters)."""

    device: str = "cpu"
    seed: int = 0
    threads: int = 1
    max_epochs: int | None = None       #: epoch budget; None = the model's own default
    patience: int = 5                   #: epochs without improvement before stopping
    progress: Callable[[EpochReport], None] | None = None
    validator: Validator | None = None


@runtime_checkable
class FactorModel(Protocol):
    """A model whose scores are ``user_vecs @ item_vecs.T (+ item_bias)`` declares its factors.

    ``latent_factors(batch)`` returns ``(user_vecs [B, d], item_vecs [n_items, d], item_bias
    [n_items] or None)``, float32 NumPy arrays or CPU torch tensors, for the users of
    ``batch``. On the CPU the evaluator then ranks with ``kernels.fused_topk`` and never
    builds the ``[B, n_items]`` score matrix; ``score(batch)`` must still give the same
    scores (the kit checks both agree, up to float32 rounding, and rank alike).
    """

    def latent_factors(self, batch: "ScoreBatch") -> tuple[Any, Any, Any]: ...


def reads_items(cls: type) -> bool:
    """Whether a model class declares ``Tags.needs_item_features`` (it gets the item table)."""
    return bool(getattr(getattr(cls, "tags", None), "needs_item_features", False))


def param_names(cls: type) -> list[str]:
    """Hyperparameter names of a model class: the named parameters of its ``__init__``."""
    sig = inspect.signature(cls.__init__)
    return [p.name for p in sig.parameters.values()
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


class Model:
    """Optional base class: stores hyperparameters, introspects them, clones."""

    recplug_api: int = RECPLUG_API
    tags: Tags = Tags()

    @classmethod
    def _param_names(cls) -> list[str]:
        return param_names(cls)

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__`` (read from same-named attributes)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "Model":
        unknown = set(params) - set(self._param_names())
        if unknown:
            from recplug.errors import ConfigError
            raise ConfigError(f"{type(self).__name__} has no hyperparameter(s) {sorted(unknown)}; "
                              f"known: {self._param_names()}")
        for k, v in params.items():
            setattr(self, k, v)
        return self

    def clone(self) -> "Model":
        """A new unfitted model with the same hyperparameters."""
        return type(self)(**self.get_params())

    def fit(self, train: TrainData, options: FitOptions) -> "Model":  # pragma: no cover
        raise NotImplementedError

    def score(self, batch: ScoreBatch) -> Any:  # pragma: no cover
        raise NotImplementedError
