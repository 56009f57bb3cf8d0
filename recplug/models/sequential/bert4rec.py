"""BERT4Rec: bidirectional self-attention trained on the cloze task (Sun et al., CIKM 2019)."""

from __future__ import annotations

from typing import Any, Iterator

from recplug.contract import FitOptions, TrainData
from recplug.errors import ConfigError
from recplug.models.sequential._encoder import SequenceEncoderModel
from recplug.training import shuffled_batches
from recplug.training.constraints import Integer, Real
from recplug.training.losses import softmax_ce
from recplug.training.seeding import derive_seed
from recplug.training.sequences import cloze_last, cloze_mask, item_windows


def bert4rec_network(n_items: int, max_len: int, hidden: int, n_blocks: int, n_heads: int,
                     dropout: float) -> Any:
    """The BERT4Rec encoder: ids ``[B, L]`` (0 = padding, items ``+1``, ``n_items + 1`` = mask)
    -> ``[B, L, hidden]`` after the output transform (dense, GELU, layer norm)."""
    import torch
    from torch import nn

    from recplug.training.determinism import LayerNorm, MultiheadAttention

    class Block(nn.Module):
        """Post-norm transformer block: attention and a GELU feed-forward (4x wide), each with a residual."""

        def __init__(self) -> None:
            super().__init__()
            self.attention = MultiheadAttention(hidden, n_heads, dropout=dropout, batch_first=True)
            self.attention_norm = LayerNorm(hidden, eps=1e-12)
            self.inner = nn.Linear(hidden, 4 * hidden)
            self.outer = nn.Linear(4 * hidden, hidden)
            self.forward_norm = LayerNorm(hidden, eps=1e-12)
            self.dropout = nn.Dropout(dropout)

        def forward(self, x: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
            out, _ = self.attention(x, x, x, key_padding_mask=padding, need_weights=False)
            x = self.attention_norm(x + self.dropout(out))
            out = self.outer(torch.nn.functional.gelu(self.inner(x)))
            return self.forward_norm(x + self.dropout(out))

    class BERT4RecNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.items = nn.Embedding(n_items + 2, hidden, padding_idx=0)
            self.positions = nn.Embedding(max_len, hidden)
            self.input_norm = LayerNorm(hidden, eps=1e-12)
            self.dropout = nn.Dropout(dropout)
            self.blocks = nn.ModuleList(Block() for _ in range(n_blocks))
            self.transform = nn.Linear(hidden, hidden)
            self.transform_norm = LayerNorm(hidden, eps=1e-12)
            self.output_bias = nn.Parameter(torch.zeros(n_items))
            for module in self.modules():                      # BERT's initialisation
                if isinstance(module, (nn.Linear, nn.Embedding)):
                    nn.init.trunc_normal_(module.weight, std=0.02, a=-0.04, b=0.04)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    nn.init.zeros_(module.bias)
            for block in self.blocks:
                nn.init.trunc_normal_(block.attention.in_proj_weight, std=0.02, a=-0.04, b=0.04)
                nn.init.zeros_(block.attention.in_proj_bias)
                nn.init.zeros_(block.attention.out_proj.bias)
            with torch.no_grad():
                self.items.weight[0].zero_()

        def forward(self, seqs: torch.Tensor) -> torch.Tensor:
            length = seqs.shape[1]
            x = self.items(seqs) + self.positions.weight[-length:].unsqueeze(0)
            x = self.dropout(self.input_norm(x))
            padding = seqs == 0
            for block in self.blocks:
                x = block(x, padding)
            return self.transform_norm(torch.nn.functional.gelu(self.transform(x)))

    return BERT4RecNet()


class BERT4Rec(SequenceEncoderModel):
    """Bidirectional transformer over the last ``max_len`` items, trained to fill in masked items.

    As in the paper: item + learned position embeddings (layer norm, dropout), ``n_blocks``
    post-norm blocks of bidirectional multi-head attention and a 4x GELU feed-forward, an
    output transform (dense, GELU, layer norm) scored against the input item embeddings
    plus an item bias, softmax cross-entropy over all items at the masked positions.

    Training rows are the users' sequences cut into windows of ``max_len`` items
    (:func:`~recplug.training.sequences.item_windows`); every epoch masks each item with
    probability ``mask_prob`` anew (:func:`~recplug.training.sequences.cloze_mask`, at least
    one per row; the paper: 0.2 on MovieLens, 0.6 on Beauty). At test time the mask token
    is appended after the history (:func:`~recplug.training.sequences.cloze_last`) and the
    user's vector is the output at that position. AdamW (decoupled weight decay
    ``weight_decay``, the paper's 0.01) at ``lr``; the paper's 1e-4 with linear decay over
    400k steps is far beyond a CPU budget, so the default is 1e-3, constant.
    """

    parameter_constraints = {
        "max_len": Integer(2, None, search=(20, 200, "log")),
        "hidden": Integer(1, None, search=(32, 256, "log")),
        "n_blocks": Integer(1, None, search=(1, 4)),
        "n_heads": Integer(1, None, search=(1, 4)),
        "dropout": Real(0, 1, closed="left", search=(0.0, 0.5)),
        "mask_prob": Real(0, 1, closed="right", search=(0.1, 0.8)),
        "lr": Real(0, None, closed="neither", search=(1e-4, 1e-2, "log")),
        "weight_decay": Real(0, None),
        "batch_size": Integer(1, None, search=(32, 512, "log")),
        "epochs": Integer(1, None),
        "eval_every": Integer(1, None),
    }

    def __init__(self, max_len: int = 200, hidden: int = 64, n_blocks: int = 2, n_heads: int = 2,
                 dropout: float = 0.1, mask_prob: float = 0.2, lr: float = 1e-3, weight_decay: float = 0.01,
                 batch_size: int = 256, epochs: int = 200, eval_every: int = 1):
        self.max_len = max_len
        self.hidden = hidden
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.dropout = dropout
        self.mask_prob = mask_prob
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.eval_every = eval_every

    @classmethod
    def check_param_relations(cls, params: dict[str, Any]) -> None:
        if params["hidden"] % params["n_heads"]:
            raise ConfigError(f"BERT4Rec: hidden ({params['hidden']}) must be divisible by n_heads "
                              f"({params['n_heads']})")

    def build(self, n_users: int, n_items: int) -> Any:
        return bert4rec_network(n_items, int(self.max_len), int(self.hidden), int(self.n_blocks),
                                int(self.n_heads), float(self.dropout))

    def optimizer(self, module: Any) -> Any:
        import torch

        return torch.optim.AdamW(module.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))

    @property
    def _mask_id(self) -> int:
        return self.shapes_["n_items"] + 1

    # ---- scoring (the encoder interface) ----------------------------------------------
    def encode(self, seqs: Any) -> Any:
        """The output at the mask token appended after ``seqs [B, max_len]``: ``[B, hidden]``."""
        return self.module_(cloze_last(seqs, mask_id=self._mask_id))[:, -1, :]

    def item_vectors(self) -> Any:
        return self.module_.items.weight[1:self.shapes_["n_items"] + 1]

    def item_bias(self) -> Any:
        return self.module_.output_bias

    # ---- training: the cloze task -------------------------------------------------------
    def prepare(self, train: TrainData, options: FitOptions) -> None:
        _, self._windows = item_windows(train.seq_indptr, train.seq_items, int(self.max_len))

    def epoch_batches(self, epoch: int, seed: int) -> Iterator[tuple[Any, ...]]:
        """``(masked inputs [b, max_len], labels [b, max_len])``, labels 0 where nothing is masked."""
        masked, labels = cloze_mask(self._windows, mask_prob=float(self.mask_prob), mask_id=self._mask_id,
                                    seed=derive_seed(seed, "cloze"))
        return shuffled_batches([masked, labels], int(self.batch_size), seed=seed, device=self.device_)

    def batch_loss(self, batch: tuple[Any, ...]) -> Any:
        masked, labels = batch
        present = (masked != 0).any(0).nonzero()
        first = int(present[0]) if len(present) else 0     # leading all-padding columns change nothing
        masked, labels = masked[:, first:], labels[:, first:]
        hidden = self.module_(masked)
        where = labels != 0
        logits = hidden[where] @ self.item_vectors().T + self.item_bias()
        return softmax_ce(logits, labels[where] - 1)
