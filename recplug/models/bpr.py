"""Matrix factorisation trained with Bayesian Personalised Ranking (Rendle et al., UAI 2009)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from recplug import kernels
from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.errors import ConfigError
from recplug.models._common import check_batch, check_fitted, in_fixed_blocks
from recplug.training import Trainer, fit_context, resolve_device, shuffled_batches


def _module(n_users: int, n_items: int, factors: int, init_std: float) -> Any:
    import torch

    class MF(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.users = torch.nn.Embedding(n_users, factors)
            self.items = torch.nn.Embedding(n_items, factors)
            torch.nn.init.normal_(self.users.weight, std=init_std)
            torch.nn.init.normal_(self.items.weight, std=init_std)

    return MF()


def bpr_triples(csr: Any, seed: int, threads: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every training pair (user, positive) with one uniform negative each, int64 arrays.

    Negatives come from ``kernels.sample_negatives`` and are never a positive of that user;
    users who consumed every item have no negative and are left out.
    """
    counts = np.diff(csr.indptr)
    users = np.repeat(np.arange(csr.shape[0], dtype=np.int32), counts)
    items = csr.indices
    full = counts >= csr.shape[1]
    if full.any():
        keep = ~full[users]
        users, items = users[keep], items[keep]
    negatives = kernels.sample_negatives(users, csr.indptr, csr.indices, csr.shape[1], 1,
                                         seed=seed, threads=threads)[:, 0]
    return users.astype(np.int64), items.astype(np.int64), negatives.astype(np.int64)


class BPR(Model):
    """User and item embeddings scored by dot product, trained with the BPR loss.

    Each epoch visits every distinct training pair once, in a seeded random order, with
    one uniformly sampled negative item per pair (never one of the user's positives).
    Loss per batch: ``-mean(log σ(x_ui - x_uj)) + reg · mean(|p_u|² + |q_i|² + |q_j|²)``,
    optimised with Adam. Hyperparameters: ``factors`` (embedding size), ``lr``, ``reg``,
    ``batch_size``, ``epochs`` (default budget; early stopping may end sooner),
    ``init_std`` (normal initialisation), ``eval_every`` (epochs between validations).
    Scores are float32 torch tensors ``[B, n_items]`` on the fit device.
    """

    tags = Tags(supports_cuda=True)

    def __init__(self, factors: int = 64, lr: float = 1e-3, reg: float = 1e-4, batch_size: int = 1024,
                 epochs: int = 200, init_std: float = 0.1, eval_every: int = 5):
        self.factors = factors
        self.lr = lr
        self.reg = reg
        self.batch_size = batch_size
        self.epochs = epochs
        self.init_std = init_std
        self.eval_every = eval_every

    def _check_params(self) -> None:
        for name in ("factors", "batch_size", "epochs", "eval_every"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ConfigError(f"BPR: {name} must be a positive integer, got {value!r}")
        for name in ("lr", "init_std"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"BPR: {name} must be > 0, got {getattr(self, name)!r}")
        if self.reg < 0:
            raise ConfigError(f"BPR: reg must be >= 0, got {self.reg!r}")

    def fit(self, train: TrainData, options: FitOptions) -> "BPR":
        import torch

        self._check_params()
        device = resolve_device(options.device)
        csr = train.csr
        threads = int(options.threads or 0)
        with fit_context(options):
            module = _module(train.n_users, train.n_items, int(self.factors), float(self.init_std)).to(device)
            self.module_ = module
            self.device_ = device
            optimizer = torch.optim.Adam(module.parameters(), lr=self.lr)
            reg = float(self.reg)

            def epoch_batches(epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
                triples = bpr_triples(csr, seed, threads)
                return shuffled_batches(triples, int(self.batch_size), seed=seed, device=device)

            def loss_fn(batch: tuple[Any, ...]) -> Any:
                u, i, j = batch
                pu, qi, qj = module.users(u), module.items(i), module.items(j)
                diff = (pu * (qi - qj)).sum(dim=1)
                loss = -torch.nn.functional.logsigmoid(diff).mean()
                if reg:
                    loss = loss + reg * (pu.square().sum() + qi.square().sum() + qj.square().sum()) / len(u)
                return loss

            trainer = Trainer(options, epochs=int(self.epochs), eval_every=int(self.eval_every))
            self.train_result_ = trainer.fit(self, module, optimizer, epoch_batches, loss_fn)
        return self

    def score(self, batch: ScoreBatch) -> Any:
        import torch

        check_fitted(self, "module_")
        check_batch(self, batch, self.module_.items.num_embeddings)
        with torch.no_grad():
            users = torch.as_tensor(np.asarray(batch.users, dtype=np.int64), device=self.device_)
            items = self.module_.items.weight
            return in_fixed_blocks(lambda u: u @ items.T, self.module_.users(users))
