"""Training losses shared by the torch models; each returns a float32 scalar tensor.

Shapes: ``B`` batch rows, ``n`` sampled negatives per row, ``N`` items, ``d`` latent size.
Every loss is a mean over the batch unless its docstring says otherwise, and is
computed in float32 whatever the input dtype (autocast may hand in bf16/fp16 logits).
Sums and means to one number go through :mod:`recplug.training.determinism`'s
fixed-order reductions, so the value does not depend on the CPU thread count (the
gradients are those of the plain ``sum``/``mean``).
``log σ`` goes through torch's stable ``logsigmoid`` / ``binary_cross_entropy_with_logits``
(the calls BPR and SASRec made before these functions existed), which do not overflow.
"""

from __future__ import annotations

from typing import Any

from recplug.errors import ModelError

Tensor = Any  # torch.Tensor; torch is imported lazily


def _mean(x: Tensor) -> Tensor:
    from recplug.training.determinism import fixed_order_mean

    return fixed_order_mean(x)


def _sum(x: Tensor) -> Tensor:
    from recplug.training.determinism import fixed_order_sum

    return fixed_order_sum(x)


def _require(ok: bool, loss: str, what: str) -> None:
    if not ok:
        raise ModelError(f"{loss}: {what}")


def _pairwise(pos: Tensor, neg: Tensor, loss: str) -> tuple[Tensor, Tensor]:
    """``pos [B]`` and ``neg [B]`` or ``[B, n]`` as float32 ``[B, 1]``/``[B, n]``."""
    _require(pos.dim() == 1, loss, f"pos scores must be [B], got shape {tuple(pos.shape)}")
    _require(neg.dim() in (1, 2) and neg.shape[0] == pos.shape[0], loss,
             f"neg scores must be [B] or [B, n] with B={pos.shape[0]}, got shape {tuple(neg.shape)}")
    neg = neg.float()
    return pos.float()[:, None], neg[:, None] if neg.dim() == 1 else neg


def bpr_loss(pos_scores: Tensor, neg_scores: Tensor) -> Tensor:
    """Bayesian personalised ranking: ``-mean_{b,j} log σ(pos_b - neg_bj)``.

    ``pos_scores [B]``; ``neg_scores [B]`` (one negative per row) or ``[B, n]``; the mean
    runs over all ``B·n`` pairs.
    """
    import torch.nn.functional as F

    pos, neg = _pairwise(pos_scores, neg_scores, "bpr_loss")
    return _mean(-F.logsigmoid(pos - neg))


def bce_loss(pos_logits: Tensor, neg_logits: Tensor) -> Tensor:
    """Binary cross-entropy of positives against sampled negatives (SASRec's loss):

    ``mean_b(-log σ(pos_b)) + mean_j(-log σ(-neg_j))``, the second mean over *all*
    negatives whatever their shape (``[B]``, ``[B, n]`` or a flat ``[M]`` of only the
    rows that have one). With no negatives (``M = 0``) the second term is 0.
    """
    import torch
    import torch.nn.functional as F

    _require(pos_logits.dim() == 1 and len(pos_logits) > 0, "bce_loss",
             f"pos logits must be a non-empty [B], got shape {tuple(pos_logits.shape)}")
    pos, neg = pos_logits.float(), neg_logits.float().reshape(-1)
    loss = _mean(F.binary_cross_entropy_with_logits(pos, torch.ones_like(pos), reduction="none"))
    if len(neg):
        loss = loss + _mean(F.binary_cross_entropy_with_logits(neg, torch.zeros_like(neg), reduction="none"))
    return loss


def pointwise_bce(logits: Tensor, labels: Tensor) -> Tensor:
    """Pointwise log loss of NCF (He et al. 2017): ``-mean_b [y_b log σ(x_b) + (1 - y_b) log(1 - σ(x_b))]``.

    ``logits [B]``, ``labels [B]`` (1 for observed pairs, 0 for sampled negatives); unlike
    :func:`bce_loss`, every example weighs the same (the mean runs over all ``B``).
    """
    import torch.nn.functional as F

    _require(logits.dim() == 1 and len(logits) > 0 and labels.shape == logits.shape, "pointwise_bce",
             f"logits and labels must both be a non-empty [B], got {tuple(logits.shape)} and {tuple(labels.shape)}")
    return _mean(F.binary_cross_entropy_with_logits(logits.float(), labels.float(), reduction="none"))


def softmax_ce(logits: Tensor, targets: Tensor) -> Tensor:
    """Full softmax cross-entropy: ``-mean_b log softmax(logits_b)[targets_b]``.

    ``logits [B, N]`` (any float dtype, accumulated in float32), ``targets [B]`` int64 in ``[0, N)``.
    """
    import torch.nn.functional as F

    _require(logits.dim() == 2 and targets.shape == logits.shape[:1], "softmax_ce",
             f"logits must be [B, N] and targets [B], got {tuple(logits.shape)} and {tuple(targets.shape)}")
    return _mean(F.cross_entropy(logits.float(), targets.long(), reduction="none"))


