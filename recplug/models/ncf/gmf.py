"""GMF: generalized matrix factorization (He et al., WWW 2017, section 3.2)."""

from __future__ import annotations

from typing import Any

from recplug.models._factors import TorchFactorModel
from recplug.models.ncf._towers import SHARED_CONSTRAINTS, PointwiseNCF, gmf_branch, output_layer


class GMF(PointwiseNCF, TorchFactorModel):
    """User and item embeddings, their element-wise product, a linear output layer ``h``:
    ``logit(u, i) = (p_u ⊙ q_i) · h + b``, trained pointwise (see :class:`PointwiseNCF`) with Adam.

    The score is a dot product, ``p_u · (q_i ⊙ h) + b``, so the factors are declared
    (user vectors ``p_u``, item vectors ``q_i ⊙ h``, item bias ``b``) and CPU evaluation runs
    the fused top-K kernel. Hyperparameters: ``factors`` (embedding size; the paper's
    predictive factors), ``lr``, ``reg`` (L2 on the embedding rows of a batch),
    ``n_negatives`` (sampled per positive per epoch), ``batch_size`` (examples),
    ``epochs`` (default budget), ``init_std`` (normal initialisation of the embeddings),
    ``eval_every``. Scores: float32 torch tensors ``[B, n_items]`` (logits) on the fit device.
    """

    parameter_constraints = dict(SHARED_CONSTRAINTS)

    def __init__(self, factors: int = 32, lr: float = 2e-3, reg: float = 1e-4, n_negatives: int = 4,
                 batch_size: int = 1024, epochs: int = 100, init_std: float = 0.01, eval_every: int = 1):
        self.factors = factors
        self.lr = lr
        self.reg = reg
        self.n_negatives = n_negatives
        self.batch_size = batch_size
        self.epochs = epochs
        self.init_std = init_std
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.gmf = gmf_branch(n_users, n_items, int(self.factors), float(self.init_std))
        module.out = output_layer(int(self.factors))
        return module

    def pair_logits(self, users: Any, items: Any) -> tuple[Any, tuple[Any, ...]]:
        pu, qi = self.module_.gmf.users(users), self.module_.gmf.items(items)
        return self.module_.out(pu * qi)[:, 0], (pu, qi)

    def user_vectors(self, users: Any) -> Any:
        return self.module_.gmf.users(users)

    def item_vectors(self) -> Any:
        return self.module_.gmf.items.weight * self.module_.out.weight[0]

    def item_bias(self) -> Any:
        return self.module_.out.bias.expand(self.module_.gmf.items.num_embeddings)
