"""The base of the built-in torch models (and of plugins that want it): the fit skeleton,
fixed-block scoring, and save/load of the weights.

A subclass states only what is specific to it::

    class MyModel(TorchModel):
        parameter_constraints = {...}           # every __init__ parameter
        def build(self, n_users, n_items): ...  # the nn.Module, fresh weights
        def prepare(self, train, options): ...  # optional: once per fit (windows, sampler)
        def epoch_batches(self, epoch, seed): ...  # the batches of one epoch
        def batch_loss(self, batch): ...        # scalar mean loss of one batch
        def score_inputs(self, batch): ...      # per-user input rows (tensor [B, ...])
        def block_scores(self, rows): ...       # float32 [rows, n_items] for one block

The hyperparameters ``epochs``, ``eval_every`` and ``lr`` are read by the skeleton
(override :meth:`optimizer` to use others).
"""

from __future__ import annotations

from typing import Any, Iterable

from recplug.contract import FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.models._common import check_batch, check_fitted, in_fixed_blocks
from recplug.models._files import SavedModel
from recplug.training import Trainer, fit_context, resolve_device
from recplug.training.constraints import check_model_params


class TorchModel(SavedModel, Model):
    """``fit`` = check the hyperparameters -> resolve the device -> ``fit_context`` ->
    ``build`` the module -> ``prepare`` -> ``optimizer`` -> the shared :class:`Trainer`
    with the ``epoch_batches`` and ``batch_loss`` hooks. ``score`` runs ``block_scores`` on
    blocks of exactly ``SCORE_BLOCK`` rows (a user's scores never depend on its batch)
    and returns float32 torch tensors ``[B, n_items]`` on the fit device.

    Fitted state: ``module_`` (the network), ``device_``, ``shapes_`` (``n_users``,
    ``n_items``) and ``train_result_``. ``save``/``load`` keep the module's state dict.
    """

    tags = Tags(supports_cuda=True)
    file_kind = "torch"

    # ---- what a subclass defines --------------------------------------------------
    def build(self, n_users: int, n_items: int) -> Any:  # pragma: no cover
        """A fresh ``torch.nn.Module`` for these shapes (weights drawn from torch's global generator)."""
        raise NotImplementedError

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        """Once per fit, before the first epoch: derive what the epochs reuse (windows, a
        sampler) as attributes; ``fit`` deletes the attributes this sets when training ends."""

    def epoch_batches(self, epoch: int, seed: int) -> Iterable[Any]:  # pragma: no cover
        """The mini-batches of epoch ``epoch`` (1-based), drawn from ``seed``."""
        raise NotImplementedError

    def batch_loss(self, batch: Any) -> Any:  # pragma: no cover
        """The scalar mean loss of one batch."""
        raise NotImplementedError

    def score_inputs(self, batch: ScoreBatch) -> Any:  # pragma: no cover
        """One input row per user of ``batch`` as a tensor on ``device_``."""
        raise NotImplementedError

    def block_scores(self, rows: Any) -> Any:  # pragma: no cover
        """Float32 scores ``[len(rows), n_items]`` of a block of input rows."""
        raise NotImplementedError

    def optimizer(self, module: Any) -> Any:
        """Adam with the ``lr`` hyperparameter."""
        import torch

        return torch.optim.Adam(module.parameters(), lr=self.lr)

    # ---- the skeleton -------------------------------------------------------------
    def fit(self, train: TrainData, options: FitOptions) -> "TorchModel":
        check_model_params(type(self), self.get_params())
        supports_cuda = self.tags.supports_cuda
        device = resolve_device(options.device, supports_cuda=supports_cuda)
        with fit_context(options, supports_cuda=supports_cuda):
            self.shapes_ = {"n_users": int(train.n_users), "n_items": int(train.n_items)}
            self.device_ = device
            self.module_ = self.build(train.n_users, train.n_items).to(device)
            before = set(vars(self))
            try:
                self.prepare(train, options)
                trainer = Trainer(options, epochs=int(self.epochs), eval_every=int(self.eval_every))
                self.train_result_ = trainer.fit(self, self.module_, self.optimizer(self.module_),
                                                 self.epoch_batches, self.batch_loss)
            finally:  # what prepare derived serves the fit only: do not keep it alive with the model
                for name in set(vars(self)) - before - {"train_result_"}:
                    delattr(self, name)
        return self

    def score(self, batch: ScoreBatch) -> Any:
        import torch

        check_fitted(self, "module_")
        check_batch(self, batch, self.shapes_["n_items"])
        with torch.no_grad():
            return in_fixed_blocks(self.block_scores, self.score_inputs(batch))

    # ---- files --------------------------------------------------------------------
    def fitted_state(self) -> tuple[dict[str, int], dict[str, Any]]:
        check_fitted(self, "module_", "save")
        return self.shapes_, self.module_.state_dict()

    def restore(self, shapes: dict[str, int], arrays: dict[str, Any], device: str) -> None:
        self.device_ = resolve_device(device, supports_cuda=self.tags.supports_cuda)
        self.shapes_ = dict(shapes)
        module = self.build(shapes["n_users"], shapes["n_items"])
        module.load_state_dict(arrays)
        self.module_ = module.to(self.device_).eval()
