"""Sparse propagation ``A @ X`` as a differentiable torch operation (graph models).

:class:`SparseGraph` holds one sparse matrix ``A [M, N]`` (CSR) and, built once on first
need, its transpose (the matrix itself when symmetric, like the normalised bipartite
adjacency of LightGCN and NGCF). :func:`propagate` is ``A @ X`` with the backward
``Aᵀ @ G``; :func:`propagate_layers` is LightGCN's whole layer combination
``Σ_k w_k A^k X`` (k = 0..K) in one operation, backward ``Σ_k w_k (Aᵀ)^k G``.

Where it runs, by the device and dtype of ``X``:

- CPU float32: the C++ CSR x dense kernel (:func:`recplug.kernels.csr_dense_matmul`; the
  GIL is released, rows are split over ``threads``, each row sums its nonzeros in CSR
  order, so results never depend on the thread count).
- CPU float64: SciPy's CSR product -- the kernel is float32 only, so this reference path
  exists for ``torch.autograd.gradcheck``; it goes through the same autograd Functions.
- CUDA: torch's sparse CSR kernels (``torch.sparse.mm``) on copies of ``A`` and ``Aᵀ``
  made once per device.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from recplug import kernels
from recplug.errors import ModelError

Tensor = Any  # torch.Tensor; torch is imported lazily


class SparseGraph:
    """A sparse matrix ``[n_rows, n_cols]`` to propagate dense features ``[n_cols, d]`` with.

    ``indptr`` int64 ``[n_rows + 1]``, ``indices`` int32 column ids, ``values`` float32
    (the arrays are kept, not copied); ``symmetric=True`` promises ``A == Aᵀ`` so the
    backward reuses ``A``. ``threads`` (0 = OpenMP default) is the kernel's thread count.
    """

    def __init__(self, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray, n_cols: int, *,
                 symmetric: bool = False, threads: int = 0):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.indices = np.ascontiguousarray(indices, dtype=np.int32)
        self.values = np.ascontiguousarray(values, dtype=np.float32)
        self.shape = (len(self.indptr) - 1, int(n_cols))
        if symmetric and self.shape[0] != self.shape[1]:
            raise ModelError(f"SparseGraph: a symmetric matrix must be square, got shape {self.shape}")
        self.symmetric = bool(symmetric)
        self.threads = int(threads)
        self._transpose: SparseGraph | None = self if symmetric else None
        self._scipy: Any = None
        self._torch: dict[Any, Any] = {}

    @classmethod
    def from_scipy(cls, matrix: Any, *, symmetric: bool = False, threads: int = 0) -> "SparseGraph":
        """From a SciPy sparse matrix (any format; converted to canonical CSR)."""
        csr = matrix.tocsr()
        csr.sum_duplicates()
        csr.sort_indices()
        return cls(csr.indptr, csr.indices, csr.data, csr.shape[1], symmetric=symmetric, threads=threads)

    @classmethod
    def bipartite(cls, csr: Any, *, threads: int = 0) -> "SparseGraph":
        """The symmetric-normalised adjacency ``D^-1/2 [[0, R], [Rᵀ, 0]] D^-1/2`` of a user x item
        CSR ``R`` (:func:`recplug.kernels.bipartite_norm_adj`): users are nodes ``0..U-1``,
        item ``i`` is node ``U + i``."""
        n_users, n_items = csr.shape
        indptr, indices, values = kernels.bipartite_norm_adj(
            np.ascontiguousarray(csr.indptr, dtype=np.int64), np.ascontiguousarray(csr.indices, dtype=np.int32),
            int(n_items), threads=int(threads))
        return cls(indptr, indices, values, n_users + n_items, symmetric=True, threads=threads)

    @property
    def nnz(self) -> int:
        return len(self.indices)

    def scipy(self) -> Any:
        """The matrix as a SciPy CSR array (shares the arrays)."""
        if self._scipy is None:
            import scipy.sparse as sp

            self._scipy = sp.csr_array((self.values, self.indices, self.indptr), shape=self.shape)
        return self._scipy

    def transpose(self) -> "SparseGraph":
        """``Aᵀ`` (``self`` when symmetric), built once."""
        if self._transpose is None:
            t = self.scipy().T.tocsr()
            t.sort_indices()
            self._transpose = SparseGraph(t.indptr, t.indices, t.data, self.shape[0], threads=self.threads)
            self._transpose._transpose = self
        return self._transpose

    def torch_csr(self, device: Any) -> Tensor:
        """``A`` as a float32 torch sparse CSR tensor on ``device``, made once per device."""
        import torch

        key = str(device)
        if key not in self._torch:
            self._torch[key] = torch.sparse_csr_tensor(
                torch.from_numpy(self.indptr), torch.from_numpy(self.indices.astype(np.int64)),
                torch.from_numpy(self.values), size=self.shape, check_invariants=False).to(device)
        return self._torch[key]

    def matmul(self, x: Tensor) -> Tensor:
        """``A @ x`` without autograd: x ``[n_cols, d]`` -> ``[n_rows, d]``, same dtype and device."""
        import torch

        if x.dim() != 2 or x.shape[0] != self.shape[1]:
            raise ModelError(f"SparseGraph: features must be [{self.shape[1]}, d], got shape {tuple(x.shape)}")
        if x.device.type != "cpu":
            return torch.sparse.mm(self.torch_csr(x.device), x.float()).to(x.dtype)
        if x.dtype == torch.float64:  # the float64 reference path (the kernel is float32 only)
            return torch.from_numpy(np.asarray(self.scipy().astype(np.float64) @ x.detach().numpy()))
        if x.dtype != torch.float32:
            raise ModelError(f"SparseGraph: CPU features must be float32 (or float64), got {x.dtype}")
        dense = np.ascontiguousarray(x.detach().numpy())
        return torch.from_numpy(kernels.csr_dense_matmul(self.indptr, self.indices, self.values, dense,
                                                         threads=self.threads))


def _power_sum(graph: SparseGraph, x: Tensor, weights: Sequence[float]) -> Tensor:
    """``Σ_k weights[k] · graph^k @ x`` (k = 0..K), accumulated from k = 0 upwards."""
    out = x * float(weights[0])
    layer = x
    for w in weights[1:]:
        layer = graph.matmul(layer)
        out.add_(layer, alpha=float(w))
    return out


def _function_classes() -> tuple[Any, Any]:
    import torch

    class Propagate(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, graph: SparseGraph) -> Tensor:
            ctx.graph = graph
            return graph.matmul(x)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
            return ctx.graph.transpose().matmul(grad.contiguous()), None

    class PropagateLayers(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Tensor, graph: SparseGraph, weights: tuple[float, ...]) -> Tensor:
            ctx.graph, ctx.weights = graph, weights
            return _power_sum(graph, x, weights)

        @staticmethod
        def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
            return _power_sum(ctx.graph.transpose(), grad.contiguous(), ctx.weights), None, None

    return Propagate, PropagateLayers


_FUNCTIONS: tuple[Any, Any] | None = None


def _functions() -> tuple[Any, Any]:
    global _FUNCTIONS
    if _FUNCTIONS is None:
        _FUNCTIONS = _function_classes()
    return _FUNCTIONS


def propagate(graph: SparseGraph, x: Tensor) -> Tensor:
    """``graph @ x`` with gradients: x ``[n_cols, d]`` -> ``[n_rows, d]``; backward ``graphᵀ @ grad``."""
    return _functions()[0].apply(x.contiguous(), graph)


def propagate_layers(graph: SparseGraph, x: Tensor, weights: Sequence[float]) -> Tensor:
    """``Σ_k weights[k] · graph^k @ x`` for k = 0..K (K = len(weights) - 1) in one operation.

    LightGCN's layer combination with ``weights = [1 / (K + 1)] * (K + 1)``. The K
    intermediate layers are not kept for the backward, which computes
    ``Σ_k weights[k] · (graphᵀ)^k @ grad`` with K more products. Square graphs only.
    """
    if graph.shape[0] != graph.shape[1]:
        raise ModelError(f"propagate_layers: the graph must be square, got shape {graph.shape}")
    if len(weights) < 1:
        raise ModelError("propagate_layers: give at least one weight (layer 0)")
    return _functions()[1].apply(x.contiguous(), graph, tuple(float(w) for w in weights))


def propagate_layers_unfused(graph: SparseGraph, x: Tensor, weights: Sequence[float]) -> Tensor:
    """The same sum as :func:`propagate_layers` built from K :func:`propagate` calls (autograd keeps
    every layer); the reference the fused operation is tested and timed against."""
    out = x * float(weights[0])
    layer = x
    for w in weights[1:]:
        layer = propagate(graph, layer)
        out = out + layer * float(w)
    return out
