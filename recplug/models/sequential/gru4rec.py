"""GRU4Rec (Hidasi et al., ICLR 2016; Hidasi & Karatzoglou, CIKM 2018), trained as the official
PyTorch implementation trains it (github.com/hidasib/GRU4Rec_PyTorch_Official)."""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from recplug.contract import FitOptions, TrainData
from recplug.errors import ConfigError
from recplug.models.sequential._encoder import SequenceEncoderModel
from recplug.training.constraints import Boolean, Integer, Options, Real
from recplug.training.losses import bpr_max_loss, softmax_ce, top1_max_loss
from recplug.training.negatives import ItemSampler, popularity_weights
from recplug.training.seeding import derive_seed
from recplug.training.sequences import session_lanes

LOSSES = ("cross-entropy", "bpr-max", "top1-max")
SESSION_ORDERS = ("time", "random")


def _glorot_(tensor: Any, fan_in: int, fan_out: int) -> Any:
    """U(-σ, σ) with σ = sqrt(6 / (fan_in + fan_out)), in place (the official initialisation)."""
    import torch

    bound = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-bound, bound)


def gru4rec_network(n_items: int, hidden: int, n_layers: int, embedding: int, constrained: bool,
                    dropout_embed: float, dropout_hidden: float) -> Any:
    """GRU4Rec's network: one step maps item ids ``[B]`` (0-based) and the layers' states to new states.

    Input modes as the official code: ``constrained`` (the input embedding *is* the output
    item table), ``embedding > 0`` (an own input table of that width), else one-hot input
    (the first layer's input weights are a ``[n_items, 3·hidden]`` table read by id).
    """
    import torch
    from torch import nn

    class OneHotGRU(nn.Module):
        """A GRU layer on one-hot item input: input weights looked up by item id."""

        def __init__(self) -> None:
            super().__init__()
            self.input = nn.Embedding(n_items, 3 * hidden, sparse=True)
            self.reset_update = nn.Parameter(torch.empty(hidden, 2 * hidden))
            self.candidate = nn.Parameter(torch.empty(hidden, hidden))
            self.bias = nn.Parameter(torch.zeros(3 * hidden))
            _glorot_(self.input.weight, n_items, hidden)
            _glorot_(self.reset_update, hidden, hidden)
            _glorot_(self.candidate, hidden, hidden)

        def forward(self, items: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
            x_candidate, x_reset, x_update = (self.input(items) + self.bias).chunk(3, 1)
            h_reset, h_update = (state @ self.reset_update).chunk(2, 1)
            reset, update = torch.sigmoid(x_reset + h_reset), torch.sigmoid(x_update + h_update)
            candidate = torch.tanh((reset * state) @ self.candidate + x_candidate)
            return (1.0 - update) * state + update * candidate

    class GRU4RecNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.outputs = nn.Embedding(n_items, hidden, sparse=True)       # item vectors (and tied inputs)
            self.output_bias = nn.Embedding(n_items, 1, sparse=True)
            self.one_hot = not constrained and not embedding
            if not constrained and embedding:
                self.inputs = nn.Embedding(n_items, embedding, sparse=True)
                _glorot_(self.inputs.weight, n_items, embedding)
            width = hidden if constrained else embedding
            self.first = OneHotGRU() if self.one_hot else None
            self.cells = nn.ModuleList(nn.GRUCell(width if layer == 0 else hidden, hidden)
                                       for layer in range(1 if self.one_hot else 0, n_layers))
            for layer, cell in enumerate(self.cells):
                fan_in = width if layer == 0 and not self.one_hot else hidden
                _glorot_(cell.weight_ih, fan_in, hidden)
                _glorot_(cell.weight_hh, hidden, hidden)
                nn.init.zeros_(cell.bias_ih)
                nn.init.zeros_(cell.bias_hh)
            _glorot_(self.outputs.weight, n_items, hidden)
            nn.init.zeros_(self.output_bias.weight)
            self.embed_dropout = nn.Dropout(dropout_embed)
            self.hidden_dropout = nn.Dropout(dropout_hidden)

        def step(self, items: torch.Tensor, states: list[torch.Tensor]) -> list[torch.Tensor]:
            """One time step: ids ``[B]`` and ``n_layers`` states ``[B, hidden]`` -> the new states
            (after dropout in training, as the official code carries them)."""
            new = []
            if self.one_hot:
                x = self.embed_dropout(self.first(items, states[0]))
                new.append(x)
            else:
                x = self.embed_dropout((self.outputs if constrained else self.inputs)(items))
            for cell, state in zip(self.cells, states[len(new):]):
                x = self.hidden_dropout(cell(x, state))
                new.append(x)
            return new

    return GRU4RecNet()


def indexed_adagrad(params: Any, lr: float, momentum: float = 0.0, eps: float = 1e-6) -> Any:
    """Adagrad with momentum as the official GRU4Rec code updates (its ``IndexedAdagradM``).

    Per parameter: ``acc += g²``, ``m = momentum · m - lr · g / sqrt(acc + eps)``, ``p += m``
    (``momentum = 0``: plain Adagrad). Sparse gradients (the item tables) update only the rows
    of the batch: the other rows' accumulators and momenta stay as they are.
    """
    import torch

    class IndexedAdagradM(torch.optim.Optimizer):
        def __init__(self) -> None:
            super().__init__(params, dict(lr=lr, momentum=momentum, eps=eps))
            for group in self.param_groups:
                for p in group["params"]:
                    self.state[p]["acc"] = torch.zeros_like(p)
                    if group["momentum"] > 0:
                        self.state[p]["mom"] = torch.zeros_like(p)

        @torch.no_grad()
        def step(self, closure: Any = None) -> None:
            for group in self.param_groups:
                lr, mu, eps = group["lr"], group["momentum"], group["eps"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state, grad = self.state[p], p.grad
                    if grad.is_sparse:
                        grad = grad.coalesce()
                        rows, values = grad.indices()[0], grad.values()
                        acc = state["acc"][rows] + values.square()
                        state["acc"][rows] = acc
                        update = values / (acc + eps).sqrt() * -lr
                        if mu > 0:
                            update = state["mom"][rows] * mu + update
                            state["mom"][rows] = update
                        p.index_add_(0, rows, update)
                    else:
                        state["acc"].add_(grad.square())
                        update = grad / (state["acc"] + eps).sqrt() * -lr
                        if mu > 0:
                            update = state["mom"].mul_(mu).add_(update)
                        p.add_(update)

    return IndexedAdagradM()


class GRU4Rec(SequenceEncoderModel):
    """Session-based GRU recommender, faithful to the official PyTorch GRU4Rec.

    Included, as the official code does it:

    - session-parallel mini-batches (:func:`~recplug.training.sequences.session_lanes`):
      ``batch_size`` lanes each run one user's training sequence as a session, one item per
      step; a lane's hidden state is zeroed when its next session starts; no backpropagation
      through time (the state is detached every step);
    - sessions ordered by the time of their first event (``session_order="time"``; data
      without timestamps: user order), the same order every epoch; ``"random"`` deals
      them in a new seeded order each epoch (not in the official code);
    - negatives: the other lanes' targets of the same step plus ``n_sample`` extra items
      shared by the step, drawn ∝ interactions(i) ** ``sample_alpha`` with replacement (by
      the C++ sampler; drawn for the whole epoch at once, as the official sample cache);
    - losses ``"cross-entropy"`` (softmax over the target and those negatives, with the logQ
      correction ``- logq · log q``: counts for the in-batch targets, counts ** alpha for the
      samples) and ``"bpr-max"`` over an ELU final activation (``elu_param``; 0 = linear) with
      the score regularisation ``bpreg``; ``"top1-max"`` too (the Theano original has it);
      the loss is summed over the active lanes and divided by ``batch_size``;
    - input modes: tied embeddings (``constrained_embedding=True``: the input embedding is
      the output item table), an own input table (``embedding > 0``), or one-hot input;
    - dropout on the input embedding (``dropout_embed``) and on each layer's output
      (``dropout_hidden``; the dropped-out state is what the next step sees);
    - ``n_layers`` stacked GRU layers of ``hidden`` units, tanh; an item bias in the output;
    - Adagrad with momentum (:func:`indexed_adagrad`; sparse row updates of the item
      tables), uniform Glorot initialisation per gate and zero biases (the official
      "compatibility mode", its default).

    Not included: the official sample cache size, ``n_epochs`` printing/NaN handling, layers
    of different sizes. Scoring (the sequence-aware setting the official README describes):
    the GRU runs over the last ``max_len`` items of the user's history from a zero state,
    and the user's vector is the last layer's final state, scored against the output item
    table plus the item bias (the encoder interface, so evaluation uses the fused kernel).
    """

    parameter_constraints = {
        "hidden": Integer(1, None, search=(64, 512, "log")),
        "n_layers": Integer(1, None),
        "loss": Options(*LOSSES),
        "batch_size": Integer(1, None, search=(32, 256, "log")),
        "dropout_embed": Real(0, 1, closed="left", search=(0.0, 0.5)),
        "dropout_hidden": Real(0, 1, closed="left", search=(0.0, 0.7)),
        "lr": Real(0, None, closed="neither", search=(0.01, 0.25, "log")),
        "momentum": Real(0, 1, closed="left", search=(0.0, 0.9)),
        "n_sample": Integer(0, None, search=(0, 4096)),
        "sample_alpha": Real(0, 1, search=(0.0, 1.0)),
        "logq": Real(0, None),
        "bpreg": Real(0, None, search=(0.0, 2.0)),
        "elu_param": Real(0, None),
        "constrained_embedding": Boolean(),
        "embedding": Integer(0, None),
        "session_order": Options(*SESSION_ORDERS),
        "max_len": Integer(1, None),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, hidden: int = 100, n_layers: int = 1, loss: str = "cross-entropy", batch_size: int = 64,
                 dropout_embed: float = 0.0, dropout_hidden: float = 0.0, lr: float = 0.05, momentum: float = 0.0,
                 n_sample: int = 2048, sample_alpha: float = 0.5, logq: float = 1.0, bpreg: float = 1.0,
                 elu_param: float = 0.5, constrained_embedding: bool = True, embedding: int = 0,
                 session_order: str = "time", max_len: int = 200, epochs: int = 10, eval_every: int = 1):
        self.hidden = hidden
        self.n_layers = n_layers
        self.loss = loss
        self.batch_size = batch_size
        self.dropout_embed = dropout_embed
        self.dropout_hidden = dropout_hidden
        self.lr = lr
        self.momentum = momentum
        self.n_sample = n_sample
        self.sample_alpha = sample_alpha
        self.logq = logq
        self.bpreg = bpreg
        self.elu_param = elu_param
        self.constrained_embedding = constrained_embedding
        self.embedding = embedding
        self.session_order = session_order
        self.max_len = max_len
        self.epochs = epochs
        self.eval_every = eval_every

    @classmethod
    def check_param_relations(cls, params: dict[str, Any]) -> None:
        if params["constrained_embedding"] and params["embedding"]:
            raise ConfigError(f"GRU4Rec: embedding={params['embedding']} needs constrained_embedding=False "
                              "(tied embeddings have the width of the hidden layer)")
        if params["batch_size"] + params["n_sample"] < 2:
            raise ConfigError("GRU4Rec: batch_size + n_sample must be at least 2 (a target needs a negative)")

    # ---- network and scoring (the encoder interface) -----------------------------------
    def build(self, n_users: int, n_items: int) -> Any:
        return gru4rec_network(n_items, int(self.hidden), int(self.n_layers), int(self.embedding),
                               bool(self.constrained_embedding), float(self.dropout_embed),
                               float(self.dropout_hidden))

    def optimizer(self, module: Any) -> Any:
        return indexed_adagrad(module.parameters(), lr=float(self.lr), momentum=float(self.momentum))

    def encode(self, seqs: Any) -> Any:
        """Final last-layer state after running the GRU over ``seqs [B, L]`` (0 = padding, skipped)."""
        import torch

        net = self.module_
        states = [seqs.new_zeros((len(seqs), int(self.hidden)), dtype=torch.float32)
                  for _ in range(int(self.n_layers))]
        present = (seqs != 0).any(0).nonzero()
        for t in range(int(present[0]) if len(present) else seqs.shape[1], seqs.shape[1]):
            items = seqs[:, t]
            keep = (items != 0)[:, None]
            new = net.step((items - 1).clamp(min=0), states)
            states = [torch.where(keep, n, s) for n, s in zip(new, states)]
        return states[-1]

    def item_vectors(self) -> Any:
        return self.module_.outputs.weight

    def item_bias(self) -> Any:
        return self.module_.output_bias.weight[:, 0]

    # ---- training: session-parallel lanes --------------------------------------------
    def prepare(self, train: TrainData, options: FitOptions) -> None:
        import torch

        self._train = train
        counts = np.bincount(train.seq_items, minlength=train.n_items)         # events per item
        self._log_counts = torch.as_tensor(np.log(np.maximum(counts, 1)), dtype=torch.float32,
                                           device=self.device_)
        self._samples = ItemSampler(train.n_items, popularity_weights(counts, float(self.sample_alpha)),
                                    threads=int(options.threads or 0)) if self.n_sample else None
        self._order = None                                  # "random": a new seeded order every epoch
        if self.session_order == "time":                    # by first event, ties (and no timestamps): user order
            first = np.zeros(train.n_users)
            if train.timestamps is not None and len(train.seq_items):
                first[:] = np.inf
                np.minimum.at(first, train.interactions.users, train.timestamps.astype(np.float64))
            self._order = np.lexsort((np.arange(train.n_users), first))

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        """One step of every lane per batch: ``(inputs [L], targets [L], reset [L], samples [n])``."""
        import torch

        train, lanes = self._train, int(self.batch_size)
        steps = list(session_lanes(train.seq_indptr, train.seq_items, lanes,
                                   seed=derive_seed(seed, "sessions"), order=self._order))
        if not steps:
            return
        inputs, targets, reset = (torch.as_tensor(np.stack(column), device=self.device_) for column in zip(*steps))
        if self._samples is not None:
            samples = self._samples.sample(len(steps), int(self.n_sample), seed=derive_seed(seed, "samples"))
        else:
            samples = np.zeros((len(steps), 0), dtype=np.int64)
        samples = torch.as_tensor(samples, device=self.device_)
        self._states = [torch.zeros(lanes, int(self.hidden), device=self.device_) for _ in range(int(self.n_layers))]
        for t in range(len(steps)):
            yield inputs[t], targets[t], reset[t], samples[t]

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        import torch
        import torch.nn.functional as F

        inputs, targets, reset, samples = batch
        net = self.module_
        active = (targets != 0).nonzero()[:, 0]
        states = [s.masked_fill(reset[:, None], 0.0)[active] for s in self._states]
        new = net.step(inputs[active] - 1, states)
        for kept, state in zip(self._states, new):
            kept[active] = state.detach()
        columns = torch.cat([targets[active] - 1, samples])
        logits = new[-1] @ net.outputs(columns).T + net.output_bias(columns)[:, 0]
        diagonal = torch.arange(len(active), device=logits.device)
        if self.loss == "cross-entropy":
            if self.logq:
                log_q = self._log_counts[columns]
                log_q = torch.cat([log_q[:len(active)], float(self.sample_alpha) * log_q[len(active):]])
                logits = logits - float(self.logq) * log_q
            loss = softmax_ce(logits, diagonal)
        elif self.loss == "bpr-max":
            if self.elu_param:
                logits = F.elu(logits, float(self.elu_param))
            loss = bpr_max_loss(logits, diagonal, bpreg=float(self.bpreg))
        else:
            loss = top1_max_loss(logits, diagonal)
        return loss * (len(active) / int(self.batch_size))
