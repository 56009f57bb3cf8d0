"""RecBole's side of the peer comparison: seconds per training epoch of BPR and SASRec on
the atomic files written by ours.py, with the same hyperparameters and batch sizes.

Run with RecBole's own environment (RecBole 1.2.1 needs numpy < 2; see README.md here):

    /work/peers-venv/bin/python benchmarks/peers/recbole_epochs.py OUT_DIR --threads 2 --epochs 3

Each epoch is RecBole's own training loop over its own DataLoader (``Trainer._train_epoch``:
negative sampling, batching, ``calculate_loss``, backward, Adam). ``--max-batches N`` times
only the first N batches of an epoch and scales to the whole epoch by the number of batches
(for SASRec, whose epoch has one sample per prefix: ~1 M samples). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path

BASE = {
    "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
    "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
    "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "group_by": "user", "mode": "full"},
    "learning_rate": 1e-3, "weight_decay": 0.0, "seed": 0, "reproducibility": True,
    "use_gpu": False, "device": "cpu", "worker": 0, "show_progress": False, "state": "WARNING",
    "train_neg_sample_args": {"distribution": "uniform", "sample_num": 1, "alpha": 1.0, "dynamic": False,
                              "candidate_num": 0},
}
#: The settings of ours.py in RecBole's names.
MODELS = {
    "BPR": {"embedding_size": 64, "train_batch_size": 2048},
    "SASRec": {"MAX_ITEM_LIST_LENGTH": 200, "hidden_size": 50, "inner_size": 50, "n_layers": 2, "n_heads": 1,
               "hidden_dropout_prob": 0.2, "attn_dropout_prob": 0.2, "hidden_act": "relu", "layer_norm_eps": 1e-8,
               "initializer_range": 0.02, "loss_type": "CE", "train_neg_sample_args": None, "train_batch_size": 128},
}


def epoch_seconds(model_name: str, data_dir: Path, threads: int, epochs: int, max_batches: int) -> dict:
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.utils import get_model, get_trainer, init_seed

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as tmp:
        config = Config(model=model_name, dataset="ml1m-shaped",
                        config_dict={**BASE, **MODELS[model_name], "data_path": str(data_dir), "epochs": epochs,
                                     "checkpoint_dir": tmp})
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        train_data, _, _ = data_preparation(config, dataset)
        model = get_model(config["model"])(config, train_data._dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
        n_batches = len(train_data)
        times = []
        for epoch in range(epochs):
            start = time.perf_counter()
            if max_batches and max_batches < n_batches:
                model.train()
                for interaction in itertools.islice(iter(train_data), max_batches):
                    trainer.optimizer.zero_grad()
                    loss = model.calculate_loss(interaction.to(config["device"]))
                    loss.backward()
                    trainer.optimizer.step()
                times.append((time.perf_counter() - start) * n_batches / max_batches)
            else:
                trainer._train_epoch(train_data, epoch, show_progress=False)
                times.append(time.perf_counter() - start)
        steady = times[1:] or times  # the first epoch warms up: medians of the later ones, as ours.py
        return {"epoch_s": times, "median_epoch_s": statistics.median(steady), "batches_per_epoch": n_batches,
                "samples_per_epoch": len(train_data.dataset), "timed_batches": max_batches or n_batches}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", default="BPR,SASRec")
    parser.add_argument("--max-batches", default="BPR=0,SASRec=300",
                        help="per model: batches timed per epoch (0 = the whole epoch)")
    args = parser.parse_args()
    limits = {k: int(v) for k, v in (p.split("=") for p in args.max_batches.split(","))}
    import recbole

    result = {"recbole": recbole.__version__, "threads": args.threads, "models": {}}
    for name in args.models.split(","):
        result["models"][name] = epoch_seconds(name, args.out_dir, args.threads, args.epochs, limits.get(name, 0))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
