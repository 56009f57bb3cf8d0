"""BERT4Rec trained one epoch the usual PyTorch way: each user's last ``max_len`` items padded
in Python, items masked token by token in ``Dataset.__getitem__`` (Python ``random``), a
shuffled default DataLoader, logits at every position and cross-entropy ignoring the
unmasked ones; the same network, loss, batch size and AdamW as ``BERT4Rec``.

Run it on Beauty-shaped data (the harness's default is ML-1M-shaped)::

    python -c "from recplug.bench.straight.bert4rec import main; main()"
"""

from __future__ import annotations

import random
from typing import Any

from recplug.contract import TrainData

TARGET = 2.0
PARAMS = {"max_len": 50, "mask_prob": 0.6}
ALTERNATIVE = "Python-masked padded sequences in a Dataset + torch DataLoader, logits at every position"
LABEL = "max_len 50, mask_prob 0.6 (Beauty), hidden 64, 2 blocks, batch=256"


def one_epoch(train: TrainData, params: dict[str, Any], *, seed: int, threads: int) -> None:
    import torch
    from torch.utils.data import DataLoader, Dataset

    from recplug.models.sequential.bert4rec import BERT4Rec

    torch.manual_seed(seed)
    random.seed(seed)
    max_len, mask_id = params["max_len"], train.n_items + 1
    net = BERT4Rec(**params).build(train.n_users, train.n_items)
    net.train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=params["lr"], weight_decay=params["weight_decay"])
    sequences = [[int(i) + 1 for i in train.sequence(u)][-max_len:] for u in range(train.n_users)]

    class Cloze(Dataset):
        def __len__(self) -> int:
            return len(sequences)

        def __getitem__(self, index: int) -> tuple[Any, Any]:
            tokens, labels = [], []
            for item in sequences[index]:
                if random.random() < params["mask_prob"]:
                    tokens.append(mask_id)
                    labels.append(item)
                else:
                    tokens.append(item)
                    labels.append(0)
            pad = max_len - len(tokens)
            return torch.tensor([0] * pad + tokens), torch.tensor([0] * pad + labels)

    for tokens, labels in DataLoader(Cloze(), batch_size=params["batch_size"], shuffle=True):
        optimizer.zero_grad()
        logits = net(tokens) @ net.items.weight[1:mask_id].T + net.output_bias      # [B, L, n_items]
        loss = torch.nn.functional.cross_entropy(logits.view(-1, train.n_items), (labels - 1).view(-1),
                                                 ignore_index=-1)
        loss.backward()
        optimizer.step()
        loss.item()


def main(threads: int = 1, data: TrainData | None = None) -> None:
    """Print the benchmark row on Beauty-shaped data, one timed epoch per side (ours first), no
    warm-up round: the straightforward epoch takes many minutes, where a warm-up changes nothing.
    (``recplug bench train bert4rec`` runs the harness's rounds on ML-1M-shaped data.)"""
    import time

    from recplug.bench.common import BenchRow
    from recplug.bench.straight._sequences import beauty_shaped
    from recplug.contract import FitOptions
    from recplug.models.sequential.bert4rec import BERT4Rec
    from recplug.training.threads import limited_threads

    train = beauty_shaped() if data is None else data
    params = BERT4Rec(**PARAMS).get_params()
    with limited_threads(threads):
        start = time.perf_counter()
        BERT4Rec(**params).fit(train, FitOptions(seed=0, threads=threads, max_epochs=1))
        ours = time.perf_counter() - start
        one_epoch(train, dict(params), seed=0, threads=threads)
        theirs = time.perf_counter() - start - ours
    shape = f"{train.n_users}x{train.n_items} nnz={train.csr.nnz:,}, {LABEL}, cpu threads={threads}"
    print(BenchRow(kernel="bert4rec epoch", shape=shape, ours_s=ours, alternative=ALTERNATIVE,
                   alternative_s=theirs, target=TARGET).to_dict())