def sampled_softmax(pos_logits: Tensor, neg_logits: Tensor, log_q_pos: Tensor | None = None,
                    log_q_neg: Tensor | None = None) -> Tensor:
    """Softmax cross-entropy over the positive and ``n`` sampled negatives, with logQ correction.

    With ``z_b = [pos_b - log q(pos_b), neg_b1 - log q(neg_b1), ...]`` the loss is
    ``mean_b(logsumexp(z_b) - z_b0)`` (Yi et al., RecSys 2019): subtracting the log
    sampling probability removes the bias toward popular items that sampled negatives
    bring. ``pos_logits [B]``, ``neg_logits [B, n]``, ``log_q_pos [B]`` and ``log_q_neg [B, n]``
    (natural logs; None: no correction, e.g. uniform sampling).
    """
    import torch

    _require(pos_logits.dim() == 1 and neg_logits.dim() == 2 and neg_logits.shape[0] == pos_logits.shape[0],
             "sampled_softmax", f"logits must be pos [B] and neg [B, n], got {tuple(pos_logits.shape)} "
             f"and {tuple(neg_logits.shape)}")
    pos, neg = pos_logits.float(), neg_logits.float()
    if log_q_pos is not None:
        _require(log_q_pos.shape == pos.shape, "sampled_softmax", "log_q_pos must have the shape of pos_logits")
        pos = pos - log_q_pos.float()
    if log_q_neg is not None:
        _require(log_q_neg.shape == neg.shape, "sampled_softmax", "log_q_neg must have the shape of neg_logits")
        neg = neg - log_q_neg.float()
    z = torch.cat([pos[:, None], neg], dim=1)
    return _mean(torch.logsumexp(z, dim=1) - pos)


def in_batch_softmax(queries: Tensor, keys: Tensor, log_q: Tensor | None = None) -> Tensor:
    """Softmax cross-entropy with in-batch negatives: row ``b``'s positive is ``keys[b]``,
    the other rows' keys are its negatives.

    Logits ``z_bj = queries_b · keys_j - log q_j``; the loss is ``mean_b(logsumexp(z_b) - z_bb)``.
    ``queries [B, d]``, ``keys [B, d]``; ``log_q [B]`` the natural log of how often key
    ``j`` enters a batch (its popularity share: logQ correction; None: none).
    """
    _require(queries.dim() == 2 and keys.shape == queries.shape, "in_batch_softmax",
             f"queries and keys must both be [B, d], got {tuple(queries.shape)} and {tuple(keys.shape)}")
    import torch

    logits = queries.float() @ keys.float().T
    if log_q is not None:
        _require(log_q.shape == logits.shape[:1], "in_batch_softmax", "log_q must be [B]")
        logits = logits - log_q.float()[None, :]
    return softmax_ce(logits, torch.arange(len(logits), device=logits.device))


def _negative_weights(logits: Tensor, targets: Tensor, loss: str) -> tuple[Tensor, Tensor, Tensor]:
    """``(logits [B, M] float32, target scores [B, 1], log s [B, M])``: ``s_bj`` the softmax of
    row ``b``'s scores over its negatives (every column but the target's; -inf at the target)."""
    import torch

    _require(logits.dim() == 2 and logits.shape[1] >= 2 and targets.shape == logits.shape[:1], loss,
             f"logits must be [B, M] with M >= 2 and targets [B], got {tuple(logits.shape)} and "
             f"{tuple(targets.shape)}")
    logits = logits.float()
    targets = targets.long()[:, None]
    is_target = torch.zeros_like(logits, dtype=torch.bool).scatter_(1, targets, True)
    log_s = torch.log_softmax(logits.masked_fill(is_target, float("-inf")), dim=1)
    return logits, logits.gather(1, targets), log_s


def bpr_max_loss(logits: Tensor, targets: Tensor, *, bpreg: float = 0.0) -> Tensor:
    """BPR-max (Hidasi & Karatzoglou, CIKM 2018) with its score regularisation:

    ``mean_b [-log sum_j s_bj σ(r_bt - r_bj) + bpreg · sum_j s_bj r_bj²]``, where ``r_b`` are
    row ``b``'s scores, ``t = targets_b`` the positive's column, ``j`` runs over the other
    columns (the negatives) and ``s_b = softmax(r_bj)`` over them. ``logits [B, M]`` (M >= 2),
    ``targets [B]`` int64 column indices. The log of the weighted sum is taken as a
    log-sum-exp, so it stays finite where the weighted sum underflows.
    """
    import torch
    import torch.nn.functional as F

    _require(bpreg >= 0, "bpr_max_loss", f"bpreg must be >= 0, got {bpreg}")
    logits, target, log_s = _negative_weights(logits, targets, "bpr_max_loss")
    ranking = -torch.logsumexp(log_s + F.logsigmoid(target - logits), dim=1)
    if bpreg:
        ranking = ranking + float(bpreg) * (log_s.exp() * logits.square()).sum(dim=1)
    return _mean(ranking)


