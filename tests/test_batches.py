import numpy as np
import pytest

from recplug.contract import PAD, ScoreBatch
from recplug.errors import ContractError
from recplug.evaluation.batches import csr_rows, make_batch


def test_csr_rows_selects_in_order():
    indptr = np.array([0, 2, 2, 5], dtype=np.int64)
    items = np.array([4, 1, 0, 2, 3], dtype=np.int32)
    p, i = csr_rows(indptr, items, np.array([2, 0, 1]))
    assert p.tolist() == [0, 3, 5, 5] and i.tolist() == [0, 2, 3, 4, 1]
    p, i = csr_rows(indptr, items, np.array([1], dtype=np.int64))
    assert p.tolist() == [0, 0] and i.tolist() == []


SEQ_INDPTR = np.array([0, 3, 3, 4], dtype=np.int64)
SEQ_ITEMS = np.array([7, 8, 7, 5], dtype=np.int32)


def test_batch_histories_oldest_first_and_padded():
    b = make_batch(np.array([0, 1, 2]), SEQ_INDPTR, SEQ_ITEMS, 10, "cpu")
    assert b.lengths.tolist() == [3, 0, 1]
    assert b.histories.tolist() == [[7, 8, 7], [PAD, PAD, PAD], [5, PAD, PAD]]
    assert b.history_csr().toarray()[0].nonzero()[0].tolist() == [7, 8]


def test_recent_is_right_aligned_and_shifted():
    b = make_batch(np.array([0, 1, 2]), SEQ_INDPTR, SEQ_ITEMS, 10, "cpu")
    assert b.recent(2, pad=0, shift=1).tolist() == [[9, 8], [0, 0], [0, 6]]
    assert b.recent(4).tolist() == [[0, 7, 8, 7], [0, 0, 0, 0], [0, 0, 0, 5]]


def test_constructor_matches_from_sequences():
    lazy = make_batch(np.array([2, 0]), SEQ_INDPTR, SEQ_ITEMS, 10, "cpu")
    eager = ScoreBatch(np.array([2, 0]), lazy.histories, lazy.lengths, 10)
    assert eager.recent(3).tolist() == lazy.recent(3).tolist()
    with pytest.raises(ContractError, match="one row per user"):
        ScoreBatch(np.array([0]), np.zeros((2, 3)), np.zeros(2), 10)


def test_history_csr_leaves_the_history_order_alone():
    b = make_batch(np.array([0]), np.array([0, 4], dtype=np.int64), np.array([3, 1, 3, 2], dtype=np.int32), 5, "cpu")
    b.history_csr()
    assert b.history_items()[1].tolist() == [3, 1, 3, 2]
    assert b.recent(4).tolist() == [[3, 1, 3, 2]]
