"""The shared epoch loop for torch models (built-in ones and plugins alike).

A model hands the :class:`Trainer` its ``torch.nn.Module``, an optimizer, a function that
yields the mini-batches of one epoch (built with vector operations, seeded by the epoch
seed) and a loss function. The trainer owns everything else:

- the epoch budget (``FitOptions.max_epochs`` overrides the model's default),
- per-epoch seeding (``derive_seed(seed, "epoch", e)`` for the batches and for torch's
  global generator, so dropout does not depend on what ran between epochs),
- mixed precision on CUDA (bf16 autocast where supported, else fp16 with a GradScaler),
- early stopping on ``FitOptions.validator`` (higher is better) every ``eval_every`` epochs,
  with ``FitOptions.patience`` validations without improvement, restoring the best weights,
- ``FitOptions.progress(EpochReport)`` after every epoch,
- Ctrl-C (KeyboardInterrupt): training stops, the best weights so far are kept and
  ``TrainResult.stopped == "interrupted"``.

:func:`fit_context` sets threads, seeds and deterministic algorithms for the whole fit.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Literal

from recplug.contract import EpochReport, FitOptions
from recplug.errors import ConfigError, ModelError
from recplug.training.device import resolve_device
from recplug.training.seeding import derive_seed, seed_everything

Stopped = Literal["budget", "early_stopping", "interrupted"]


@dataclass
class TrainResult:
    """What happened during a fit."""

    epochs_run: int = 0                      #: completed epochs
    best_epoch: int | None = None            #: epoch whose weights were kept (None: last ones)
    best_validation: float | None = None     #: validator value at ``best_epoch``
    stopped: Stopped = "budget"
    history: list[EpochReport] = field(default_factory=list)


@contextlib.contextmanager
def fit_context(options: FitOptions) -> Iterator[None]:
    """Threads, seeds and (on CPU) deterministic algorithms for the duration of a fit.

    Sets ``torch.set_num_threads(options.threads)`` and the BLAS pools (threadpoolctl),
    seeds Python, NumPy and torch from ``options.seed``, and turns on
    ``torch.use_deterministic_algorithms`` (warn-only) when fitting on the CPU. Restores
    the previous thread count and determinism setting afterwards.
    """
    import torch
    from threadpoolctl import threadpool_limits

    if options.threads is not None and options.threads < 0:
        raise ConfigError(f"threads must be >= 0 (0 = all cores), got {options.threads}")
    threads = options.threads or None
    previous_threads = torch.get_num_threads()
    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    on_cpu = resolve_device(options.device).type == "cpu"
    if threads:
        torch.set_num_threads(threads)
    if on_cpu:
        torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(options.seed)
    try:
        with threadpool_limits(limits=threads, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_det, warn_only=previous_warn)


def epoch_budget(options: FitOptions, default: int) -> int:
    """``options.max_epochs`` when given, else the model's ``default``; must be >= 1."""
    epochs = default if options.max_epochs is None else options.max_epochs
    if int(epochs) != epochs or epochs < 1:
        raise ConfigError(f"the epoch budget must be a positive integer, got {epochs!r} "
                          "(set --max-epochs or the model's 'epochs' hyperparameter)")
    return int(epochs)


