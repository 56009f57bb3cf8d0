"""Seeded mini-batches: aligned arrays and dense user rows of a CSR."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from recplug.errors import ConfigError
from recplug.training import shuffled_batches, user_row_batches
from recplug.training.batches import shuffled_batches as batches_home


def test_shuffled_batches_keeps_its_old_import_path():
    from recplug.training.trainer import shuffled_batches as old_home

    assert old_home is batches_home is shuffled_batches


def test_shuffled_batches_cover_every_row_once_deterministically():
    a = np.arange(10)
    b = np.arange(10) * 10
    batches = list(shuffled_batches((a, b), 4, seed=7, device="cpu"))
    assert [len(x) for x, _ in batches] == [4, 4, 2]
    got_a = torch.cat([x for x, _ in batches]).numpy()
    got_b = torch.cat([y for _, y in batches]).numpy()
    assert sorted(got_a.tolist()) == list(range(10))
    np.testing.assert_array_equal(got_b, got_a * 10)  # rows stay aligned
    again = torch.cat([x for x, _ in shuffled_batches((a, b), 3, seed=7, device="cpu")]).numpy()
    np.testing.assert_array_equal(again, got_a)  # order depends on the seed, not the batch size
    unshuffled = torch.cat([x for (x,) in shuffled_batches((a,), 3, seed=None, device="cpu")]).numpy()
    np.testing.assert_array_equal(unshuffled, a)
    with pytest.raises(ConfigError):
        list(shuffled_batches((a,), 0, seed=1, device="cpu"))


def csr(seed=0, n_users=23, n_items=11):
    m = sp.random(n_users, n_items, density=0.3, format="csr", random_state=seed, dtype=np.float32)
    m.data[:] = 1.0
    return m


def test_user_row_batches_give_every_user_once_with_its_dense_row():
    matrix = csr()
    batches = list(user_row_batches(matrix, 5, seed=3, device="cpu"))
    assert [len(u) for u, _ in batches] == [5, 5, 5, 5, 3]
    users = torch.cat([u for u, _ in batches])
    rows = torch.cat([r for _, r in batches])
    assert users.dtype == torch.int64 and rows.dtype == torch.float32 and rows.shape == (23, 11)
    assert sorted(users.tolist()) == list(range(23))
    np.testing.assert_array_equal(rows.numpy(), matrix.toarray()[users.numpy()])


def test_user_row_batches_order_depends_on_the_seed_not_the_batch_size():
    matrix = csr()
    order = lambda size, seed: torch.cat([u for u, _ in user_row_batches(matrix, size, seed=seed, device="cpu")])
    assert torch.equal(order(4, 1), order(7, 1))
    assert not torch.equal(order(4, 1), order(4, 2))
    assert order(4, None).tolist() == list(range(23))


def test_user_row_batches_never_densify_the_whole_matrix(monkeypatch):
    matrix = csr()
    densified = []
    original = sp.csr_matrix.toarray

    def spy(self, *args, **kwargs):
        densified.append(self.shape[0])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(sp.csr_matrix, "toarray", spy)
    list(user_row_batches(matrix, 4, seed=0, device="cpu"))
    assert max(densified) == 4


@pytest.mark.parametrize("kwargs", [dict(batch_size=0, seed=0), dict(batch_size=2.0, seed=0),
                                    dict(batch_size=4, seed=-1)])
def test_bad_batch_arguments(kwargs):
    with pytest.raises(ConfigError, match="^user_row_batches: "):
        list(user_row_batches(csr(), device="cpu", **kwargs))
    with pytest.raises(ConfigError, match="^shuffled_batches: "):
        list(shuffled_batches((np.arange(3),), device="cpu", **kwargs))
