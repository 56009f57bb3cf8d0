"""I-AutoRec: AutoRec's item-based network predicting ratings (Sedhain et al., WWW 2015)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from recplug.contract import FitOptions, ScoreBatch, Tags, TrainData
from recplug.models._common import check_batch, check_fitted, in_fixed_blocks
from recplug.models._torch import TorchModel
from recplug.models.autoencoders._rows import SparseRows, dense_stack, row_input_layer, squared_norm
from recplug.models.rating._base import pair_arrays, training_ratings
from recplug.training.batches import user_row_batches
from recplug.training.constraints import Integer, Real
from recplug.training.losses import row_mse


class AutoRecRating(TorchModel):
    """Each item's vector of training ratings (one entry per user, 0 = unrated) -> ``g(V r + b)``
    (``hidden`` sigmoid units) -> ``W h + b'`` (identity), one output per user. Loss: the
    paper's squared error on the observed ratings only, ``Σ_i |r_i - h(r_i)|²_O + reg/2 ·
    (|W|² + |V|²)``, divided by the item count (batch mean over items + ``reg/(2·n_items)`` ·
    the penalty), Adam on batches of ``batch_size`` items.

    ``predict(users, items)`` reads the items' training rating vectors (kept with the model:
    a dense float32 ``[n_items, n_users]`` buffer) and returns float32 NumPy ratings clipped
    to the training scale; users or items without training ratings get the global mean.
    ``score`` ranks every item by the same unclipped prediction. Defaults: ``hidden=500``
    as the paper; ``reg=1`` (from the paper's grid), ``lr`` and the batch size not tuned
    (ml-100k ratio split, seed 0: RMSE 0.922 against mf's 0.912).
    """

    tags = Tags(task="rating", supports_cuda=True)
    parameter_constraints = {
        "hidden": Integer(1, None, search=(50, 1000, "log")),
        "reg": Real(0, None, search=(1e-3, 1e3, "log")),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "batch_size": Integer(1, None, search=(16, 512, "log")),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, hidden: int = 500, reg: float = 1.0, lr: float = 1e-3, batch_size: int = 64,
                 epochs: int = 200, eval_every: int = 1):
        self.hidden = hidden
        self.reg = reg
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.eval_every = eval_every

    def build(self, n_users: int, n_items: int) -> Any:
        import torch

        module = torch.nn.Module()
        module.input = row_input_layer(n_users, int(self.hidden))
        module.output = dense_stack([int(self.hidden), n_users], "identity")
        # what predictions read, filled from the training ratings
        module.register_buffer("ratings", torch.zeros(n_items, n_users))
        module.register_buffer("mean", torch.zeros(()))
        module.register_buffer("scale", torch.zeros(2))
        return module

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        import scipy.sparse as sp
        import torch

        rated = training_ratings(train, type(self).__name__)
        # one rating per (item, user): the mean of repeated ratings
        shape = (rated.n_items, rated.n_users)
        sums = sp.csr_matrix((rated.ratings.astype(np.float64), (rated.items, rated.users)), shape=shape)
        counts = sp.csr_matrix((np.ones(len(rated.ratings)), (rated.items, rated.users)), shape=shape)
        sums.sum_duplicates()
        counts.sum_duplicates()
        self._item_rows = sp.csr_matrix((sums.data / counts.data, sums.indices, sums.indptr), shape=shape,
                                        dtype=np.float32)
        m = self.module_
        with torch.no_grad():
            m.ratings.copy_(torch.from_numpy(self._item_rows.toarray()))
            m.mean.fill_(rated.global_mean)
            m.scale.copy_(torch.tensor([rated.ratings.min(), rated.ratings.max()]))

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, Any]]:
        return user_row_batches(self._item_rows, int(self.batch_size), seed=seed, device=self.device_)

    def reconstruct(self, rows: Any) -> Any:
        """Predicted ratings ``[b, n_users]`` of item rating rows ``[b, n_users]`` (unclipped)."""
        import torch

        net = self.module_
        return net.output(torch.sigmoid(net.input(SparseRows.from_dense(rows))))

    def batch_loss(self, batch: tuple[Any, Any]) -> Any:
        _, rows = batch
        loss = row_mse(self.reconstruct(rows), rows, unobserved_weight=0.0)
        if not self.reg:
            return loss
        net = self.module_
        penalty = squared_norm(net.input.weight, net.output[0].weight)
        return loss + float(self.reg) / (2 * net.ratings.shape[0]) * penalty

    def _predictions(self, items: Any) -> Any:
        """Unclipped predictions ``[len(items), n_users]``, the global mean for items without ratings."""
        import torch

        rows = self.module_.ratings[items]
        est = in_fixed_blocks(self.reconstruct, rows)
        return torch.where((rows != 0).any(dim=1, keepdim=True), est, self.module_.mean)

    def predict(self, users: Any, items: Any) -> np.ndarray:
        """Predicted ratings float32 ``[n]`` clipped to the training scale (see the class docstring)."""
        import torch

        check_fitted(self, "module_", "predict")
        users, items = pair_arrays(self, users, items)
        m = self.module_
        n_items, n_users = m.ratings.shape
        with torch.no_grad():
            u = torch.as_tensor(users, dtype=torch.int64, device=self.device_)
            i = torch.as_tensor(items, dtype=torch.int64, device=self.device_)
            known = (u < n_users) & (i < n_items)
            u, i = u.clamp(max=n_users - 1), i.clamp(max=n_items - 1)
            distinct, position = torch.unique(i, return_inverse=True)
            est = self._predictions(distinct)[position, u]
            user_known = (m.ratings != 0).any(dim=0)[u]
            est = torch.where(known & user_known, est, m.mean)
            return est.float().clamp(m.scale[0], m.scale[1]).cpu().numpy()

    def score(self, batch: ScoreBatch) -> Any:
        import torch

        check_fitted(self, "module_")
        check_batch(self, batch, self.shapes_["n_items"])
        with torch.no_grad():
            all_items = self._predictions(torch.arange(self.shapes_["n_items"], device=self.device_))
            users = torch.as_tensor(batch.users, dtype=torch.int64, device=self.device_)
            return all_items[:, users.clamp(max=self.shapes_["n_users"] - 1)].T.contiguous().float()

    def score_inputs(self, batch: ScoreBatch) -> Any:  # pragma: no cover - score is overridden
        raise NotImplementedError

    def block_scores(self, rows: Any) -> Any:  # pragma: no cover - score is overridden
        raise NotImplementedError