class Trainer:
    """Runs the epoch loop; see the module docstring for what it takes care of.

    ``epochs`` is the model's default budget (``options.max_epochs`` wins when set);
    ``eval_every`` how many epochs pass between validations; ``mixed_precision`` enables
    autocast on CUDA (ignored on CPU); ``clip_grad_norm`` clips the global gradient norm.
    """

    def __init__(self, options: FitOptions, *, epochs: int, eval_every: int = 1,
                 mixed_precision: bool = True, clip_grad_norm: float | None = None):
        if eval_every < 1:
            raise ConfigError(f"eval_every must be >= 1, got {eval_every}")
        if options.patience < 1:
            raise ConfigError(f"patience must be >= 1, got {options.patience}")
        self.options = options
        self.epochs = epoch_budget(options, epochs)
        self.eval_every = int(eval_every)
        self.mixed_precision = mixed_precision
        self.clip_grad_norm = clip_grad_norm

    # ---- helpers -----------------------------------------------------------------
    def epoch_seed(self, epoch: int) -> int:
        """Seed of epoch ``epoch`` (1-based): batches and negatives are drawn from it."""
        return derive_seed(self.options.seed, "epoch", epoch)

    def _autocast(self, device: Any) -> tuple[Callable[[], Any], Any]:
        import torch

        if not (self.mixed_precision and device.type == "cuda"):
            return contextlib.nullcontext, None
        if torch.cuda.is_bf16_supported():
            return lambda: torch.autocast("cuda", dtype=torch.bfloat16), None
        scaler = torch.amp.GradScaler("cuda")
        return lambda: torch.autocast("cuda", dtype=torch.float16), scaler

    @staticmethod
    def _snapshot(module: Any) -> dict[str, Any]:
        return {k: v.detach().clone() for k, v in module.state_dict().items()}

    # ---- the loop ----------------------------------------------------------------
    def fit(self, model: Any, module: Any, optimizer: Any,
            epoch_batches: Callable[[int, int], Iterable[Any]],
            loss_fn: Callable[[Any], Any]) -> TrainResult:
        """Train ``module`` in place and return what happened.

        ``epoch_batches(epoch, seed)`` yields the batches of one epoch (1-based epoch);
        ``loss_fn(batch)`` returns the scalar mean loss of a batch. ``model`` is what the
        validator is called with (it scores through ``model.score``). The reported epoch
        loss is the mean of the batch losses. The module is left in eval mode.
        """
        import torch

        options = self.options
        device = next(module.parameters()).device
        autocast, scaler = self._autocast(device)
        result = TrainResult()
        best_state: dict[str, Any] | None = None
        since_best = 0
        module.train()
        try:
            for epoch in range(1, self.epochs + 1):
                seed = self.epoch_seed(epoch)
                torch.manual_seed(derive_seed(seed, "torch"))
                total = torch.zeros((), device=device)
                n_batches = 0
                for batch in epoch_batches(epoch, seed):
                    optimizer.zero_grad(set_to_none=True)
                    with autocast():
                        loss = loss_fn(batch)
                    if scaler is not None:
                        scaler.scale(loss).backward()
                        if self.clip_grad_norm:
                            scaler.unscale_(optimizer)
                            torch.nn.utils.clip_grad_norm_(module.parameters(), self.clip_grad_norm)
                        scaler.step(optimizer)
                        scaler.update()
                    else:
                        loss.backward()
                        if self.clip_grad_norm:
                            torch.nn.utils.clip_grad_norm_(module.parameters(), self.clip_grad_norm)
                        optimizer.step()
                    total += loss.detach().float()
                    n_batches += 1
                epoch_loss = float(total) / n_batches if n_batches else None
                if epoch_loss is not None and not math.isfinite(epoch_loss):
                    raise ModelError(f"{type(model).__name__}: the training loss became {epoch_loss} "
                                     f"in epoch {epoch}; lower the learning rate or raise regularisation")
                result.epochs_run = epoch

                validation = None
                if options.validator is not None and (epoch % self.eval_every == 0
                                                      or epoch == self.epochs):
                    module.eval()
                    with torch.no_grad():
                        validation = float(options.validator(model))
                    module.train()
                    if result.best_validation is None or validation > result.best_validation:
                        result.best_validation, result.best_epoch = validation, epoch
                        best_state = self._snapshot(module)
                        since_best = 0
                    else:
                        since_best += 1

                report = EpochReport(epoch=epoch, loss=epoch_loss, validation=validation)
                result.history.append(report)
                if options.progress is not None:
                    options.progress(report)
                if since_best >= options.patience:
                    result.stopped = "early_stopping"
                    break
        except KeyboardInterrupt:
            result.stopped = "interrupted"
        finally:
            module.eval()
        if best_state is not None:
            module.load_state_dict(best_state)
        return result


def shuffled_batches(arrays: Iterable[Any], batch_size: int, *, seed: int | None,
                     device: Any) -> Iterator[tuple[Any, ...]]:
    """Mini-batches of aligned NumPy arrays as torch tensors on ``device``.

    Rows are permuted with ``numpy.random.default_rng(seed)`` (no shuffle when seed is
    None), each array is moved to the device once, and batches are views of it: no
    per-sample Python work. The last batch may be smaller.
    """
    import numpy as np
    import torch

    arrays = [np.asarray(a) for a in arrays]
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("shuffled_batches: arrays differ in length")
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    if seed is not None:
        order = np.random.default_rng(seed).permutation(n)
        arrays = [a[order] for a in arrays]
    tensors = [torch.from_numpy(np.ascontiguousarray(a)).to(device, non_blocking=True) for a in arrays]
    for start in range(0, n, batch_size):
        yield tuple(t[start:start + batch_size] for t in tensors)
