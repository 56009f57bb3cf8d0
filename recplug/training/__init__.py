"""Training utilities shared by the built-in torch models and plugins.

- :class:`Trainer` — the epoch loop (budget, early stopping, progress, mixed precision, Ctrl-C).
- :func:`fit_context` — threads, seeds and deterministic algorithms for one fit.
- :func:`shuffled_batches` — seeded mini-batches of NumPy arrays as device tensors.
- :func:`resolve_device`, :func:`derive_seed`, :func:`seed_everything`.
"""

from recplug.training.device import resolve_device
from recplug.training.seeding import derive_seed, seed_everything
from recplug.training.trainer import TrainResult, Trainer, epoch_budget, fit_context, shuffled_batches

__all__ = ["Trainer", "TrainResult", "derive_seed", "epoch_budget", "fit_context", "resolve_device",
           "seed_everything", "shuffled_batches"]
