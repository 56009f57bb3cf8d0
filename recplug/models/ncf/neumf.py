"""NeuMF: GMF and MLP fused under one output layer (He et al., WWW 2017, section 3.4)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from recplug.contract import FitOptions, TrainData
from recplug.models.ncf._towers import (LAYERS, SHARED_CONSTRAINTS, PointwiseNCF, gmf_branch, mlp_all_items,
                                        mlp_branch, mlp_pairs, output_layer)
from recplug.training.constraints import Boolean, Integer, Real
from recplug.training.seeding import derive_seed


class NeuMF(PointwiseNCF):
    """A GMF branch and an MLP branch with separate embeddings, their outputs concatenated
    into one linear output layer: ``logit(u, i) = h · [p_u ⊙ q_i ; tower([p'_u, q'_i])] + b``,
    trained pointwise (see :class:`PointwiseNCF`).

    ``factors`` is both the GMF embedding size and the tower's last size, ``layers`` the
    number of hidden layers (as :class:`~recplug.models.ncf.mlp.MLP`).

    ``pretrain=False``: every weight starts fresh and Adam(``lr``) trains the whole network.
    ``pretrain=True`` (the paper's best variant): first a GMF and an MLP with the same
    hyperparameters are fitted for ``pretrain_epochs`` epochs each (Adam(``lr``), seeds
    derived from the fit seed, no validation and no progress reports: ``max_epochs``,
    patience and the validator apply to NeuMF's own epochs); their embeddings and towers
    are copied in, ``h = [alpha·h_GMF ; (1 - alpha)·h_MLP]`` and ``b = alpha·b_GMF + (1 - alpha)·b_MLP``;
    NeuMF is then trained with plain SGD at ``finetune_lr`` (the paper's vanilla SGD:
    Adam's moment estimates of the two fits are not carried over).
    Scores (logits) are float32 torch tensors ``[B, n_items]`` on the fit device.
    """

    parameter_constraints = {
        **SHARED_CONSTRAINTS,
        "layers": LAYERS,
        "pretrain": Boolean(search=True),
        "alpha": Real(0, 1, search=(0.0, 1.0)),
        "pretrain_epochs": Integer(1, None, search=(5, 50)),
        "finetune_lr": Real(0, None, closed="neither", search=(1e-4, 1e-1, "log")),
    }

    def __init__(self, factors: int = 8, layers: int = 3, lr: float = 2e-3, reg: float = 0.0,
                 n_negatives: int = 4, batch_size: int = 1024, epochs: int = 100, init_std: float = 0.01,
                 eval_every: int = 1, pretrain: bool = True, alpha: float = 0.5, pretrain_epochs: int = 20,
                 finetune_lr: float = 1e-2):
        self.factors = factors
        self.layers = layers
        self.lr = lr
        self.reg = reg
        self.n_negatives = n_negatives
        self.batch_size = batch_size
        self.epochs = epochs
        self.init_std = init_std
        self.eval_every = eval_every
        self.pretrain = pretrain
        self.alpha = alpha
        self.pretrain_epochs = pretrain_epochs
        self.finetune_lr = finetune_lr

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        f, init_std = int(self.factors), float(self.init_std)
        module = torch.nn.Module()
        module.gmf = gmf_branch(n_users, n_items, f, init_std)
        module.mlp = mlp_branch(n_users, n_items, f, int(self.layers), init_std)
        module.out = output_layer(2 * f)
        return module

    def optimizer(self, module: Any) -> Any:
        import torch

        if self.pretrain:
            return torch.optim.SGD(module.parameters(), lr=float(self.finetune_lr), foreach=True)
        return super().optimizer(module)

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        if self.pretrain:
            self._initialise_from(*self._pretrained(train, options))
        super().prepare(train, options)

    def _pretrained(self, train: TrainData, options: FitOptions) -> tuple[Any, Any]:
        """A GMF and an MLP fitted with NeuMF's hyperparameters for ``pretrain_epochs`` epochs each."""
        from recplug.models.ncf.gmf import GMF
        from recplug.models.ncf.mlp import MLP

        shared = dict(factors=self.factors, lr=self.lr, reg=self.reg, n_negatives=self.n_negatives,
                      batch_size=self.batch_size, epochs=self.pretrain_epochs, init_std=self.init_std)
        fitted = []
        for name, model in (("gmf", GMF(**shared)), ("mlp", MLP(layers=self.layers, **shared))):
            stage = replace(options, seed=derive_seed(options.seed, "pretrain", name), max_epochs=None,
                            progress=None, validator=None)
            model.fit(train, stage)
            if model.train_result_.stopped == "interrupted":
                raise KeyboardInterrupt  # Ctrl-C during pretraining stops the whole fit
            fitted.append(model.module_)
        return fitted[0], fitted[1]

    def _initialise_from(self, gmf: Any, mlp: Any) -> None:
        import torch

        a = float(self.alpha)
        self.module_.gmf.load_state_dict(gmf.gmf.state_dict())
        self.module_.mlp.load_state_dict(mlp.mlp.state_dict())
        with torch.no_grad():
            self.module_.out.weight.copy_(torch.cat([a * gmf.out.weight, (1 - a) * mlp.out.weight], dim=1))
            self.module_.out.bias.copy_(a * gmf.out.bias + (1 - a) * mlp.out.bias)

    def pair_logits(self, users: Any, items: Any) -> tuple[Any, tuple[Any, ...]]:
        import torch

        pu, qi = self.module_.gmf.users(users), self.module_.gmf.items(items)
        hidden, mu, mi = mlp_pairs(self.module_.mlp, users, items)
        return self.module_.out(torch.cat([pu * qi, hidden], dim=1))[:, 0], (pu, qi, mu, mi)

    def block_scores(self, users: Any) -> Any:
        out, f = self.module_.out, int(self.factors)
        h_gmf, h_mlp = out.weight[0, :f], out.weight[0, f:]
        gmf = (self.module_.gmf.users(users) * h_gmf) @ self.module_.gmf.items.weight.T
        return gmf + mlp_all_items(self.module_.mlp, users, h_mlp) + out.bias