def top1_max_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """TOP1-max (Hidasi & Karatzoglou, CIKM 2018):
    ``mean_b sum_j s_bj [σ(r_bj - r_bt) + σ(r_bj²)]``, with ``r``, ``t``, ``j`` and ``s`` as in
    :func:`bpr_max_loss`. ``logits [B, M]`` (M >= 2), ``targets [B]`` int64 column indices.
    """
    import torch

    logits, target, log_s = _negative_weights(logits, targets, "top1_max_loss")
    per_negative = torch.sigmoid(logits - target) + torch.sigmoid(logits.square())
    return _mean((log_s.exp() * per_negative).sum(dim=1))


def multinomial_nll(logits: Tensor, rows: Tensor) -> Tensor:
    """Multinomial log-likelihood of Mult-VAE/Mult-DAE: ``-mean_b sum_i rows_bi log softmax(logits_b)_i``.

    ``logits [B, N]``; ``rows [B, N]`` the (binary or count) interaction rows.
    """
    import torch

    _require(logits.dim() == 2 and rows.shape == logits.shape, "multinomial_nll",
             f"logits and rows must both be [B, N], got {tuple(logits.shape)} and {tuple(rows.shape)}")
    return -_mean((torch.log_softmax(logits.float(), dim=1) * rows.float()).sum(dim=1))


def kl_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, exp(logvar)) ‖ N(0, I)): ``mean_b 0.5 sum_d (exp(logvar) + mu² - 1 - logvar)``.

    ``mu [B, d]`` and ``logvar [B, d]`` (log of the variance).
    """
    _require(mu.dim() == 2 and logvar.shape == mu.shape, "kl_normal",
             f"mu and logvar must both be [B, d], got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    mu, logvar = mu.float(), logvar.float()
    return _mean(0.5 * (logvar.exp() + mu.square() - 1.0 - logvar).sum(dim=1))


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over every element: ``mean((pred - target)²)``; same shapes."""
    _require(pred.shape == target.shape, "mse",
             f"pred and target must have one shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    return _mean((pred.float() - target.float()).square())


def l2_batch(*embeddings: Tensor) -> Tensor:
    """L2 penalty on the embedding rows a batch used: ``(|E_1|² + |E_2|² + ...) / B``.

    Each ``E_k`` is ``[B, d]`` (e.g. user, positive and negative item rows of BPR) and
    ``B`` is the row count of the first one; multiply by the regularisation weight.
    Equals BPR's ``(pu.square().sum() + qi.square().sum() + qj.square().sum()) / len(u)``,
    summed in a fixed order.
    """
    _require(len(embeddings) > 0 and len(embeddings[0]) > 0, "l2_batch", "give at least one non-empty [B, d]")
    total = _sum(embeddings[0].square())
    for rows in embeddings[1:]:
        total = total + _sum(rows.square())
    return total.float() / len(embeddings[0])


def row_bce(logits: Tensor, rows: Tensor) -> Tensor:
    """Binary cross-entropy over whole interaction rows (CDAE's log loss without sampling):

    ``-mean_b sum_i [r_bi log σ(l_bi) + (1 - r_bi) log(1 - σ(l_bi))]``; ``logits [B, N]``,
    ``rows [B, N]`` with entries in [0, 1]. Sums over the items, means over the rows.
    """
    import torch.nn.functional as F

    _require(logits.dim() == 2 and rows.shape == logits.shape, "row_bce",
             f"logits and rows must both be [B, N], got {tuple(logits.shape)} and {tuple(rows.shape)}")
    per_entry = F.binary_cross_entropy_with_logits(logits.float(), rows.float(), reduction="none")
    return _mean(per_entry.sum(dim=1))


def row_mse(pred: Tensor, rows: Tensor, unobserved_weight: float = 1.0) -> Tensor:
    """Squared error over whole interaction rows, the unobserved entries down-weighted:

    ``mean_b sum_i c_bi (pred_bi - r_bi)²`` with ``c = 1`` where ``r != 0`` and
    ``unobserved_weight`` where ``r == 0`` (1: the plain full-row error; 0: observed
    entries only, AutoRec's rating loss). ``pred [B, N]``, ``rows [B, N]``.
    """
    _require(pred.dim() == 2 and rows.shape == pred.shape, "row_mse",
             f"pred and rows must both be [B, N], got {tuple(pred.shape)} and {tuple(rows.shape)}")
    _require(unobserved_weight >= 0, "row_mse", f"unobserved_weight must be >= 0, got {unobserved_weight}")
    rows = rows.float()
    error = (pred.float() - rows).square()
    if unobserved_weight != 1.0:
        error = error * ((rows != 0).float() * (1.0 - unobserved_weight) + unobserved_weight)
    return _mean(error.sum(dim=1))
