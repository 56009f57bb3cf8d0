"""Mult-VAE trained one epoch the usual way: a map-style Dataset whose ``__getitem__`` builds
one user's dense row from the CSR in Python, a shuffled default DataLoader stacking them,
and the same network written with dense ``nn.Linear`` layers (the first one multiplies the
whole ``[batch, n_items]`` row), the same multinomial + annealed-KL loss, Adam.

:func:`peak_rss` is the memory check: ours fitted one epoch and evaluated with full ranking
at the ``large`` scale of ``recplug bench eval`` (100,000 users x 50,000 items), in a fresh process.
"""

from __future__ import annotations

from typing import Any

from recplug.contract import TrainData

TARGET = 2.0
LABEL = "600-200 encoder, dropout 0.5, batches of 500 users"
ALTERNATIVE = "torch DataLoader over dense rows built per user in Python, dense first layer"


def one_epoch(train: TrainData, params: dict[str, Any], *, seed: int, threads: int) -> None:
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn
    from torch.utils.data import DataLoader, Dataset

    torch.manual_seed(seed)
    np.random.seed(seed)
    csr = train.csr
    hidden, latent = params["hidden"], params["latent"]

    class Rows(Dataset):
        def __len__(self) -> int:
            return csr.shape[0]

        def __getitem__(self, user: int) -> torch.Tensor:
            return torch.from_numpy(csr[user].toarray()[0].astype(np.float32))

    class VAE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Linear(train.n_items, hidden)
            self.to_latent = nn.Linear(hidden, 2 * latent)
            self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.Tanh(), nn.Linear(hidden, train.n_items))
            self.drop = nn.Dropout(params["dropout"])

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
            h = torch.tanh(self.encoder(self.drop(F.normalize(x))))
            mu, logvar = self.to_latent(h).chunk(2, dim=1)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
            return self.decoder(z), mu, logvar

    model = VAE()
    optimizer = torch.optim.Adam(model.parameters(), lr=params["lr"])
    model.train()
    for step, rows in enumerate(DataLoader(Rows(), batch_size=params["batch_size"], shuffle=True)):
        optimizer.zero_grad()
        logits, mu, logvar = model(rows)
        nll = -(F.log_softmax(logits, 1) * rows).sum(1).mean()
        kl = (0.5 * (logvar.exp() + mu.square() - 1 - logvar).sum(1)).mean()
        beta = min(params["anneal_cap"], step / params["total_anneal_steps"])
        loss = nll + beta * kl
        loss.backward()
        optimizer.step()
        loss.item()


def peak_rss(*, threads: int = 1, shape: tuple[int, int, int] | None = None) -> int:
    """Peak resident memory (bytes) of a fresh process that generates synthetic data of
    ``shape`` = (users, items, interactions) (default: the ``large`` scale of
    :data:`recplug.bench.eval.SCALES`), splits it (leave-one-out), fits our MultVAE (paper
    defaults) for one epoch and evaluates it with full ranking (batches of 1,024 users).
    The child reports its own high-water mark, as :func:`recplug.bench.eval.evaluation_peak_rss`."""
    import subprocess
    import sys

    from recplug.bench.eval import SCALES

    shape = tuple(int(n) for n in (shape or SCALES["large"]))
    code = ("from recplug.bench.straight.multvae import _fit_and_evaluate_once; "
            "from recplug.bench.eval import _own_peak_rss; "
            f"_fit_and_evaluate_once({shape!r}, {int(threads)}); print(_own_peak_rss())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def _fit_and_evaluate_once(shape: tuple[int, int, int], threads: int) -> None:
    from recplug.contract import FitOptions
    from recplug.data.synthetic import generate
    from recplug.evaluation import EvalConfig, evaluate
    from recplug.models.autoencoders.multvae import MultVAE
    from recplug.splits import make_split

    n_users, n_items, n_inter = shape
    split = make_split(generate(n_users, n_items, n_inter, seed=0), "loo")
    model = MultVAE().fit(TrainData(split.train), FitOptions(seed=0, threads=threads, max_epochs=1))
    evaluate(model, split, "test", EvalConfig(ks=(10, 20), threads=threads, batch_size=1024))
