"""Torch models whose scores are ``user_vecs @ item_vecs.T (+ item_bias)``: one definition
gives both ``score()`` and the declared ``latent_factors()`` the evaluator hands to the fused
top-K kernel (:class:`recplug.contract.FactorModel`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from recplug.contract import ScoreBatch
from recplug.models._common import check_batch, check_fitted
from recplug.models._torch import TorchModel


def user_item_embeddings(n_users: int, n_items: int, size: int, init_std: float) -> tuple[Any, Any]:
    """``torch.nn.Embedding`` tables ``[n_users, size]`` and ``[n_items, size]`` drawn from
    N(0, init_std²), users first (the order fixes which draws each table gets)."""
    import torch

    users, items = torch.nn.Embedding(n_users, int(size)), torch.nn.Embedding(n_items, int(size))
    torch.nn.init.normal_(users.weight, std=float(init_std))
    torch.nn.init.normal_(items.weight, std=float(init_std))
    return users, items


class TorchFactorModel(TorchModel):
    """A :class:`TorchModel` scored by a dot product of user and item vectors.

    A subclass defines ``user_vectors(users)`` (int64 tensor ``[B]`` -> ``[B, d]``),
    ``item_vectors()`` (``[n_items, d]``) and, when it has one, ``item_bias()`` (``[n_items]``).
    """

    def user_vectors(self, users: Any) -> Any:  # pragma: no cover
        raise NotImplementedError

    def item_vectors(self) -> Any:  # pragma: no cover
        raise NotImplementedError

    def item_bias(self) -> Any | None:
        return None

    def score_inputs(self, batch: ScoreBatch) -> Any:
        import torch

        return torch.as_tensor(np.asarray(batch.users, dtype=np.int64), device=self.device_)

    def block_scores(self, users: Any) -> Any:
        scores = self.user_vectors(users) @ self.item_vectors().T
        bias = self.item_bias()
        return scores if bias is None else scores + bias

    def latent_factors(self, batch: ScoreBatch) -> tuple[Any, Any, Any]:
        """(user_vecs [B, d], item_vecs [n_items, d], item_bias [n_items] or None), CPU float32 tensors."""
        import torch

        check_fitted(self, "module_")
        check_batch(self, batch, self.shapes_["n_items"])
        with torch.no_grad():
            users = self.user_vectors(self.score_inputs(batch)).float().cpu()
            bias = self.item_bias()
            return (users, self.item_vectors().float().cpu(),
                    None if bias is None else bias.float().cpu())
