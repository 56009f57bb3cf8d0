"""The generated datasets of recplug.testing.generated carry the structure they promise."""

import numpy as np

from recplug.contract import PAD
from recplug.testing.generated import batch_of, chains, clustered, make_train

def test_clustered_targets_are_unseen_in_cluster_items():
    gen = clustered(seed=1)
    seen = gen.train.csr[gen.users, gen.targets]
    assert not np.asarray(seen).any()
    assert np.array_equal(gen.targets % 6, gen.users % 6)


def test_chains_follow_the_successor_mostly():
    gen = chains(seed=2)
    seq = gen.train.seq_items.reshape(300, 16)
    followed = (gen.successor[seq[:, :-1]] == seq[:, 1:]).mean()
    assert 0.85 < followed < 0.95
    assert np.array_equal(gen.targets, gen.successor[seq[:, -1]])


def test_batch_of_pads_histories_at_the_end():
    gen = make_train(np.array([0, 0, 1]), np.array([2, 1, 0]), 3, 3)
    batch = batch_of(gen, np.array([0, 1, 2]))
    assert batch.histories.tolist() == [[2, 1], [0, PAD], [PAD, PAD]]
    assert batch.lengths.tolist() == [2, 1, 0]
