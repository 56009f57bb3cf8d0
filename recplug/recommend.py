"""Top-K recommendations of a fitted model, streamed batch by batch.

The lists are the evaluator's (:mod:`recplug.evaluation.evaluator`): the same score
batches (:func:`~recplug.evaluation.batches.make_batch`), the same checks on what the model
returns, each user's history masked, the fused factor kernel for factor models, and the
tie policy of ``eval --ties random``: a seeded random priority per item
(:func:`~recplug.evaluation.collector.tie_priority`), so with the run's seed a user's list
here is the top-K ``recplug eval`` ranked for that user. Ties cannot favour targets here
(there are none), so only the random policy applies.

Memory is bounded by one batch: ``batch_size x n_items`` float32 scores (none at all for
factor models), never users x items. :func:`write_recommendations` streams the batches to
Parquet (one row group per batch), CSV or JSON lines: one row per (user, rank) with the
raw user and item ids.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from recplug import kernels
from recplug.contract import FactorModel
from recplug.errors import ConfigError
from recplug.evaluation.batches import csr_rows, make_batch
from recplug.evaluation.collector import as_scores, tie_priority
from recplug.evaluation.evaluator import factors_of

FORMATS = ("parquet", "csv", "jsonl")  #: output formats, told apart by the file suffix
COLUMNS = ("user", "item", "rank", "score")


@dataclass
class RecommendationBatch:
    """Top-K of a batch of users: ``users`` int32 [B] (indices), ``items`` int32 [B, K]
    (best first; -1 where a user has fewer than K unseen items), ``scores`` float32 [B, K]."""

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray

    def rows(self, user_ids: np.ndarray, item_ids: np.ndarray) -> dict[str, np.ndarray]:
        """Columns ``user, item, rank, score`` (raw ids, rank 1..K), padding dropped."""
        filled = self.items >= 0
        row, col = np.nonzero(filled)
        return {"user": np.asarray(user_ids)[self.users[row]],
                "item": np.asarray(item_ids)[self.items[row, col]],
                "rank": (col + 1).astype(np.int32), "score": self.scores[row, col].astype(np.float32)}


def check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ConfigError(f"k must be an integer >= 1, got {k!r}")
    return int(k)


def recommend(model: Any, history: Any, users: np.ndarray, k: int, *, seed: int = 0,
              batch_size: int = 1024, threads: int = 0, device: str = "cpu"
              ) -> Iterator[RecommendationBatch]:
    """Stream the top-``k`` unseen items of each of ``users`` (int indices) under ``model``.

    ``history``: the :class:`~recplug.data.Interactions` masked per user and handed to the
    model as each user's sequence (for test users: ``split.history("test")``, as the
    evaluator does). ``seed``: the tie priority's seed (the run's seed).
    """
    k = check_k(k)
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ConfigError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    users = np.ascontiguousarray(users, dtype=np.int32)
    n_items = history.n_items
    if users.size and (users.min() < 0 or users.max() >= history.n_users):
        raise ConfigError(f"users must be user indices in [0, {history.n_users}), got "
                          f"[{users.min()}, {users.max()}]")
    csr = history.csr()
    indptr, items = csr.indptr.astype(np.int64), csr.indices.astype(np.int32)
    seq_indptr, seq_items = history.sequences()
    priority = tie_priority(n_items, seed)
    for start in range(0, len(users), int(batch_size)):
        batch_users = users[start:start + int(batch_size)]
        batch = make_batch(batch_users, seq_indptr, seq_items, n_items, device)
        exclude = csr_rows(indptr, items, batch_users)
        if batch.device == "cpu" and isinstance(model, FactorModel):
            user_vecs, item_vecs, item_bias = factors_of(model, batch)
            ids, top, _ = kernels.fused_topk(user_vecs, item_vecs, k, exclude=exclude, priority=priority,
                                             ties="random", item_bias=item_bias, threads=threads)
        else:
            scores = as_scores(model.score(batch), batch, model)
            if isinstance(scores, np.ndarray):
                ids, top, _ = kernels.masked_topk(scores, k, exclude=exclude, priority=priority,
                                                  ties="random", threads=threads)
            else:  # CUDA scores stay on the device, ranked as the evaluator ranks them
                from recplug.evaluation.ranking_torch import topk_torch

                ids_t, top_t, _ = topk_torch(scores, k, exclude=exclude, priority=priority,
                                             targets=None, tier=0)
                ids, top = ids_t.cpu().numpy(), top_t.float().cpu().numpy()
        ids = np.asarray(ids, dtype=np.int32)
        yield RecommendationBatch(batch_users, ids, np.where(ids >= 0, top, np.nan).astype(np.float32))


def output_format(path: str | Path) -> str:
    """``parquet``, ``csv`` or ``jsonl`` from the file suffix; ConfigError for others."""
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt = {"pq": "parquet", "json": "jsonl", "ndjson": "jsonl"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise ConfigError(f"out {str(path)!r}: unknown output format {suffix!r}; name the file "
                          f".parquet, .csv or .jsonl")
    return fmt


def write_recommendations(batches: Iterator[RecommendationBatch], path: str | Path,
                          user_ids: np.ndarray, item_ids: np.ndarray) -> int:
    """Write every batch to ``path`` (format from its suffix) as it comes; returns the rows
    written. The file is written beside its final name and renamed when complete."""
    path = Path(path).expanduser()
    fmt = output_format(path)
    tmp = path.with_name(f".{path.name}.partial")
    rows = 0
    writer: Any = None
    try:
        with open(tmp, "wb") as fh:
            if fmt == "csv":
                fh.write(b"user,item,rank,score\n")
            for batch in batches:
                columns = batch.rows(user_ids, item_ids)
                rows += len(columns["rank"])
                if fmt == "parquet":
                    writer = _parquet_batch(writer, fh, columns)
                elif fmt == "csv":
                    fh.write(_csv_lines(columns))
                else:
                    fh.write(_json_lines(columns))
            if fmt == "parquet":
                if writer is None:
                    writer = _parquet_batch(None, fh, _empty_columns(user_ids, item_ids))
                writer.close()
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def _empty_columns(user_ids: np.ndarray, item_ids: np.ndarray) -> dict[str, np.ndarray]:
    return {"user": np.asarray(user_ids)[:0], "item": np.asarray(item_ids)[:0],
            "rank": np.zeros(0, np.int32), "score": np.zeros(0, np.float32)}


def _parquet_batch(writer: Any, fh: Any, columns: dict[str, np.ndarray]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({name: columns[name] for name in COLUMNS})
    if writer is None:
        writer = pq.ParquetWriter(fh, table.schema)
    writer.write_table(table)
    return writer


def _raw(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _csv_lines(columns: dict[str, np.ndarray]) -> bytes:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(zip(columns["user"].tolist(), columns["item"].tolist(), columns["rank"].tolist(),
                         [repr(float(s)) for s in columns["score"]]))
    return out.getvalue().encode()


def _json_lines(columns: dict[str, np.ndarray]) -> bytes:
    lines = [json.dumps({"user": _raw(u), "item": _raw(i), "rank": int(r), "score": float(s)})
             for u, i, r, s in zip(columns["user"].tolist(), columns["item"].tolist(),
                                   columns["rank"].tolist(), columns["score"].tolist())]
    return ("\n".join(lines) + "\n").encode() if lines else b""


# ---- the whole job: model (fitted or saved), users and their history, then the lists -----------
FITS = ("split", "all")  #: fit on the split's train part (eval's fit) or on every interaction
USERS = ("test", "all")  #: the split's test users, or every user (with fit "all")


@dataclass
class RecommendRequest:
    """What ``recplug recommend`` was asked to do.

    ``fit="split"``: fit on ``split``'s train part exactly as ``recplug eval`` does (early
    stopping on validation, ``refit``) and recommend to its test users, masking train +
    validation; ``fit="all"``: fit on every interaction and recommend to every user.
    ``model_dir``: a saved model (:mod:`recplug.saved_models`) instead of fitting; its card's
    split and seed decide the users (every user for a model fitted on all data).
    ``save_model``: keep the fitted model with its card in that folder.
    """

    out: str
    dataset: str
    model: str | None = None
    model_dir: str | None = None
    fit: str = "split"
    users: str | None = None  #: None = "test" for fit "split", "all" for fit "all"
    split: str = "loo"
    split_params: dict[str, Any] | None = None
    seed: int = 0
    k: int = 20
    overrides: dict[str | None, dict[str, Any]] | None = None
    device: str = "auto"
    threads: int = 0
    batch_size: int = 1024
    max_epochs: int | None = None
    patience: int = 5
    validation_metric: str | None = None
    refit: bool = False
    data_options: Any = None
    save_model: str | None = None


@dataclass
class RecommendSummary:
    """What :func:`run_recommend` wrote: ``rows`` (user, rank) rows for ``users`` users to
    ``path``; ``fit_seconds`` None for a saved model; ``peak_memory_bytes`` of the process."""

    path: str
    users: int
    rows: int
    k: int
    fit_seconds: float | None
    seconds: float
    peak_memory_bytes: int
    saved_model: str | None = None


def check_recommend(request: RecommendRequest) -> str:
    """ConfigError naming the argument for a bad option; returns the users policy in force."""
    output_format(request.out)
    check_k(request.k)
    if (request.model is None) == (request.model_dir is None):
        raise ConfigError("model: name one model to fit, or a saved one with model_dir (not both)")
    if request.fit not in FITS:
        raise ConfigError(f"fit must be one of {', '.join(FITS)}, got {request.fit!r}")
    users = request.users or ("all" if request.fit == "all" else "test")
    if users not in USERS:
        raise ConfigError(f"users must be one of {', '.join(USERS)}, got {request.users!r}")
    if request.model_dir is None and (users == "all") != (request.fit == "all"):
        raise ConfigError("users 'all' goes with fit 'all' (every user, fitted on every interaction); "
                          "fit 'split' recommends to the split's test users")
    if request.model_dir is not None and (request.fit != "split" or request.users is not None):
        raise ConfigError("model_dir: a saved model's card decides what it was fitted on and for "
                          "which users; drop fit and users")
    if request.model_dir is not None and request.save_model is not None:
        raise ConfigError("save_model keeps a model recommend fits; model_dir fits none: drop one")
    return users


def _eval_request(request: RecommendRequest):
    from recplug.data.dataset import DataOptions
    from recplug.runner import EvalRequest

    return EvalRequest(models=[request.model] if request.model else [], dataset=request.dataset,
                       split=request.split, split_params=dict(request.split_params or {}),
                       seeds=[request.seed], overrides=dict(request.overrides or {}),
                       device=request.device, threads=request.threads, max_epochs=request.max_epochs,
                       patience=request.patience, validation_metric=request.validation_metric,
                       refit=request.refit, data_options=request.data_options or DataOptions(),
                       model_dirs=[request.model_dir] if request.model_dir else [],
                       save_model=request.save_model)


def run_recommend(request: RecommendRequest, reporter: Any = None) -> RecommendSummary:
    """Check everything, load the data, fit (or load) the model, stream the lists to
    ``request.out``. Every option is checked before any data are read."""
    import time

    from recplug.data import load_dataset
    from recplug.evaluation import EvalConfig
    from recplug.runner import (SilentReporter, check_saved_data, fit_on_all, fit_on_split,
                                peak_memory_bytes, prepare)
    from recplug.saved_models import FIT_ALL, load_model
    from recplug.splits import make_split

    start = time.perf_counter()
    reporter = reporter or SilentReporter()
    users_policy = check_recommend(request)
    eval_request = _eval_request(request)
    if request.model_dir is not None:
        planned = _saved_plan(request)
        eval_request.split = planned.saved.split.get("name")
    else:
        (planned,) = prepare(eval_request).models
    card = planned.saved
    reporter.stage(f"loading dataset {request.dataset}")
    dataset = load_dataset(request.dataset, **eval_request.data_options.load_kwargs())
    fit_seconds = None
    split = None
    seed = int(card.seed) if card is not None and card.seed is not None else request.seed
    if card is not None and card.split.get("name") == FIT_ALL:
        history, users_policy = dataset.interactions, "all"
    elif card is not None or request.fit == "split":
        if card is not None:
            check_saved_data([planned], dataset.fingerprint())  # its split's users: same data only
            params = dict(card.split.get("params") or {})
        else:
            params = dict(eval_request.split_params)
        reporter.stage(f"splitting ({eval_request.split}, seed {seed})")
        split = make_split(dataset, eval_request.split, seed=seed, **params)
        history = split.history("test")
    else:
        history = dataset.interactions
    if card is not None:
        model, _ = load_model(planned.saved_dir, interactions=history, device=planned.device, cls=planned.cls)
    elif split is not None:
        fitted = fit_on_split(eval_request, planned, seed, split, EvalConfig(seed=seed), reporter)
        model, fit_seconds = fitted.model, fitted.seconds
    else:
        fitted = fit_on_all(eval_request, planned, seed, history, reporter, items=dataset.items)
        model, fit_seconds = fitted.model, fitted.seconds
    saved = _save(request, planned, model, dataset, split, seed) if request.save_model else None
    users = (np.arange(history.n_users, dtype=np.int32) if users_policy == "all"
             else split.targets("test").users())
    reporter.stage(f"recommending {request.k} items to {len(users)} users")
    batches = recommend(model, history, users, request.k, seed=seed, batch_size=request.batch_size,
                        threads=request.threads, device=planned.device)
    rows = write_recommendations(batches, request.out, history.user_vocab.ids, history.item_vocab.ids)
    return RecommendSummary(path=str(request.out), users=len(users), rows=rows, k=request.k,
                            fit_seconds=fit_seconds, seconds=time.perf_counter() - start,
                            peak_memory_bytes=peak_memory_bytes(), saved_model=saved)


def _saved_plan(request: RecommendRequest) -> Any:
    """The :class:`~recplug.runner.PlannedModel` of ``request.model_dir`` (card read, class
    loaded, device resolved, dataset source checked), before any data are read."""
    from recplug.data.dataset import DataOptions, check_source
    from recplug.runner import PlannedModel
    from recplug.discovery import load_model_class
    from recplug.errors import ModelError
    from recplug.saved_models import read_card
    from recplug.training.device import resolve_device

    card = read_card(request.model_dir)
    if card.qualified_model is None:
        raise ModelError(f"{request.model_dir} holds an unregistered class {card.model_class}; load it "
                         "in Python with recplug.saved_models.load_model(..., cls=YourClass)")
    cls, info = load_model_class(card.qualified_model)
    device = resolve_device(request.device, supports_cuda=bool(getattr(cls.tags, "supports_cuda", False)))
    check_source(request.dataset, offline=(request.data_options or DataOptions()).offline)
    return PlannedModel(card.model, cls, info, dict(card.hyperparameters), dict(card.hyperparameters),
                        str(device), str(request.model_dir), card)


def _save(request: RecommendRequest, planned: Any, model: Any, dataset: Any, split: Any, seed: int) -> str:
    """Keep the model recommend fitted, with a card (no metrics: nothing was evaluated)."""
    from recplug.models._files import qualified_name
    from recplug.saved_models import FIT_ALL, ModelCard, dataset_card, save_model, versions

    if split is None:
        split_card, fitted_on = {"name": FIT_ALL, "params": {}, "seed": seed}, "all"
    else:
        params = {k: v for k, v in split.params.items() if k != "seed"}
        split_card = {"name": split.name, "params": params, "seed": seed}
        fitted_on = "train+valid" if request.refit else "train"
    card = ModelCard(model=planned.name, qualified_model=planned.info.qualified_name,
                     model_class=qualified_name(planned.cls), hyperparameters=dict(planned.hyperparameters),
                     dataset=dataset_card(dataset), split=split_card, fitted_on=fitted_on,
                     versions=versions())
    return str(save_model(model, request.save_model, card))
