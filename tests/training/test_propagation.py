"""Sparse propagation as an autograd operation: gradcheck, torch.sparse.mm agreement, fused layers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recplug.errors import ModelError
from recplug.training.propagation import SparseGraph, propagate, propagate_layers, propagate_layers_unfused


def random_graph(seed: int, n_rows: int, n_cols: int, density: float = 0.2) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    m = sp.random(n_rows, n_cols, density=density, format="csr", random_state=rng, dtype=np.float32)
    m.data = rng.uniform(-1, 1, m.nnz).astype(np.float32)
    return m


def bipartite_csr(seed: int, n_users: int = 9, n_items: int = 7) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < 0.35).astype(np.float32)
    dense[0] = 0  # an isolated user: an empty row of the adjacency
    return sp.csr_matrix(dense)


def test_gradcheck_float64_general_and_symmetric():
    general = SparseGraph.from_scipy(random_graph(0, 6, 5))
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: propagate(general, v), (x,))
    symmetric = SparseGraph.bipartite(bipartite_csr(1))
    y = torch.randn(symmetric.shape[1], 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: propagate(symmetric, v), (y,))
    weights = [0.5, 0.3, 0.2, 0.1]
    assert torch.autograd.gradcheck(lambda v: propagate_layers(symmetric, v, weights), (y,))
    square = SparseGraph.from_scipy(random_graph(2, 6, 6))
    z = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: propagate_layers(square, v, weights), (z,))


def test_bipartite_graph_is_the_symmetric_normalised_adjacency():
    csr = bipartite_csr(3)
    graph = SparseGraph.bipartite(csr, threads=1)
    adjacency = sp.bmat([[None, csr], [csr.T, None]]).toarray()
    degree = adjacency.sum(axis=1)
    scale = np.where(degree > 0, 1.0 / np.sqrt(np.maximum(degree, 1)), 0.0)
    np.testing.assert_allclose(graph.scipy().toarray(), scale[:, None] * adjacency * scale[None, :], rtol=1e-6)
    assert graph.symmetric and graph.transpose() is graph


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float32_kernel_matches_torch_sparse_mm_forward_and_backward(seed):
    matrix = random_graph(seed, 300, 200, density=0.05)
    graph = SparseGraph.from_scipy(matrix, threads=2)
    coo = matrix.tocoo()
    reference = torch.sparse_coo_tensor(torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64)),
                                        torch.from_numpy(coo.data), size=matrix.shape)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(200, 16, generator=gen, requires_grad=True)
    weight = torch.randn(300, 16, generator=gen)
    ours = propagate(graph, x)
    (ours * weight).sum().backward()
    ours_grad, x.grad = x.grad.clone(), None
    theirs = torch.sparse.mm(reference, x)
    (theirs * weight).sum().backward()
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours_grad, x.grad, rtol=1e-5, atol=1e-5)
    assert graph.transpose().transpose() is graph  # built once, both ways


def test_fused_layers_equal_the_chain_of_products():
    graph = SparseGraph.bipartite(sp.csr_matrix(random_graph(4, 40, 30, density=0.1) != 0, dtype=np.float32))
    x = torch.randn(graph.shape[0], 8, requires_grad=True)
    weights = [0.25] * 4
    upstream = torch.randn(graph.shape[0], 8)
    fused = propagate_layers(graph, x, weights)
    (fused * upstream).sum().backward()
    fused_grad, x.grad = x.grad.clone(), None
    chained = propagate_layers_unfused(graph, x, weights)
    (chained * upstream).sum().backward()
    torch.testing.assert_close(fused, chained, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(fused_grad, x.grad, rtol=1e-5, atol=1e-6)
    dense = torch.from_numpy(graph.scipy().toarray())
    expected = sum(w * torch.linalg.matrix_power(dense, k) @ x.detach() for k, w in enumerate(weights))
    torch.testing.assert_close(fused.detach(), expected, rtol=1e-5, atol=1e-5)


def test_results_do_not_depend_on_the_thread_count():
    matrix = random_graph(5, 500, 500, density=0.05)
    x = torch.randn(500, 32, requires_grad=True)
    outs = []
    for threads in (1, 2):
        x.grad = None
        out = propagate_layers(SparseGraph.from_scipy(matrix, threads=threads), x, [0.5, 0.3, 0.2])
        out.square().sum().backward()
        outs.append((out.detach(), x.grad.clone()))
    assert torch.equal(outs[0][0], outs[1][0]) and torch.equal(outs[0][1], outs[1][1])


def test_bad_input_is_one_clear_error():
    graph = SparseGraph.from_scipy(random_graph(6, 4, 3))
    with pytest.raises(ModelError, match=r"features must be \[3, d\], got shape \(4, 2\)"):
        propagate(graph, torch.zeros(4, 2))
    with pytest.raises(ModelError, match="must be float32"):
        propagate(graph, torch.zeros(3, 2, dtype=torch.float16))
    with pytest.raises(ModelError, match="must be square"):
        propagate_layers(graph, torch.zeros(3, 2), [1.0, 1.0])
    with pytest.raises(ModelError, match="symmetric matrix must be square"):
        SparseGraph(graph.indptr, graph.indices, graph.values, 3, symmetric=True)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_path_uses_torch_sparse_csr_and_matches_the_cpu():
    graph = SparseGraph.bipartite(bipartite_csr(7, 30, 20))
    x = torch.randn(50, 8, requires_grad=True)
    cpu = propagate_layers(graph, x, [0.25] * 4)
    cpu.sum().backward()
    xc = x.detach().cuda().requires_grad_(True)
    gpu = propagate_layers(graph, xc, [0.25] * 4)
    gpu.sum().backward()
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(xc.grad.cpu(), x.grad, rtol=1e-5, atol=1e-5)
