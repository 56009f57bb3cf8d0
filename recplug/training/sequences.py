"""Training examples cut from per-user chronological sequences, vectorised.

Every function takes the sequence CSR of ``TrainData`` (``seq_indptr`` int64
``[n_users + 1]``, ``seq_items`` int32 ``[nnz]``, oldest first), except the cloze
functions, which take rows of ids. Sequence-model ids are ``item + 1`` with ``0`` as
padding (next-item windows and prefixes, item windows, cloze masks, session lanes), so
an embedding table has ``n_items + 1`` rows (+1 more for a mask token); skip-gram pairs
use the plain item ids.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from recplug.errors import ConfigError
from recplug.training.constraints import Integer, Nullable, Real, check_params


def _lengths(seq_indptr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts int64 [n_users], ends int64 [n_users]) of each user's sequence."""
    return seq_indptr[:-1].astype(np.int64), seq_indptr[1:].astype(np.int64)


def next_item_windows(seq_indptr: np.ndarray, seq_items: np.ndarray, max_len: int
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut every user's sequence into next-item training rows (SASRec, GRU-style models).

    Each row holds up to ``max_len`` consecutive targets and, for each, the item just
    before it as input, right-aligned with 0 as left padding and items shifted by +1.
    Windows run backwards from the end of the sequence, so every position after a
    user's first item is a target exactly once. Users with fewer than two items give no row.

    Returns ``(row_users int32 [R], inputs int64 [R, max_len], targets int64 [R, max_len])``.
    """
    check_params("next_item_windows", {"max_len": Integer(1)}, {"max_len": max_len})
    starts, ends = _lengths(seq_indptr)
    n_windows = np.maximum(ends - starts - 1, 0)
    n_windows = -(-n_windows // max_len)                       # ceil((n - 1) / max_len)
    row_users = np.repeat(np.arange(len(starts), dtype=np.int32), n_windows)
    first_row = np.cumsum(n_windows) - n_windows
    window = np.arange(len(row_users)) - np.repeat(first_row, n_windows)
    window_end = ends[row_users] - window * max_len              # exclusive end of the targets
    target_pos = window_end[:, None] - max_len + np.arange(max_len)[None, :]
    valid = target_pos >= (starts[row_users] + 1)[:, None]
    safe = np.where(valid, target_pos, 1)
    inputs = np.where(valid, seq_items[safe - 1].astype(np.int64) + 1, 0)
    targets = np.where(valid, seq_items[safe].astype(np.int64) + 1, 0)
    return row_users, inputs, targets


def next_item_prefixes(seq_indptr: np.ndarray, seq_items: np.ndarray, max_len: int
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training row per target, for models that predict only after the last input.

    Every position after a user's first item is a target once; its input is the (up to)
    ``max_len`` items just before it, right-aligned, ids ``item + 1`` and 0 as left
    padding. Rows come in sequence order (user by user, oldest target first).

    Returns ``(row_users int32 [R], inputs int64 [R, max_len], targets int64 [R])``.
    """
    check_params("next_item_prefixes", {"max_len": Integer(1)}, {"max_len": max_len})
    starts, ends = _lengths(seq_indptr)
    counts = np.maximum(ends - starts - 1, 0)
    row_users = np.repeat(np.arange(len(starts), dtype=np.int32), counts)
    within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    target_pos = np.repeat(starts + 1, counts) + within
    input_pos = target_pos[:, None] - max_len + np.arange(max_len)[None, :]
    valid = input_pos >= starts[row_users][:, None]
    inputs = np.where(valid, seq_items[np.where(valid, input_pos, 0)].astype(np.int64) + 1, 0)
    return row_users, inputs, seq_items[target_pos].astype(np.int64) + 1


def item_windows(seq_indptr: np.ndarray, seq_items: np.ndarray, max_len: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Every user's sequence cut into rows of up to ``max_len`` consecutive items (cloze models).

    Windows run backwards from the end of the sequence and do not overlap, so every item
    is in exactly one row; rows are right-aligned, ids ``item + 1`` and 0 as left padding.
    Users without items give no row. Returns ``(row_users int32 [R], items int64 [R, max_len])``.
    """
    check_params("item_windows", {"max_len": Integer(1)}, {"max_len": max_len})
    starts, ends = _lengths(seq_indptr)
    n_windows = -(-(ends - starts) // max_len)
    row_users = np.repeat(np.arange(len(starts), dtype=np.int32), n_windows)
    window = np.arange(len(row_users)) - np.repeat(np.cumsum(n_windows) - n_windows, n_windows)
    window_end = ends[row_users] - window * max_len
    position = window_end[:, None] - max_len + np.arange(max_len)[None, :]
    valid = position >= starts[row_users][:, None]
    items = np.where(valid, seq_items[np.where(valid, position, 0)].astype(np.int64) + 1, 0)
    return row_users, items


def cloze_mask(inputs: np.ndarray, *, mask_prob: float, mask_id: int, seed: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """BERT4Rec's cloze task: hide random items of each row and ask for them back.

    ``inputs`` int64 ``[R, L]`` (0 = padding). Each non-padding position is replaced by
    ``mask_id`` with probability ``mask_prob``; a row with at least one item and no
    masked position gets one, chosen uniformly. Returns ``(masked_inputs int64 [R, L],
    labels int64 [R, L])``: labels hold the hidden item where masked and 0 elsewhere.
    The draws depend only on ``seed`` and the shape of ``inputs``.
    """
    check_params("cloze_mask", {"mask_prob": Real(0, 1, closed="right"), "mask_id": Integer(1), "seed": Integer(0)},
                 {"mask_prob": mask_prob, "mask_id": mask_id, "seed": seed})
    inputs = np.asarray(inputs, dtype=np.int64)
    items = inputs != 0
    draws = np.random.default_rng(seed).random(inputs.shape)
    masked = items & (draws < mask_prob)
    # rows with items but no mask: mask the item whose draw came closest to the threshold
    lacking = np.flatnonzero(items.any(axis=1) & ~masked.any(axis=1))
    if len(lacking):
        closest = np.argmin(np.where(items[lacking], draws[lacking], np.inf), axis=1)
        masked[lacking, closest] = True
    labels = np.where(masked, inputs, 0)
    return np.where(masked, np.int64(mask_id), inputs), labels


def cloze_last(inputs: np.ndarray, *, mask_id: int) -> np.ndarray:
    """BERT4Rec's test-time input: the mask token appended after each row's last item.

    ``inputs`` int64 ``[R, L]``, right-aligned (0 = left padding). The oldest column is
    dropped and ``mask_id`` fills the last one, so the row keeps width ``L`` and the model
    predicts the item at the masked position: ``[R, L]`` int64. Works on NumPy arrays and
    torch tensors alike.
    """
    check_params("cloze_last", {"mask_id": Integer(1)}, {"mask_id": mask_id})
    if inputs.shape[-1] == 0:
        return inputs
    if isinstance(inputs, np.ndarray):
        out = np.empty_like(inputs, dtype=np.int64)
    else:                                                   # torch.Tensor
        out = inputs.new_empty(inputs.shape)
    out[..., :-1] = inputs[..., 1:]
    out[..., -1] = mask_id
    return out


def skipgram_pairs(seq_indptr: np.ndarray, seq_items: np.ndarray, window: int | None, *,
                   seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Item2Vec's (center, context) pairs: every ordered pair of positions at most ``window``
    apart in one user's sequence (``window=None``: the whole sequence), never across users.

    A sequence of length ``n`` gives ``sum_p (min(n, p + w + 1) - max(0, p - w) - 1)``
    pairs (``n (n - 1)`` for the whole sequence). Returns ``(centers int64 [P],
    contexts int64 [P])`` of item ids; ``seed=None`` keeps them grouped by user and center
    position, an int returns them in a seeded random order.
    """
    check_params("skipgram_pairs", {"window": Nullable(Integer(1)), "seed": Nullable(Integer(0))},
                 {"window": window, "seed": seed})
    starts, ends = _lengths(seq_indptr)
    lengths = ends - starts
    position = np.arange(int(seq_indptr[-1]), dtype=np.int64)
    user_start = np.repeat(starts, lengths)
    user_end = np.repeat(ends, lengths)
    if window is None:
        low, high = user_start, user_end
    else:
        low, high = np.maximum(user_start, position - window), np.minimum(user_end, position + window + 1)
    counts = high - low - 1                                      # every position in [low, high) but itself
    centers = np.repeat(position, counts)
    first = np.cumsum(counts) - counts
    contexts = np.repeat(low, counts) + (np.arange(len(centers)) - np.repeat(first, counts))
    contexts += contexts >= centers                              # skip the center itself
    if seed is not None:
        order = np.random.default_rng(seed).permutation(len(centers))
        centers, contexts = centers[order], contexts[order]
    return seq_items[centers].astype(np.int64), seq_items[contexts].astype(np.int64)


def session_lanes(seq_indptr: np.ndarray, seq_items: np.ndarray, n_lanes: int, *, seed: int | None,
                  order: np.ndarray | None = None) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """GRU4Rec's session-parallel mini-batches: ``n_lanes`` sequences advance one step at a time.

    Every user with at least two items is one session; sessions are dealt to lanes in a
    seeded random order (``seed=None``: user order), or in ``order`` (int ``[n]``, user
    indices, e.g. users by their first timestamp; overrides ``seed``; users it leaves out
    or with fewer than two items are skipped). Each step yields ``(inputs int64
    [n_lanes], targets int64 [n_lanes], reset bool [n_lanes])``: each lane's current item
    and the next one (ids + 1), and ``reset`` True where the lane started a new session
    this step (zero its hidden state). When a session ends its lane takes the next one
    waiting (lanes in index order); once none is left the lane drops out: it yields 0
    as input and target (mask the loss with ``targets != 0``) until every lane is done.
    Every position after a session's first item is a target exactly once.
    """
    check_params("session_lanes", {"n_lanes": Integer(1), "seed": Nullable(Integer(0))},
                 {"n_lanes": n_lanes, "seed": seed})
    starts, ends = _lengths(seq_indptr)
    if order is not None:
        order = np.asarray(order)
        if order.ndim != 1 or order.dtype.kind not in "iu" or (
                order.size and not 0 <= order.min() <= order.max() < len(starts)):
            raise ConfigError(f"session_lanes: order must be a 1-D array of user indices in [0, {len(starts)}), "
                              f"got {order.dtype} of shape {order.shape}")
        sessions = order[ends[order] - starts[order] >= 2].astype(np.int64)
    else:
        sessions = np.flatnonzero(ends - starts >= 2)
        if seed is not None:
            sessions = np.random.default_rng(seed).permutation(sessions)
    position = np.zeros(n_lanes, dtype=np.int64)   # index into seq_items of each lane's input
    end = np.zeros(n_lanes, dtype=np.int64)        # exclusive end of each lane's session
    reset = np.zeros(n_lanes, dtype=bool)
    dealt = 0

    def deal(lanes: np.ndarray) -> None:
        nonlocal dealt
        taken = sessions[dealt:dealt + len(lanes)]
        lanes = lanes[:len(taken)]
        position[lanes], end[lanes], reset[lanes] = starts[taken], ends[taken], True
        dealt += len(taken)

    deal(np.arange(n_lanes))
    active = end > position
    while active.any():
        safe = np.where(active, position, 0)
        inputs = np.where(active, seq_items[safe].astype(np.int64) + 1, 0)
        targets = np.where(active, seq_items[np.where(active, safe + 1, 0)].astype(np.int64) + 1, 0)
        yield inputs, targets, reset.copy()
        reset[:] = False
        position[active] += 1
        finished = active & (position + 1 >= end)
        position[finished] = end[finished] = 0
        deal(np.flatnonzero(finished))
        active = end > position
