"""Matrix factorisation trained with Bayesian Personalised Ranking (Rendle et al., UAI 2009)."""

from __future__ import annotations

from typing import Any, Iterator

from recplug.contract import FitOptions, TrainData
from recplug.models._factors import TorchFactorModel, user_item_embeddings
from recplug.training import shuffled_batches
from recplug.training.constraints import Integer, Real
from recplug.training.losses import bpr_loss, l2_batch
from recplug.training.negatives import NegativeSampler


class BPR(TorchFactorModel):
    """User and item embeddings scored by dot product, trained with the BPR loss.

    Each epoch visits every distinct training pair once, in a seeded random order, with
    one uniformly sampled negative item per pair (never one of the user's positives).
    Loss per batch: ``-mean(log σ(x_ui - x_uj)) + reg · mean(|p_u|² + |q_i|² + |q_j|²)``,
    optimised with Adam. Hyperparameters: ``factors`` (embedding size), ``lr``, ``reg``,
    ``batch_size``, ``epochs`` (default budget; early stopping may end sooner),
    ``init_std`` (normal initialisation), ``eval_every`` (epochs between validations).
    Scores are float32 torch tensors ``[B, n_items]`` on the fit device; the factors are
    declared, so CPU evaluation runs the fused top-K kernel.
    """

    parameter_constraints = {
        "factors": Integer(1, None, search=(8, 256, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-1, "log")),
        "reg": Real(0, None, search=(1e-6, 1e-1, "log")),
        "batch_size": Integer(1, None, search=(256, 8192, "log")),
        "epochs": Integer(1, None),
        "init_std": Real(0, None, closed="neither", search=(1e-3, 0.3, "log")),
        "eval_every": Integer(1, None),
    }

    def __init__(self, factors: int = 64, lr: float = 1e-3, reg: float = 1e-4, batch_size: int = 1024,
                 epochs: int = 200, init_std: float = 0.1, eval_every: int = 5):
        self.factors = factors
        self.lr = lr
        self.reg = reg
        self.batch_size = batch_size
        self.epochs = epochs
        self.init_std = init_std
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.users, module.items = user_item_embeddings(n_users, n_items, self.factors, self.init_std)
        return module

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        self._sampler = NegativeSampler(train.csr, threads=int(options.threads or 0))
        self._pairs = self._sampler.positive_pairs()

    def triples(self, seed: int) -> tuple[Any, Any, Any]:
        """Every distinct training pair (users who consumed every item left out) with one
        uniform negative each: ``(users, positives, negatives)``, int64 ``[P]``."""
        users, items = self._pairs
        return users, items, self._sampler.sample(users, 1, seed=seed)[:, 0]

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        return shuffled_batches(self.triples(seed), int(self.batch_size), seed=seed, device=self.device_)

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        u, i, j = batch
        pu, qi, qj = self.module_.users(u), self.module_.items(i), self.module_.items(j)
        loss = bpr_loss((pu * qi).sum(dim=1), (pu * qj).sum(dim=1))
        return loss + float(self.reg) * l2_batch(pu, qi, qj) if self.reg else loss

    def user_vectors(self, users: Any) -> Any:
        return self.module_.users(users)

    def item_vectors(self) -> Any:
        return self.module_.items.weight
