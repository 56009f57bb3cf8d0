"""The one sequence encoder interface: a sequential model maps each user's recent history to
one vector, and its scores are that vector times the item embeddings (+ an optional item
bias). Declaring the two parts gives ``score()``, the :class:`~recplug.contract.FactorModel`
``latent_factors()`` the evaluator hands to the fused scoring + top-K kernel, and (by
default) next-item training with the shared windows, negatives and losses.

A subclass states only its network::

    class MyEncoder(SequenceEncoderModel):
        target_positions = "all"                 # or "last" (one target per prefix)
        parameter_constraints = {...}            # every __init__ parameter
        def build(self, n_users, n_items): ...   # the nn.Module (item table: n_items + 1 rows, 0 = padding)
        def encode_positions(self, seqs): ...    # "all": [B, L] -> [B, L, d], position t sees inputs <= t
        def encode(self, seqs): ...              # "last": [B, L] -> [B, d] (default: last position)
        def item_vectors(self): ...              # [n_items, d], row i = item i
        def item_bias(self): ...                 # optional [n_items]

Inputs ``seqs`` are int64 ``[B, max_len]``: the last ``max_len`` items, right-aligned,
ids ``item + 1`` and 0 as left padding (``ScoreBatch.recent(max_len, pad=0, shift=1)``).
The base reads the hyperparameters ``max_len``, ``batch_size``, ``lr``, ``epochs``,
``eval_every``, ``loss`` (one of :data:`LOSSES`) and, when the model has it, ``n_negatives``
(default 1).
"""

from __future__ import annotations

from typing import Any, Iterator, Literal

import numpy as np

from recplug.contract import FitOptions, ScoreBatch, Tags, TrainData
from recplug.errors import ModelError
from recplug.models._common import check_batch, check_fitted, in_fixed_blocks
from recplug.models._torch import TorchModel
from recplug.training import shuffled_batches
from recplug.training.losses import bce_loss, l2_batch, sampled_softmax, softmax_ce
from recplug.training.negatives import NegativeSampler
from recplug.training.sequences import next_item_prefixes, next_item_windows

#: ``ce``: full softmax cross-entropy over all items; ``bce``: binary cross-entropy against
#: ``n_negatives`` sampled negatives per target (SASRec's loss); ``sampled``: softmax over the
#: target and ``n_negatives`` uniformly sampled negatives
LOSSES = ("ce", "bce", "sampled")
Positions = Literal["all", "last"]


#: batches per group whose rows :meth:`SequenceEncoderModel.length_batches` sorts by length
LENGTH_GROUP = 32


def _without_padding_columns(batch: tuple[Any, ...]) -> tuple[Any, ...]:
    """``(inputs [b, L], targets, negatives)`` without the leading columns that are padding in
    every row; targets ``[b, L]`` and negatives ``[b, L, n]`` (a target per position) lose them too."""
    import torch

    seqs, targets = batch[0], batch[1]
    used = (seqs != 0).any(0)
    first = int(used.to(torch.int64).argmax()) if bool(used.any()) else 0
    if not first:
        return batch
    if targets.dim() == 1:                   # one target per row: only the inputs have positions
        return (seqs[:, first:], *batch[1:])
    return tuple(a[:, first:] for a in batch)


def item_table(n_items: int, size: int) -> Any:
    """``nn.Embedding(n_items + 1, size, padding_idx=0)`` drawn Xavier-normal, row 0 (padding) zero."""
    import torch
    from torch import nn

    table = nn.Embedding(n_items + 1, int(size), padding_idx=0)
    nn.init.xavier_normal_(table.weight)
    with torch.no_grad():
        table.weight[0].zero_()
    return table


