"""GRU4Rec trained one epoch the usual third-party way: per-user sequences padded in Python,
a shuffled default DataLoader over users, the GRU stepped over each batch's padded length
(state zeroed per batch), the step's batch targets plus ``n_sample`` NumPy popularity samples
as negatives; the same network, cross-entropy with logQ, lanes/batch size and Adagrad as ``GRU4Rec``.

Run it on Beauty-shaped data (the harness's default is ML-1M-shaped)::

    python -c "from recplug.bench.straight.gru4rec import main; main()"
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.contract import TrainData

TARGET = 2.0
ALTERNATIVE = "Python-padded user sequences + NumPy samples + torch DataLoader(TensorDataset)"
LABEL = "the defaults: hidden 100, cross-entropy with logQ, 2,048 samples, batch=64"


def padded_sequences(train: TrainData, max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(items int64 [users, max_len] right-padded with -1, lengths int64 [users]): the last
    ``max_len`` items of every user with at least two, built in Python."""
    rows, lengths = [], []
    for u in range(train.n_users):
        seq = [int(i) for i in train.sequence(u)][-max_len:]
        if len(seq) >= 2:
            rows.append(seq + [-1] * (max_len - len(seq)))
            lengths.append(len(seq))
    return np.array(rows, dtype=np.int64), np.array(lengths, dtype=np.int64)


def one_epoch(train: TrainData, params: dict[str, Any], *, seed: int, threads: int) -> None:
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from recplug.models.sequential.gru4rec import GRU4Rec, indexed_adagrad

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = GRU4Rec(**params)
    net = model.build(train.n_users, train.n_items)
    net.train()
    optimizer = indexed_adagrad(net.parameters(), lr=params["lr"], momentum=params["momentum"])
    counts = np.bincount(train.seq_items, minlength=train.n_items).astype(np.float64)
    q = counts ** params["sample_alpha"]
    q /= q.sum()
    log_counts = torch.as_tensor(np.log(np.maximum(counts, 1)), dtype=torch.float32)
    items, lengths = padded_sequences(train, params["max_len"])
    data = TensorDataset(torch.from_numpy(items), torch.from_numpy(lengths))
    for seqs, length in DataLoader(data, batch_size=params["batch_size"], shuffle=True):
        seqs = seqs[:, :int(length.max())]
        states = [torch.zeros(len(seqs), params["hidden"]) for _ in range(params["n_layers"])]
        for t in range(seqs.shape[1] - 1):
            active = (seqs[:, t + 1] >= 0).nonzero()[:, 0]
            x, y = seqs[active, t], seqs[active, t + 1]
            samples = torch.from_numpy(rng.choice(train.n_items, size=params["n_sample"], p=q))
            optimizer.zero_grad()
            new = net.step(x, [s[active].detach() for s in states])
            for s, n in zip(states, new):
                s[active] = n.detach()
            columns = torch.cat([y, samples])
            logits = new[-1] @ net.outputs(columns).T + net.output_bias(columns)[:, 0]
            log_q = torch.cat([log_counts[y], params["sample_alpha"] * log_counts[samples]])
            logits = logits - params["logq"] * log_q
            loss = torch.nn.functional.cross_entropy(logits, torch.arange(len(active)), reduction="sum")
            (loss / params["batch_size"]).backward()
            optimizer.step()
            loss.item()


def main(threads: int = 1, data: TrainData | None = None) -> None:
    """Print the benchmark row on Beauty-shaped data (``recplug bench train gru4rec`` uses ML-1M-shaped data)."""
    from recplug.bench.straight._sequences import beauty_shaped
    from recplug.bench.train import run

    for row in run("gru4rec", repeats=1, threads=threads, data=beauty_shaped() if data is None else data):
        print(row.to_dict())
