"""What the graph models share: BPR training on the user-item graph, full-graph propagation
once per step, and final embeddings computed once after training and scored as factors."""

from __future__ import annotations

from typing import Any, Iterator

from recplug.contract import FitOptions, TrainData
from recplug.models._factors import TorchFactorModel
from recplug.training import shuffled_batches
from recplug.training.constraints import check_model_params
from recplug.training.losses import bpr_loss
from recplug.training.negatives import NegativeSampler
from recplug.training.propagation import SparseGraph
from recplug.training.threads import limited_threads


class GraphModel(TorchFactorModel):
    """A model whose user and item vectors come from propagating embeddings over a graph.

    A subclass defines ``build`` (calling :meth:`add_outputs`), :meth:`output_size`,
    :meth:`embeddings` (the full forward pass over the graph) and :meth:`penalty`;
    :meth:`make_graph` defaults to the symmetric-normalised bipartite adjacency
    (``SparseGraph.bipartite``: users are nodes ``0..U-1``, item ``i`` is node ``U + i``).

    Training: every distinct training pair once per epoch with one uniform negative, in
    seeded batches of ``batch_size``; each step propagates the whole graph once and takes
    ``bpr_loss`` on the batch's rows plus the model's penalty. Scoring: the propagated
    vectors (during a fit: recomputed once after each step that changed the weights; after
    the fit: the buffers ``user_out [U, d']`` and ``item_out [I, d']`` filled by one last
    propagation in eval mode, kept by save/load so a loaded model needs no graph).
    """

    # ---- what a subclass defines --------------------------------------------------
    def output_size(self) -> int:  # pragma: no cover
        """Width ``d'`` of the final user and item vectors."""
        raise NotImplementedError

    def embeddings(self, graph: SparseGraph) -> tuple[Any, Any]:  # pragma: no cover
        """Full propagation: ``(user vectors [U, d'], item vectors [I, d'])`` with gradients."""
        raise NotImplementedError

    def penalty(self, users: Any, pos: Any, neg: Any, rows: tuple[Any, Any, Any]) -> Any:  # pragma: no cover
        """Regularisation of one batch (ids int64 ``[B]``; ``rows`` the final vectors of u, i, j)."""
        raise NotImplementedError

    def make_graph(self, train: TrainData, threads: int) -> SparseGraph:
        return SparseGraph.bipartite(train.csr, threads=threads)

    # ---- shared -------------------------------------------------------------------
    def add_outputs(self, module: Any, n_users: int, n_items: int) -> Any:
        """Register the zero buffers ``user_out``/``item_out`` the fit fills (and files keep)."""
        import torch

        module.register_buffer("user_out", torch.zeros(n_users, self.output_size()))
        module.register_buffer("item_out", torch.zeros(n_items, self.output_size()))
        return module

    def fit(self, train: TrainData, options: FitOptions) -> "GraphModel":
        check_model_params(type(self), self.get_params())
        # lives across TorchModel.fit (which drops what prepare sets) until the outputs are stored
        self._fit_state: dict[str, Any] = {}
        try:
            super().fit(train, options)
            with limited_threads(options.threads):
                self._store_outputs()
        finally:
            del self._fit_state
        return self

    def prepare(self, train: TrainData, options: FitOptions) -> None:
        threads = int(options.threads or 0)
        self._sampler = NegativeSampler(train.csr, threads=threads)
        self._pairs = self._sampler.positive_pairs()
        self._fit_state["graph"] = self.make_graph(train, threads)

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        users, items = self._pairs
        negatives = self._sampler.sample(users, 1, seed=seed)[:, 0]
        return shuffled_batches((users, items, negatives), int(self.batch_size), seed=seed, device=self.device_)

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        u, i, j = batch
        self._fit_state.pop("outputs", None)  # this step changes the weights
        users_out, items_out = self.embeddings(self._fit_state["graph"])
        pu, qi, qj = users_out[u], items_out[i], items_out[j]
        loss = bpr_loss((pu * qi).sum(dim=1), (pu * qj).sum(dim=1))
        return loss + self.penalty(u, i, j, (pu, qi, qj))

    def _outputs(self) -> tuple[Any, Any]:
        state = getattr(self, "_fit_state", None)
        if state is None:
            return self.module_.user_out, self.module_.item_out
        if "outputs" not in state:  # a validation during the fit: propagate once for all its blocks
            import torch

            with torch.no_grad():
                state["outputs"] = tuple(t.detach() for t in self.embeddings(state["graph"]))
        return state["outputs"]

    def _store_outputs(self) -> None:
        import torch

        self.module_.eval()
        with torch.no_grad():
            users_out, items_out = self.embeddings(self._fit_state["graph"])
            self.module_.user_out.copy_(users_out)
            self.module_.item_out.copy_(items_out)

    def user_vectors(self, users: Any) -> Any:
        return self._outputs()[0][users]

    def item_vectors(self) -> Any:
        return self._outputs()[1]