class SequenceEncoderModel(TorchModel):
    """A :class:`TorchModel` scored by ``encode(recent history) @ item_vectors().T (+ item_bias())``.

    Scoring: ``score_inputs`` = the batch's recent histories; ``block_scores`` and
    ``latent_factors`` run the encoder on blocks of exactly ``SCORE_BLOCK`` rows, so a
    user's vector never depends on the batch it is scored in.

    Training (override ``prepare`` / ``epoch_batches`` / ``batch_loss`` for other schemes,
    e.g. session-parallel lanes, and reuse :meth:`next_item_loss`):

    - ``target_positions = "all"``: rows from :func:`~recplug.training.sequences.next_item_windows`,
      a target at every position, hidden states from ``encode_positions``;
    - ``target_positions = "last"``: one row per prefix from
      :func:`~recplug.training.sequences.next_item_prefixes` (each target with its own last
      ``max_len`` items), the target scored against ``encode``;
    - the loss per :data:`LOSSES`; negatives come from one
      :class:`~recplug.training.negatives.NegativeSampler` per fit (never the user's training
      items), drawn from the epoch seed.
    """

    tags = Tags(sequential=True, supports_cuda=True)
    target_positions: Positions = "all"
    #: True when ``encode``/``encode_positions`` give the same vectors whatever the left padding in
    #: front of a history: training then batches rows of similar length together
    #: (:meth:`length_batches`) and drops the columns that are padding in every row of a batch
    padding_invariant: bool = False

    # ---- what a subclass defines ----------------------------------------------------
    def encode(self, seqs: Any) -> Any:
        """One vector per row: int64 ``[B, L]`` -> ``[B, d]`` (default: ``encode_positions`` at the last position)."""
        return self.encode_positions(seqs)[:, -1, :]

    def encode_positions(self, seqs: Any) -> Any:  # pragma: no cover
        """Causal hidden states ``[B, L]`` -> ``[B, L, d]`` (needed for ``target_positions = "all"``)."""
        raise NotImplementedError(f"{type(self).__name__} defines no encode_positions()")

    def item_vectors(self) -> Any:  # pragma: no cover
        """Item embeddings ``[n_items, d]`` (row ``i`` scores item ``i``)."""
        raise NotImplementedError

    def item_bias(self) -> Any | None:
        """Optional per-item score offset ``[n_items]``."""
        return None

    def target_vectors(self, ids: Any) -> Any:
        """Vectors of shifted ids (``item + 1``, int64 ``[M]``) -> ``[M, d]``."""
        return self.item_vectors()[ids - 1]

    def embedding_penalty(self, used: Any) -> Any | None:
        """Optional regulariser on the target and negative vectors a batch used (``[M, d]``); None: none."""
        return None

    # ---- scoring ----------------------------------------------------------------------
    def score_inputs(self, batch: ScoreBatch) -> Any:
        import torch

        return torch.as_tensor(batch.recent(int(self.max_len), pad=0, shift=1), device=self.device_)

    def block_scores(self, seqs: Any) -> Any:
        scores = self.encode(seqs) @ self.item_vectors().T
        bias = self.item_bias()
        return (scores if bias is None else scores + bias).float()

    def latent_factors(self, batch: ScoreBatch) -> tuple[Any, Any, Any]:
        """(user_vecs [B, d], item_vecs [n_items, d], item_bias [n_items] or None), CPU float32 tensors."""
        import torch

        check_fitted(self, "module_")
        check_batch(self, batch, self.shapes_["n_items"])
        with torch.no_grad():
            users = in_fixed_blocks(self.encode, self.score_inputs(batch)).float().cpu()
            bias = self.item_bias()
            return users, self.item_vectors().float().cpu(), None if bias is None else bias.float().cpu()

    # ---- training -----------------------------------------------------------------------
    @property
    def _n_negatives(self) -> int:
        return int(getattr(self, "n_negatives", 1))

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        if self.target_positions not in ("all", "last"):
            raise ModelError(f"{type(self).__name__}.target_positions={self.target_positions!r}; "
                             "use 'all' or 'last'")
        rows = next_item_windows if self.target_positions == "all" else next_item_prefixes
        row_users, self._inputs, self._targets = rows(train.seq_indptr, train.seq_items, int(self.max_len))
        if self.loss != "ce":
            self._sampler = NegativeSampler(train.csr, threads=int(options.threads or 0))
            # targets that get sampled negatives: users who consumed every item have none
            has_negatives = self._sampler.users_with_negatives()[row_users]
            if self._targets.ndim == 2:
                self._valid = (self._targets != 0) & has_negatives[:, None]
                self._target_users = np.broadcast_to(row_users[:, None], self._targets.shape)[self._valid]
            else:
                self._valid = has_negatives
                self._target_users = row_users[has_negatives]

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        """``(inputs [b, L], targets [b, L] or [b])`` (+ ``negatives [b, L, n] or [b, n]``, 0 = none)."""
        arrays = [self._inputs, self._targets]
        if self.loss != "ce":
            n = self._n_negatives
            negatives = np.zeros(self._targets.shape + (n,), dtype=np.int64)
            negatives[self._valid] = self._sampler.sample(self._target_users, n, seed=seed) + 1
            arrays.append(negatives)
        if self.padding_invariant:
            return self.length_batches(arrays, int(self.batch_size), seed=seed)
        return shuffled_batches(arrays, int(self.batch_size), seed=seed, device=self.device_)

    def length_batches(self, arrays: list[np.ndarray], batch_size: int, *, seed: int) -> Iterator[tuple[Any, ...]]:
        """Batches of rows of similar history length, in a seeded random order.

        Rows are permuted (``default_rng(seed)``), sorted stably by length within groups of
        :data:`LENGTH_GROUP` batches, cut into batches of ``batch_size``, and the batches
        shuffled (same generator): every row once per epoch, and a batch's columns of
        padding shrink to those of its longest row.
        """
        import torch

        rng = np.random.default_rng(seed)
        order = rng.permutation(len(arrays[0]))
        lengths = (self._inputs != 0).sum(1)
        group = batch_size * LENGTH_GROUP
        for start in range(0, len(order), group):
            chunk = order[start:start + group]
            order[start:start + group] = chunk[np.argsort(lengths[chunk], kind="stable")]
        starts = np.arange(0, len(order), batch_size)[rng.permutation(-(-len(order) // batch_size))]
        tensors = [torch.from_numpy(np.ascontiguousarray(a[order])).to(self.device_, non_blocking=True)
                   for a in arrays]
        for begin in starts:
            yield tuple(t[begin:begin + batch_size] for t in tensors)

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        if self.padding_invariant:
            batch = _without_padding_columns(batch)
        seqs, targets = batch[0], batch[1]
        hidden = self.encode_positions(seqs) if targets.dim() == 2 else self.encode(seqs)
        return self.next_item_loss(hidden, targets, batch[2] if len(batch) > 2 else None)

    def next_item_loss(self, hidden: Any, targets: Any, negatives: Any | None = None) -> Any:
        """The ``loss`` of hidden states against their next items.

        ``hidden [B, L, d]`` with ``targets [B, L]`` (0 = no target) or ``hidden [B, d]``
        with ``targets [B]``; ``negatives`` (shifted ids, 0 = none) ``[B, L, n]`` / ``[B, n]``
        for ``bce`` and ``sampled``. Adds ``embedding_penalty`` of the vectors used.
        """
        import torch

        mask = targets != 0
        h, pos = hidden[mask], targets[mask]
        bias = self.item_bias()
        if self.loss == "ce":
            logits = h @ self.item_vectors().T
            loss = softmax_ce(logits if bias is None else logits + bias, pos - 1)
            used = self.target_vectors(pos)
        else:
            if negatives is None:
                raise ModelError(f"{type(self).__name__}: loss={self.loss!r} needs sampled negatives")
            pos_vecs = self.target_vectors(pos)
            if negatives.shape[-1] == 1:            # one negative per target: SASRec's layout
                negatives = negatives[..., 0]
                neg_mask = negatives != 0
                neg_hidden = hidden[neg_mask]
            else:
                neg_mask = negatives != 0
                neg_hidden = hidden.unsqueeze(-2).expand(*negatives.shape, hidden.shape[-1])[neg_mask]
            neg_vecs = self.target_vectors(negatives[neg_mask])
            pos_logits, neg_logits = (h * pos_vecs).sum(-1), (neg_hidden * neg_vecs).sum(-1)
            if bias is not None:
                pos_logits = pos_logits + bias[pos - 1]
                neg_logits = neg_logits + bias[negatives[neg_mask] - 1]
            if self.loss == "bce":
                loss = bce_loss(pos_logits, neg_logits)
            else:
                loss = self._sampled(pos_logits, neg_logits, mask, negatives)
            used = torch.cat([pos_vecs, neg_vecs])
        penalty = self.embedding_penalty(used)
        return loss if penalty is None else loss + penalty

    @staticmethod
    def _sampled(pos_logits: Any, neg_logits: Any, mask: Any, negatives: Any) -> Any:
        """Sampled softmax over the targets that have negatives (``pos [M']``, ``neg [M', n]``)."""
        first = negatives if negatives.dim() == mask.dim() else negatives[..., 0]
        keep = (first != 0)[mask]
        return sampled_softmax(pos_logits[keep], neg_logits.view(int(keep.sum()), -1))


def l2_penalty(weight: float, used: Any) -> Any | None:
    """``weight * l2_batch(used)`` (None when ``weight`` is 0): an ``embedding_penalty`` body."""
    return float(weight) * l2_batch(used.float()) if weight else None
