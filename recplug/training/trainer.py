"""The shared epoch loop for torch models (built-in ones and plugins alike).

A model hands the :class:`Trainer` its ``torch.nn.Module``, an optimizer, a function that
yields the mini-batches of one epoch (built with vector operations, seeded by the epoch
seed) and a loss function. The trainer owns everything else:

- the epoch budget (``FitOptions.max_epochs`` overrides the model's default),
- per-epoch seeding (``derive_seed(seed, "epoch", e)`` for the batches and for torch's
  global generator, so dropout does not depend on what ran between epochs),
- mixed precision on CUDA (bf16 autocast where supported, else fp16 with a GradScaler),
- early stopping on ``FitOptions.validator`` every ``eval_every`` epochs, with
  ``FitOptions.patience`` validations without improvement, restoring the best weights;
  higher values are better unless the validator has ``higher_is_better = False`` (RMSE),
  and a NaN validation never counts as an improvement,
- the step counter :attr:`Trainer.step` (optimizer steps so far) for losses that
  change with training time (KL annealing),
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
from recplug.training.batches import shuffled_batches  # noqa: F401  (its old home)
from recplug.training.constraints import Integer, Nullable, Real, check_params
from recplug.training.device import resolve_device
from recplug.training.seeding import derive_seed, seed_everything
from recplug.training.threads import limited_threads

Stopped = Literal["budget", "early_stopping", "interrupted"]
_CONSTRAINTS = {"eval_every": Integer(1), "patience": Integer(1),
                "clip_grad_norm": Nullable(Real(0, closed="neither"))}


@dataclass
class TrainResult:
    """What happened during a fit."""

    epochs_run: int = 0                      #: completed epochs
    best_epoch: int | None = None            #: epoch whose weights were kept (None: last ones)
    best_validation: float | None = None     #: validator value at ``best_epoch``
    stopped: Stopped = "budget"
    history: list[EpochReport] = field(default_factory=list)


@contextlib.contextmanager
def fit_context(options: FitOptions, *, supports_cuda: bool = True) -> Iterator[None]:
    """Threads, seeds and (on CPU) deterministic algorithms for the duration of a fit.

    Caps torch and the BLAS pools with ``limited_threads(options.threads)`` (None or 0:
    leave them), calls ``seed_everything(options.seed)`` -- the call the runner makes
    before ``fit``, so a plugin that skips ``fit_context`` draws the same Python, NumPy and
    torch streams -- and turns on ``torch.use_deterministic_algorithms`` (warn-only) when
    fitting on the CPU (``resolve_device(options.device, supports_cuda=supports_cuda)``;
    pass the model's ``Tags.supports_cuda``). Restores the previous thread count and
    determinism setting afterwards.
    """
    import torch

    previous_det = torch.are_deterministic_algorithms_enabled()
    previous_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    on_cpu = resolve_device(options.device, supports_cuda=supports_cuda).type == "cpu"
    with limited_threads(options.threads):
        try:
            if on_cpu:
                torch.use_deterministic_algorithms(True, warn_only=True)
            seed_everything(options.seed)
            yield
        finally:
            torch.use_deterministic_algorithms(previous_det, warn_only=previous_warn)


def epoch_budget(options: FitOptions, default: int) -> int:
    """``options.max_epochs`` when given, else the model's ``default``; must be an integer >= 1."""
    if options.max_epochs is not None:
        name, epochs = "max_epochs", options.max_epochs
    else:
        name, epochs = "epochs", default
    allowed = Integer(1).check(epochs)
    if allowed is not None:
        where = "the epoch budget" if name == "max_epochs" else "the model's default epoch budget"
        raise ConfigError(f"{name}={epochs!r} is not allowed; {where} ({name}) must be {allowed}")
    return int(epochs)


class Trainer:
    """Runs the epoch loop; see the module docstring for what it takes care of.

    ``epochs`` is the model's default budget (``options.max_epochs`` wins when set);
    ``eval_every`` how many epochs pass between validations; ``mixed_precision`` enables
    autocast on CUDA (ignored on CPU); ``clip_grad_norm`` clips the global gradient norm.
    :attr:`step` counts the optimizer steps of the current fit: 0 while the first batch's
    loss is computed, ``k`` during the ``k+1``-th batch (``loss_fn`` may read it).
    """

    def __init__(self, options: FitOptions, *, epochs: int, eval_every: int = 1,
                 mixed_precision: bool = True, clip_grad_norm: float | None = None):
        check_params("Trainer", _CONSTRAINTS, {"eval_every": eval_every, "patience": options.patience,
                                               "clip_grad_norm": clip_grad_norm})
        self.step = 0
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
        higher_is_better = bool(getattr(options.validator, "higher_is_better", True))
        self.step = 0
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
                    self.step += 1
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
                    if _improves(validation, result.best_validation, higher_is_better):
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



def _improves(value: float, best: float | None, higher_is_better: bool) -> bool:
    """Whether validation ``value`` beats ``best`` (None: nothing yet); NaN never does."""
    if math.isnan(value):
        return False
    if best is None:
        return True
    return value > best if higher_is_better else value < best
