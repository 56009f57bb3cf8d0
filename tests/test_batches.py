import numpy as np

from recplug.contract import PAD
from recplug.evaluation.batches import csr_rows, padded_histories


def test_csr_rows_selects_in_order():
    indptr = np.array([0, 2, 2, 5], dtype=np.int64)
    items = np.array([4, 1, 0, 2, 3], dtype=np.int32)
    p, i = csr_rows(indptr, items, np.array([2, 0, 1]))
    assert p.tolist() == [0, 3, 5, 5] and i.tolist() == [0, 2, 3, 4, 1]
    p, i = csr_rows(indptr, items, np.array([1], dtype=np.int64))
    assert p.tolist() == [0, 0] and i.tolist() == []


def test_padded_histories_oldest_first():
    seq_indptr = np.array([0, 3, 3, 4], dtype=np.int64)
    seq_items = np.array([7, 8, 7, 5], dtype=np.int32)
    h, n = padded_histories(seq_indptr, seq_items, np.array([0, 1, 2]))
    assert n.tolist() == [3, 0, 1]
    assert h.tolist() == [[7, 8, 7], [PAD, PAD, PAD], [5, PAD, PAD]]
