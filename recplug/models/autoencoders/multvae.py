"""Mult-VAE: a variational autoencoder with a multinomial likelihood and KL annealing
(Liang et al., WWW 2018)."""

from __future__ import annotations

from typing import Any

from recplug.models.autoencoders._rows import RowBatch, SparseRows, UserRowModel, dense_stack, row_input_layer
from recplug.training.constraints import Integer, Real
from recplug.training.losses import kl_normal, multinomial_nll


class MultVAE(UserRowModel):
    """Encoder: user row -> L2 normalisation -> input dropout -> ``hidden`` (tanh) -> mean and
    log-variance of a ``latent``-dimensional Gaussian; decoder: ``latent`` -> ``hidden``
    (tanh) -> logits over the items. Loss per batch: multinomial NLL of the row under the
    softmax of the decoded sample + β · KL(q(z|row) ‖ N(0, I)), means over users, with β
    annealed linearly by optimizer step, ``β = min(anneal_cap, step / total_anneal_steps)``.
    Adam.

    Paper defaults: ``hidden=600``, ``latent=200``, ``dropout=0.5``, ``anneal_cap=0.2``,
    ``total_anneal_steps=200000``, ``batch_size=500`` users, ``lr=1e-3``. Scores decode
    the mean (no sampling, no dropout) of the history row: logits, float32 ``[B, n_items]``.
    """

    parameter_constraints = {
        "hidden": Integer(1, None, search=(100, 1000, "log")),
        "latent": Integer(1, None, search=(50, 400, "log")),
        "dropout": Real(0, 1, closed="left", search=(0.0, 0.8)),
        "anneal_cap": Real(0, None, search=(0.0, 1.0)),
        "total_anneal_steps": Integer(1, None, search=(1000, 400000, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(64, 1024, "log")),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, hidden: int = 600, latent: int = 200, dropout: float = 0.5, anneal_cap: float = 0.2,
                 total_anneal_steps: int = 200000, lr: float = 1e-3, batch_size: int = 500,
                 epochs: int = 200, eval_every: int = 5):
        self.hidden = hidden
        self.latent = latent
        self.dropout = dropout
        self.anneal_cap = anneal_cap
        self.total_anneal_steps = total_anneal_steps
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.input = row_input_layer(n_items, int(self.hidden))
        module.to_latent = dense_stack([int(self.hidden), 2 * int(self.latent)], "tanh")
        module.decoder = dense_stack([int(self.latent), int(self.hidden), n_items], "tanh")
        return module

    def encode(self, sparse: SparseRows) -> tuple[Any, Any]:
        """Mean and log-variance ``[B, latent]`` of q(z | row)."""
        import torch

        net = self.module_
        sparse = sparse.l2_normalized().dropped_out(float(self.dropout), net.training)
        mu, logvar = net.to_latent(torch.tanh(net.input(sparse))).chunk(2, dim=1)
        return mu, logvar

    def beta(self, step: int) -> float:
        """The KL weight after ``step`` optimizer steps."""
        return min(float(self.anneal_cap), step / int(self.total_anneal_steps))

    def row_loss(self, batch: RowBatch) -> Any:
        import torch

        mu, logvar = self.encode(SparseRows.from_dense(batch.rows))
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return (multinomial_nll(self.module_.decoder(z), batch.rows)
                + self.beta(batch.step) * kl_normal(mu, logvar))

    def row_scores(self, users: Any, sparse: SparseRows) -> Any:
        return self.module_.decoder(self.encode(sparse)[0])
