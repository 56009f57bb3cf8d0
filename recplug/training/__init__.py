"""Training pieces shared by the built-in torch models and plugins.

- :class:`Trainer` -- the epoch loop (budget, early stopping, step counter, progress, mixed precision, Ctrl-C).
- :func:`fit_context` -- threads, seeds and deterministic algorithms for one fit.
- ``constraints`` -- declared hyperparameter constraints (:class:`Integer`, :class:`Real`, ...).
- ``losses`` -- BPR, BCE (SASRec's and NCF's pointwise), softmax, sampled-softmax and in-batch
  softmax cross-entropy, BPR-max and TOP1-max, multinomial, KL, MSE, whole-row BCE/MSE for
  autoencoders, L2.
- :class:`NegativeSampler` -- negatives drawn by the C++ sampler, built once per fit;
  :func:`pointwise_examples` -- positives and n sampled negatives per pair, labelled 1/0;
  :class:`ItemSampler` -- items drawn for everyone (uniform or by :func:`popularity_weights`).
- ``sequences`` -- next-item windows and prefixes, item windows, cloze masks (training and test
  form), skip-gram pairs, session lanes.
- ``batches`` -- :func:`shuffled_batches`, :func:`user_row_batches`.
- ``propagation`` -- :class:`SparseGraph`, :func:`propagate` (``A @ X`` with backward ``Aᵀ @ G``, the C++ kernel on
  CPU), :func:`propagate_layers` (LightGCN's weighted sum of K layers in one operation).
- :func:`limited_threads`, :func:`resolve_device`, :func:`derive_seed`, :func:`seed_everything`.
"""

from recplug.training.batches import shuffled_batches, user_row_batches
from recplug.training.constraints import (Boolean, Constraint, Integer, Nullable, Options, Real, check_model_params,
                                          check_params, search_space)
from recplug.training.device import resolve_device
from recplug.training.losses import (bce_loss, bpr_loss, bpr_max_loss, in_batch_softmax, kl_normal, l2_batch, mse,
                                     multinomial_nll, pointwise_bce, row_bce, row_mse, sampled_softmax, softmax_ce,
                                     top1_max_loss)
from recplug.training.negatives import ItemSampler, NegativeSampler, pointwise_examples, popularity_weights
from recplug.training.propagation import SparseGraph, propagate, propagate_layers
from recplug.training.seeding import derive_seed, seed_everything
from recplug.training.sequences import (cloze_last, cloze_mask, item_windows, next_item_prefixes, next_item_windows,
                                        session_lanes, skipgram_pairs)
from recplug.training.threads import limited_threads
from recplug.training.trainer import TrainResult, Trainer, epoch_budget, fit_context

__all__ = [
    "Boolean", "Constraint", "Integer", "ItemSampler", "NegativeSampler", "Nullable", "Options", "Real", "SparseGraph", "TrainResult",
    "Trainer",
    "bce_loss", "bpr_loss", "bpr_max_loss", "check_model_params", "check_params", "cloze_last", "cloze_mask", "derive_seed", "epoch_budget",
    "fit_context", "in_batch_softmax", "item_windows", "kl_normal", "l2_batch", "limited_threads", "mse", "multinomial_nll", "next_item_prefixes", "next_item_windows",
    "pointwise_bce", "pointwise_examples", "popularity_weights", "propagate", "propagate_layers", "resolve_device", "row_bce", "row_mse", "sampled_softmax", "search_space", "seed_everything", "session_lanes", "shuffled_batches",
    "skipgram_pairs", "softmax_ce", "top1_max_loss", "user_row_batches",
]
