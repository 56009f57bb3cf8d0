"""What GMF, MLP and NeuMF share: the two branches (embeddings, the halving MLP tower),
the output layer, scoring a block of users against every item, and the pointwise training
(observed pairs labelled 1, ``n_negatives`` sampled items per pair labelled 0, log loss).

Sizes follow the paper's tower: ``factors`` predictive factors and ``layers`` hidden layers
halving upwards, e.g. ``factors=8, layers=3`` -> embeddings of 32, tower 64 -> 32 -> 16 -> 8
(the paper's ``[64, 32, 16, 8]``; the first layer's input is the two embeddings concatenated).
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from recplug.contract import FitOptions, ScoreBatch, TrainData
from recplug.models._factors import user_item_embeddings
from recplug.models._torch import TorchModel
from recplug.training import shuffled_batches
from recplug.training.constraints import Integer, Real
from recplug.training.losses import l2_batch, pointwise_bce
from recplug.training.negatives import NegativeSampler, pointwise_examples

#: items scored at once by the tower (fixed, so scores never depend on how many items there are per call)
ITEM_CHUNK = 1024

#: the constraints every NCF model shares (each model adds its own)
SHARED_CONSTRAINTS = {
    "factors": Integer(1, None, search=(8, 64, "log")),
    "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
    "reg": Real(0, None, search=(1e-7, 1e-2, "log")),
    "n_negatives": Integer(1, None, search=(1, 10)),
    "batch_size": Integer(1, None, search=(128, 4096, "log")),
    "epochs": Integer(1, None),
    "init_std": Real(0, None, closed="neither", search=(1e-3, 0.1, "log")),
    "eval_every": Integer(1, None),
}
LAYERS = Integer(1, None, search=(1, 4))


def tower_sizes(factors: int, layers: int) -> list[int]:
    """Output sizes of the tower's hidden layers: ``[factors·2^(layers-1), ..., factors·2, factors]``.
    The embeddings have the first size, so the tower's input is twice it."""
    return [int(factors) * 2 ** (int(layers) - 1 - k) for k in range(int(layers))]


def gmf_branch(n_users: int, n_items: int, factors: int, init_std: float) -> Any:
    """``users``/``items`` embeddings ``[n, factors]``; the branch's output is ``p_u ⊙ q_i``."""
    import torch

    branch = torch.nn.Module()
    branch.users, branch.items = user_item_embeddings(n_users, n_items, int(factors), init_std)
    return branch


def mlp_branch(n_users: int, n_items: int, factors: int, layers: int, init_std: float) -> Any:
    """``users``/``items`` embeddings and ``tower`` (Linear + ReLU per hidden layer, Glorot-uniform
    weights, zero biases); the branch's output is ``tower([p_u, q_i])``, ``[factors]``."""
    import torch

    sizes = tower_sizes(factors, layers)
    branch = torch.nn.Module()
    branch.users, branch.items = user_item_embeddings(n_users, n_items, sizes[0], init_std)
    modules: list[Any] = []
    for inputs, outputs in zip([2 * sizes[0], *sizes[:-1]], sizes):
        linear = torch.nn.Linear(inputs, outputs)
        torch.nn.init.xavier_uniform_(linear.weight)
        torch.nn.init.zeros_(linear.bias)
        modules += [linear, torch.nn.ReLU()]
    branch.tower = torch.nn.Sequential(*modules)
    return branch


def output_layer(inputs: int) -> Any:
    """The prediction layer ``h`` (logit = h · x + b), LeCun-uniform weights as in the paper, zero bias."""
    import torch

    out = torch.nn.Linear(int(inputs), 1)
    torch.nn.init.kaiming_uniform_(out.weight, a=1.0, nonlinearity="sigmoid")
    torch.nn.init.zeros_(out.bias)
    return out


def mlp_pairs(branch: Any, users: Any, items: Any) -> tuple[Any, Any, Any]:
    """The MLP branch on aligned pairs: ``(tower output [B, factors], p_u [B, e], q_i [B, e])``."""
    import torch

    pu, qi = branch.users(users), branch.items(items)
    return branch.tower(torch.cat([pu, qi], dim=1)), pu, qi


def mlp_all_items(branch: Any, users: Any, weight: Any) -> Any:
    """``tower([p_u, q_i]) · weight`` for every user of ``users [B]`` and every item -> ``[B, n_items]``.

    The first layer is split into its user and item halves (``W [p; q] = W_u p + W_i q``), so
    each is multiplied once; the rest of the tower runs on ``ITEM_CHUNK`` items at a time.
    """
    import torch

    first = branch.tower[0]
    e = branch.users.embedding_dim
    from_users = branch.users(users) @ first.weight[:, :e].T + first.bias   # [B, h0]
    from_items = branch.items.weight @ first.weight[:, e:].T                # [N, h0]
    rest = branch.tower[1:]
    chunks = [rest(from_users[:, None, :] + from_items[None, start:start + ITEM_CHUNK, :]) @ weight
              for start in range(0, len(from_items), ITEM_CHUNK)]
    return torch.cat(chunks, dim=1)


class PointwiseNCF(TorchModel):
    """The training GMF, MLP and NeuMF share. Every epoch: each distinct training pair
    (label 1) and ``n_negatives`` items per pair drawn uniformly among the user's
    non-positives (label 0), shuffled into batches of ``batch_size`` examples; loss
    :func:`~recplug.training.losses.pointwise_bce` ``+ reg · l2_batch`` of the embedding rows
    used. A subclass defines ``build`` and ``pair_logits(users, items) -> (logits [B],
    embedding rows)``.
    """

    def pair_logits(self, users: Any, items: Any) -> tuple[Any, tuple[Any, ...]]:  # pragma: no cover
        raise NotImplementedError

    def optimizer(self, module: Any) -> Any:
        """Adam with the ``lr`` hyperparameter, its multi-tensor form (the same numbers, fewer calls)."""
        import torch

        return torch.optim.Adam(module.parameters(), lr=float(self.lr), foreach=True)

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        self._sampler = NegativeSampler(train.csr, threads=int(options.threads or 0))
        self._pairs = self._sampler.positive_pairs()

    def examples(self, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One epoch's ``(users, items, labels)``, unshuffled (see :func:`pointwise_examples`)."""
        return pointwise_examples(self._sampler, *self._pairs, int(self.n_negatives), seed=seed)

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        return shuffled_batches(self.examples(seed), int(self.batch_size), seed=seed, device=self.device_)

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        users, items, labels = batch
        logits, rows = self.pair_logits(users, items)
        loss = pointwise_bce(logits, labels)
        return loss + float(self.reg) * l2_batch(*rows) if self.reg else loss

    def score_inputs(self, batch: ScoreBatch) -> Any:
        import torch

        return torch.as_tensor(np.asarray(batch.users, dtype=np.int64), device=self.device_)
