"""The named conformance checks of the model contract (DESIGN.md §6).

Each check takes a :class:`CheckContext` (the class, its hyperparameters, the device,
tiny data and, lazily, one shared fitted model), and either returns (passed), raises
:class:`NotApplicable` (the check does not concern this model) or raises
:class:`CheckFailed` (an ``AssertionError``) whose message says what is wrong, with the
numbers. Checks state their failures explicitly rather than with ``assert`` statements,
so they keep working outside pytest and under ``python -O``.

Each check looks at one property only and is lenient about the others: a model whose
scores have the wrong shape fails ``score_shape_dtype`` and nothing else.
"""

from __future__ import annotations

import functools
import inspect
import math
import random
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from recplug.contract import EpochReport, FactorModel, FitOptions, ScoreBatch, Tags, TrainData
from recplug.discovery import contract_problems
from recplug.testing.data import make_batch, tiny_train, train_batch

MAX_EPOCHS = 2        #: epoch budget of every fit in the kit
FIT_SEED = 0          #: FitOptions.seed used by the kit
RTOL, ATOL = 1e-5, 1e-6  #: float32 rounding tolerance where exact equality is not promised


class CheckFailed(AssertionError):
    """A conformance check failed; the message says why."""


class NotApplicable(Exception):
    """The check does not concern this model (e.g. ``sequential_inputs`` for a non-sequential one)."""


@dataclass
class CheckContext:
    """What a check works on: the class, its hyperparameters, the device and the tiny data."""

    cls: type
    params: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    seed: int = FIT_SEED

    @functools.cached_property
    def data(self) -> TrainData:
        return tiny_train()

    @property
    def tags(self) -> Tags:
        """The class's tags, or the defaults when they are missing (``api_version`` reports that)."""
        tags = getattr(self.cls, "tags", None)
        return tags if isinstance(tags, Tags) else Tags()

    @property
    def name(self) -> str:
        return getattr(self.cls, "__name__", repr(self.cls))

    def options(self, **overrides: Any) -> FitOptions:
        base = dict(device=self.device, seed=self.seed, threads=1, max_epochs=MAX_EPOCHS)
        return FitOptions(**{**base, **overrides})

    def new_model(self) -> Any:
        return self.cls(**self.params)

    def fit_new(self, options: FitOptions | None = None, train: TrainData | None = None) -> Any:
        """A freshly constructed model fitted on (a fresh copy of) the tiny data."""
        model = self.new_model()
        model.fit(train if train is not None else tiny_train(), options or self.options())
        return model

    @functools.cached_property
    def fitted(self) -> Any:
        """One fitted model shared by the checks that only score (fit once per context)."""
        return self.fit_new()

    def batch(self, users: list[int] | None = None) -> ScoreBatch:
        """The users' training sequences as a batch (default: every user with a history)."""
        return train_batch(self.data, users, self.device)

    def history_users(self) -> list[int]:
        return np.flatnonzero(np.diff(self.data.seq_indptr) > 0).tolist()


# ---- helpers --------------------------------------------------------------------------
def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def to_numpy(scores: Any) -> np.ndarray:
    """Scores as a NumPy array on the CPU (torch tensors are detached and copied)."""
    if _is_torch(scores):
        return scores.detach().cpu().numpy()
    return np.asarray(scores)


def _score(model: Any, batch: ScoreBatch) -> np.ndarray:
    return to_numpy(model.score(batch))


def _exact(device: str) -> bool:
    return not device.startswith("cuda")


def _differences(a: np.ndarray, b: np.ndarray, exact: bool) -> str | None:
    """None when ``a`` and ``b`` agree (exactly, or up to float32 rounding), else a summary."""
    if a.shape != b.shape:
        return f"shapes differ: {a.shape} vs {b.shape}"
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
    if not exact:
        same |= np.isclose(a64, b64, rtol=RTOL, atol=ATOL)
    if same.all():
        return None
    with np.errstate(invalid="ignore"):
        gap = np.nanmax(np.abs(a64 - b64)) if np.isfinite(a64 - b64).any() else float("nan")
    where = tuple(int(i) for i in np.argwhere(~same)[0])
    return (f"{int((~same).sum())} of {same.size} scores differ (max |difference| {gap:.3g}; "
            f"first at {where}: {a64[where]:.9g} vs {b64[where]:.9g})")


def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        result = a == b
        if isinstance(result, bool):
            return result
        return np.shape(a) == np.shape(b) and bool(np.all(result))
    except Exception:
        return False


class _GlobalRNG:
    """Snapshot/restore/seed the global RNGs (random, numpy legacy, torch if imported)."""

    def __init__(self) -> None:
        self.torch = sys.modules.get("torch")
        self.state = self._get()

    def _get(self) -> tuple:
        torch_state = self.torch.random.get_rng_state() if self.torch is not None else None
        return random.getstate(), np.random.get_state(), torch_state

    def changed(self) -> list[str]:
        now = self._get()
        names = []
        if now[0] != self.state[0]:
            names.append("random")
        if any(not np.array_equal(x, y) for x, y in zip(now[1][1:3], self.state[1][1:3])):
            names.append("numpy.random")
        if self.torch is not None and not self.torch.equal(now[2], self.state[2]):
            names.append("torch")
        return names

    def seed(self, value: int) -> None:
        random.seed(value)
        np.random.seed(value)
        if self.torch is not None:
            self.torch.manual_seed(value)

    def restore(self) -> None:
        random.setstate(self.state[0])
        np.random.set_state(self.state[1])
        if self.torch is not None:
            self.torch.random.set_rng_state(self.state[2])


# ---- the checks -----------------------------------------------------------------------
def check_api_version(ctx: CheckContext) -> None:
    """``recplug_api`` is an int this recplug supports, and ``tags`` is a ``Tags``."""
    problems = [msg for aspect, msg in contract_problems(ctx.cls) if aspect in ("class", "api", "tags")]
    expect(not problems, "; ".join(problems))


def _init_parameters(cls: type) -> tuple[list[inspect.Parameter], bool]:
    sig = inspect.signature(cls)
    named = [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    return named, any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())


def _looks_like_work(value: Any) -> str | None:
    if isinstance(value, np.ndarray):
        return f"a numpy array of shape {value.shape}"
    if _is_torch(value) and hasattr(value, "shape"):
        return f"a torch tensor of shape {tuple(value.shape)}"
    if _is_torch(value) and hasattr(value, "parameters"):
        return f"a torch module ({type(value).__name__})"
    return None


def check_init_stores_only(ctx: CheckContext) -> None:
    """``__init__`` only stores hyperparameters; ``get_params`` round-trips; the model rebuilds.

    Constructing takes no data, draws no random numbers, sets no learned state (names
    ending in ``_``), no public attribute that is not a hyperparameter and allocates no
    arrays, tensors or modules; every hyperparameter has a default; ``get_params()``
    returns every hyperparameter with the value given; ``type(m)(**m.get_params())`` and
    ``m.clone()`` (when defined) rebuild an equal, distinct model.
    """
    cls, name = ctx.cls, ctx.name
    try:
        named, var_kw = _init_parameters(cls)
    except (TypeError, ValueError) as exc:
        raise CheckFailed(f"{name}.__init__ cannot be introspected: {exc}") from exc
    names = [p.name for p in named]
    no_default = [p.name for p in named if p.default is inspect.Parameter.empty]
    expect(not no_default, f"{name} hyperparameter(s) {', '.join(no_default)} have no default; give "
                           "every hyperparameter a default so the model builds without options")
    rng = _GlobalRNG()
    try:
        model = ctx.new_model()
        touched = rng.changed()
    finally:
        rng.restore()
    expect(not touched, f"{name}(**{ctx.params!r}) draws random numbers in __init__ (global "
                        f"{' and '.join(touched)} state changed); initialise weights in fit() "
                        "from options.seed")
    for attr, value in getattr(model, "__dict__", {}).items():
        if attr in names:
            continue
        expect(not (attr.endswith("_") and not attr.startswith("_")),
               f"{name}.__init__ sets learned state {attr!r}; learned attributes (ending in '_') "
               "belong in fit()")
        expect(attr.startswith("_"),
               f"{name}.__init__ sets public attribute {attr!r}, which is not a hyperparameter; "
               "__init__ must only store its arguments")
        work = _looks_like_work(value)
        expect(work is None, f"{name}.__init__ does work: it stores {work} in {attr!r}; build "
                             "state in fit()")
    expect(callable(getattr(model, "get_params", None)),
           f"{name} has no get_params(); inherit recplug.contract.Model or return "
           "{hyperparameter: value} for every __init__ argument")
    params = model.get_params()
    expect(isinstance(params, dict), f"{name}.get_params() must return a dict, got {type(params).__name__}")
    for key, value in ctx.params.items():
        expect(key in params, f"{name}.get_params() omits {key!r}, which was passed to __init__")
        expect(_same_value(params[key], value),
               f"{name}.get_params()[{key!r}] is {params[key]!r}, but the model was built with {value!r}")
    omitted = [n for n in names if n not in params]
    expect(not omitted, f"{name}.get_params() omits hyperparameter(s) {', '.join(omitted)}")
    extra = [k for k in params if k not in names]
    expect(var_kw or not extra,
           f"{name}.get_params() returns {', '.join(map(repr, extra))}, which __init__ does not accept")
    try:
        rebuilt = cls(**params)
    except Exception as exc:
        raise CheckFailed(f"{name}(**get_params()) fails: {type(exc).__name__}: {exc}") from exc
    again = rebuilt.get_params()
    differing = [k for k in params if k not in again or not _same_value(again[k], params[k])]
    expect(not differing, f"{name}(**get_params()).get_params() differs on {', '.join(differing)}")
    if callable(getattr(model, "clone", None)):
        clone = model.clone()
        expect(clone is not model and type(clone) is cls,
               f"{name}.clone() must return a new {name}, got {type(clone).__name__}")
        cloned = clone.get_params()
        differing = [k for k in params if k not in cloned or not _same_value(cloned[k], params[k])]
        expect(not differing, f"{name}.clone() changed hyperparameter(s) {', '.join(differing)}")


def check_fit_returns_self_or_none(ctx: CheckContext) -> None:
    """``fit(train, options)`` returns the model itself (or None)."""
    model = ctx.new_model()
    result = model.fit(ctx.data, ctx.options())
    expect(result is model or result is None,
           f"{ctx.name}.fit() returned {type(result).__name__}; return self (or None)")


def _train_arrays(train: TrainData) -> dict[str, np.ndarray]:
    csr = train.csr
    arrays = {"csr.data": csr.data, "csr.indices": csr.indices, "csr.indptr": csr.indptr,
              "seq_indptr": train.seq_indptr, "seq_items": train.seq_items,
              "interactions.users": train.interactions.users, "interactions.items": train.interactions.items}
    for name in ("timestamps", "ratings"):
        if getattr(train, name) is not None:
            arrays[name] = getattr(train, name)
    return {name: np.array(value, copy=True) for name, value in arrays.items()}


def check_train_unchanged(ctx: CheckContext) -> None:
    """``fit`` leaves its training data as it found it (recplug shares them between models)."""
    train = tiny_train()
    before = _train_arrays(train)
    ctx.fit_new(train=train)
    after = _train_arrays(train)
    changed = [name for name in before if not np.array_equal(before[name], after[name])]
    expect(not changed, f"{ctx.name}.fit() modified its training data: {', '.join(changed)}; "
                        "copy before changing (e.g. train.csr.copy())")


def check_score_shape_dtype(ctx: CheckContext) -> None:
    """``score`` returns float32 ``[B, n_items]``, a numpy array or a torch tensor on the fit device."""
    model, n_items = ctx.fitted, ctx.data.n_items
    users = ctx.history_users()
    for batch in (ctx.batch(users), ctx.batch(users[:3])):
        raw = model.score(batch)
        is_torch = _is_torch(raw) and hasattr(raw, "dtype") and hasattr(raw, "device")
        expect(isinstance(raw, np.ndarray) or is_torch,
               f"{ctx.name}.score() must return a numpy array or a torch tensor, got {type(raw).__name__}")
        shape = tuple(raw.shape)
        expect(shape == (len(batch), n_items),
               f"{ctx.name}.score() returned shape {shape} for {len(batch)} users and {n_items} items; "
               f"expected ({len(batch)}, {n_items}) (a score for every item)")
        dtype = str(raw.dtype).replace("torch.", "")
        expect(dtype == "float32", f"{ctx.name}.score() returned dtype {dtype}; expected float32")
        if is_torch:
            import torch

            want = torch.device(ctx.device)
            got = raw.device
            expect(got.type == want.type and (want.index is None or got.index == want.index),
                   f"{ctx.name}.score() returned a tensor on {got}, but the model was fitted on "
                   f"{ctx.device}; return scores on the fit device")


def _finite_report(scores: np.ndarray, what: str, ctx: CheckContext, users: Any) -> None:
    values = scores.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.argwhere(bad)[0]
        first = (f"first: user {int(np.asarray(users)[where[0]])}, item {int(where[1])}"
                 if values.ndim == 2 else f"first at {tuple(int(i) for i in where)}")
        bad_users = np.unique(np.asarray(users)[np.flatnonzero(bad.reshape(len(values), -1).any(axis=1))])
        raise CheckFailed(
            f"{ctx.name}.score() gave non-finite scores for {what}: {int(np.isnan(values).sum())} NaN, "
            f"{int(np.isposinf(values).sum())} +inf, {int(np.isneginf(values).sum())} -inf of "
            f"{values.size} scores, for user(s) {bad_users.tolist()} ({first}); scores must be finite "
            "(recplug masks the history itself, so no -inf is needed)")


def check_no_nan(ctx: CheckContext) -> None:
    """Scores of users with a training history contain no NaN and no +/-inf."""
    batch = ctx.batch()
    _finite_report(_score(ctx.fitted, batch), "users with a training history", ctx, batch.users)


def check_determinism(ctx: CheckContext) -> None:
    """Two fits with the same ``FitOptions.seed`` give the same scores (exactly, on the CPU),
    whatever the global random state; scoring twice gives the same scores."""
    rng = _GlobalRNG()
    try:
        rng.seed(1)
        first = ctx.fit_new()
        rng.seed(2)
        second = ctx.fit_new()
    finally:
        rng.restore()
    exact = _exact(ctx.device)
    a, b = _score(first, ctx.batch()), _score(second, ctx.batch())
    diff = _differences(a, b, exact)
    expect(diff is None, f"two fits of {ctx.name} with FitOptions.seed={ctx.seed} disagree: {diff}; "
                         "draw all randomness from a generator seeded with options.seed")
    diff = _differences(a, _score(first, ctx.batch()), exact)
    expect(diff is None, f"scoring the same users twice with one fitted {ctx.name} disagrees: {diff}")


def check_batch_independence(ctx: CheckContext) -> None:
    """A user's scores do not depend on the other users in the batch, their order or padding."""
    model, users = ctx.fitted, ctx.history_users()
    together = _score(model, ctx.batch(users))
    exact = False  # batched float32 algebra (GEMM vs GEMV) may round differently: RTOL/ATOL
    reversed_ = _score(model, ctx.batch(users[::-1]))[::-1]
    diff = _differences(together, reversed_, exact)
    expect(diff is None, f"{ctx.name}: scoring the batch in reverse user order changes scores: {diff}")
    for row, user in enumerate(users):
        alone = _score(model, ctx.batch([user]))
        diff = _differences(together[row:row + 1], alone, exact)
        expect(diff is None, f"{ctx.name}: user {user} scored alone (batch of 1, history padded to its "
                             f"own length) differs from the same user in a batch of {len(users)}: {diff}")


def check_empty_history(ctx: CheckContext) -> None:
    """Users with a zero-length history get finite scores: in a batch where every history is
    empty (``histories`` is ``[B, 0]``) and mixed with a non-empty one (rows all PAD)."""
    model, users = ctx.fitted, ctx.history_users()
    cold_user = ctx.data.n_users - 1
    empty = make_batch([users[0], cold_user], [[], []], ctx.data.n_items, ctx.device)
    _finite_report(_score(model, empty), "a batch of empty histories", ctx, empty.users)
    mixed = make_batch([users[0], cold_user, users[1]], [[], [], ctx.data.sequence(users[1])],
                       ctx.data.n_items, ctx.device)
    _finite_report(_score(model, mixed)[:2], "empty histories batched with a non-empty one", ctx,
                   mixed.users[:2])


def _views(batch: ScoreBatch) -> dict[str, np.ndarray]:
    """What a model may read from a batch, as plain arrays."""
    width = batch.histories.shape[1]
    return {"users": np.array(batch.users), "lengths": np.array(batch.lengths),
            "histories": np.array(batch.histories),
            "recent": batch.recent(max(width, 1), pad=-1),
            "history_csr": batch.history_csr().toarray()}


def check_batch_unchanged(ctx: CheckContext) -> None:
    """``score`` leaves its batch as it found it: users, lengths, histories and the views
    (``recent``, ``history_csr``) read the same afterwards. Histories here repeat items."""
    model, data = ctx.fitted, ctx.data
    users = ctx.history_users()
    seqs = [np.concatenate([data.sequence(u), data.sequence(u)[:1]]) for u in users]  # a repeat each
    expected = _views(make_batch(users, seqs, data.n_items, ctx.device))
    batch = make_batch(users, seqs, data.n_items, ctx.device)
    model.score(batch)
    changed = [name for name, value in _views(batch).items() if not np.array_equal(value, expected[name])]
    expect(not changed, f"the batch reads differently after {ctx.name}.score(): {', '.join(changed)} "
                        "changed; score() must not modify its batch (if the model only calls "
                        "ScoreBatch methods, the fault is in recplug's ScoreBatch)")


def _distinct_history_users(ctx: CheckContext, min_len: int = 3, limit: int = 6) -> list[int]:
    chosen = []
    for user in ctx.history_users():
        seq = ctx.data.sequence(user)
        if len(seq) >= min_len and len(np.unique(seq)) == len(seq):
            chosen.append(user)
    return chosen[:limit]


def check_sequential_inputs(ctx: CheckContext) -> None:
    """For ``tags.sequential`` models: reversing a history (oldest first, PAD at the end)
    changes that user's scores for most users."""
    if not ctx.tags.sequential:
        raise NotApplicable(f"{ctx.name} is not tagged sequential")
    model, n_items = ctx.fitted, ctx.data.n_items
    users = _distinct_history_users(ctx)
    seqs = [ctx.data.sequence(u) for u in users]
    forward = _score(model, make_batch(users, seqs, n_items, ctx.device))
    backward = _score(model, make_batch(users, [s[::-1] for s in seqs], n_items, ctx.device))
    unchanged = [u for row, u in enumerate(users)
                 if _differences(forward[row], backward[row], exact=False) is None]
    expect(len(unchanged) * 2 <= len(users),
           f"{ctx.name} is tagged sequential, but reversing the history leaves the scores of "
           f"{len(unchanged)} of {len(users)} users unchanged (users {unchanged}); read the "
           "history in order (oldest first, PAD=-1 at the end) or set Tags(sequential=False)")


def check_unseen_users(ctx: CheckContext) -> None:
    """Histories the model did not see in training score finitely: a user with no training
    interaction, a user with one, histories grown by a later item, and a never-trained item."""
    model, data = ctx.fitted, ctx.data
    n_users, n_items = data.n_users, data.n_items
    cold_user, single_user, cold_item = n_users - 1, n_users - 2, n_items - 1
    regular = ctx.history_users()[:2]
    users = [cold_user, single_user, *regular, regular[0]]
    histories = [
        [0, 1],                                            # no training interaction at all
        [*data.sequence(single_user), 2],                  # one training interaction + a new one
        *[[*data.sequence(u), (int(data.sequence(u)[-1]) + 1) % cold_item] for u in regular],  # grown
        [*data.sequence(regular[0]), cold_item],           # an item nobody trained on
    ]
    scores = _score(model, make_batch(users, histories, n_items, ctx.device))
    _finite_report(scores, "users and items unseen or rare at fit time", ctx, users)


def _load(ctx: CheckContext, path: Path, **kwargs: Any) -> Any:
    if isinstance(inspect.getattr_static(ctx.cls, "load"), (classmethod, staticmethod)):
        return ctx.cls.load(path, **kwargs)
    restored = ctx.new_model()
    return restored.load(path, **kwargs) or restored


def _accepts(function: Any, name: str) -> bool:
    try:
        return name in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _another_model() -> Any:
    """A fitted built-in Popularity: its file must be refused by every other model's ``load``."""
    from recplug.models.baselines.pop import Popularity

    return Popularity().fit(tiny_train(), FitOptions())


def _refusal(ctx: CheckContext, path: Path, what: str, **kwargs: Any) -> str | None:
    """None when loading ``path`` fails with a message naming the file, else what went wrong."""
    try:
        _load(ctx, path, **kwargs)
    except Exception as exc:
        return None if path.name in str(exc) else (f"{ctx.name}.load() refused {what} with "
                                                   f"{type(exc).__name__}: {exc}, which does not name the file")
    return f"{ctx.name}.load() accepted {what}; it must refuse it with an error naming the file"


def check_save_load(ctx: CheckContext) -> None:
    """When the class defines ``save(path)`` and ``load(path)``, a round trip keeps the scores,
    and files it must not read are refused with an error naming the file: a file saved by
    another model class, and (when ``load`` takes ``n_items``) one fitted on another item count.

    ``load`` may be a classmethod/staticmethod returning the model, or an instance method
    called on an unfitted ``cls(**params)`` (returning self or None).
    """
    if not (callable(getattr(ctx.cls, "save", None)) and callable(getattr(ctx.cls, "load", None))):
        raise NotApplicable(f"{ctx.name} defines no save()/load()")
    model = ctx.fitted
    before = _score(model, ctx.batch())
    with tempfile.TemporaryDirectory(prefix="recplug-kit-") as tmp:
        path = Path(tmp) / "model"
        model.save(path)
        restored = _load(ctx, path)
        expect(isinstance(restored, ctx.cls),
               f"{ctx.name}.load() returned {type(restored).__name__}, expected a {ctx.name}")
        after = _score(restored, ctx.batch())
        problems = []
        if _accepts(getattr(ctx.cls, "load"), "n_items"):
            problems.append(_refusal(ctx, path, f"a file fitted on {ctx.data.n_items} items as one for "
                                                f"{ctx.data.n_items + 1}", n_items=ctx.data.n_items + 1))
        other = _another_model()
        if type(other) is not ctx.cls:
            other_path = Path(tmp) / "other-model"
            other.save(other_path)
            problems.append(_refusal(ctx, other_path, f"a file saved by {type(other).__name__}"))
    diff = _differences(before, after, _exact(ctx.device))
    expect(diff is None, f"{ctx.name}: scores change after save() and load(): {diff}")
    problems = [p for p in problems if p]
    expect(not problems, "; ".join(problems))


def check_factors(ctx: CheckContext) -> None:
    """For a :class:`~recplug.contract.FactorModel`: ``latent_factors(batch)`` gives the scores of
    ``score(batch)`` up to float32 rounding, and the fused top-K kernel ranks exactly as
    ``score()`` does (same top-10 ids for every user)."""
    if not isinstance(ctx.fitted, FactorModel):
        raise NotApplicable(f"{ctx.name} declares no latent_factors()")
    if not _exact(ctx.device):
        raise NotApplicable("the fused kernel runs on the CPU only")
    from recplug import kernels
    from recplug.evaluation.evaluator import factors_of, tie_priority

    model, batch = ctx.fitted, ctx.batch()
    user_vecs, item_vecs, item_bias = factors_of(model, batch)
    product = user_vecs.astype(np.float64) @ item_vecs.astype(np.float64).T
    if item_bias is not None:
        product += item_bias
    scores = _score(model, batch)
    expect(scores.shape == product.shape, f"{ctx.name}: latent_factors() give {product.shape} scores, "
                                          f"score() {scores.shape}")
    close = np.isclose(scores.astype(np.float64), product, rtol=1e-4, atol=1e-5)
    expect(bool(close.all()), f"{ctx.name}: score() differs from latent_factors()' product for "
                              f"{int((~close).sum())} of {close.size} scores (max |difference| "
                              f"{np.abs(scores - product).max():.3g}); declare only factors that give the scores")
    k = min(10, ctx.data.n_items)
    priority = tie_priority(ctx.data.n_items, 0)
    fused = kernels.fused_topk(user_vecs, item_vecs, k, exclude=None, priority=priority, item_bias=item_bias)[0]
    ranked = kernels.masked_topk(np.ascontiguousarray(scores, dtype=np.float32), k, exclude=None,
                                 priority=priority)[0]
    rows = np.flatnonzero((fused != ranked).any(axis=1))
    expect(not len(rows), f"{ctx.name}: the fused kernel on latent_factors() ranks the top {k} of "
                          f"{len(rows)} of {len(batch)} users differently from score() (first: user "
                          f"{int(batch.users[rows[0]]) if len(rows) else -1})")


def check_parameter_constraints(ctx: CheckContext) -> None:
    """``parameter_constraints`` declares a constraint (``.check(value)`` -> None or what is
    allowed) for every ``__init__`` parameter and nothing else; the defaults and the
    kit's hyperparameters pass them, and ``check_param_relations`` when defined."""
    from recplug.training.constraints import check_model_params

    declared = getattr(ctx.cls, "parameter_constraints", None)
    expect(isinstance(declared, dict),
           f"{ctx.name} declares no parameter_constraints; add a class attribute "
           "{hyperparameter: Constraint} (recplug.training.constraints) for every __init__ parameter")
    try:
        names = [p.name for p in _init_parameters(ctx.cls)[0]]
    except (TypeError, ValueError) as exc:
        raise NotApplicable(f"{ctx.name}.__init__ cannot be introspected (init_stores_only says why)") from exc
    missing = [n for n in names if n not in declared]
    expect(not missing, f"{ctx.name}.parameter_constraints has no constraint for {', '.join(missing)}")
    extra = [n for n in declared if n not in names]
    expect(not extra, f"{ctx.name}.parameter_constraints names {', '.join(extra)}, which __init__ does not take")
    odd = [n for n, c in declared.items() if not callable(getattr(c, "check", None))]
    expect(not odd, f"{ctx.name}.parameter_constraints[{odd[0] if odd else ''!r}] is not a constraint "
                    "(it needs .check(value))")
    for label, build in (("the defaults", ctx.cls), (f"the hyperparameters {ctx.params!r}", ctx.new_model)):
        try:  # a model that cannot be built or has no get_params fails init_stores_only, not this check
            params = build().get_params()
        except Exception:
            continue
        try:
            check_model_params(ctx.cls, params)
        except Exception as exc:
            raise CheckFailed(f"{ctx.name}: {label} fail the declared constraints: {exc}") from exc


def check_rating_predict(ctx: CheckContext) -> None:
    """For ``tags.task == "rating"``: ``predict(users, items)`` returns finite floats of shape [n]."""
    if ctx.tags.task != "rating":
        raise NotApplicable(f"{ctx.name} is a ranking model (tags.task != 'rating')")
    model, data = ctx.fitted, ctx.data
    expect(callable(getattr(model, "predict", None)),
           f'{ctx.name} declares tags.task="rating" but has no predict(users, items)')
    rng = np.random.default_rng(0)
    seen = rng.choice(len(data), size=20, replace=False)  # 20 training pairs, 20 random pairs
    users = np.concatenate([data.interactions.users[seen], rng.integers(0, data.n_users, 20)])
    items = np.concatenate([data.interactions.items[seen], rng.integers(0, data.n_items, 20)])
    users, items = users.astype(np.int32), items.astype(np.int32)
    for u, i in ((users, items), (users[:1], items[:1])):
        raw = model.predict(u, i)
        pred = to_numpy(raw)
        expect(pred.shape == (len(u),),
               f"{ctx.name}.predict() returned shape {pred.shape} for {len(u)} pairs; expected ({len(u)},)")
        expect(np.issubdtype(pred.dtype, np.floating),
               f"{ctx.name}.predict() returned dtype {pred.dtype}; expected floats")
        expect(bool(np.isfinite(pred).all()),
               f"{ctx.name}.predict() returned {int((~np.isfinite(pred)).sum())} non-finite ratings")


def check_epoch_budget(ctx: CheckContext) -> None:
    """``fit`` honours ``max_epochs``: at most that many progress reports (each an
    ``EpochReport``) and validator calls (each given the model, which can score mid-fit)."""
    reports: list[Any] = []
    calls: list[Any] = []
    problems: list[str] = []
    users = ctx.history_users()[:4]

    class _Validator:
        metric = "kit_calls"

        def __call__(self, model: Any) -> float:
            calls.append(model)
            if not isinstance(model, ctx.cls):
                problems.append(f"{ctx.name}.fit() called the validator with {type(model).__name__}; "
                                "pass the model itself")
            else:
                try:
                    _score(model, ctx.batch(users))
                except Exception as exc:
                    problems.append(f"{ctx.name}.score() fails inside the validator (mid-fit): "
                                    f"{type(exc).__name__}: {exc}")
            return float(len(calls))  # always improving: the budget, not patience, must stop

    ctx.fit_new(ctx.options(progress=reports.append, validator=_Validator()))
    wrong = [type(r).__name__ for r in reports if not isinstance(r, EpochReport)]
    expect(not wrong, f"{ctx.name}.fit() passed {', '.join(wrong)} to options.progress; pass "
                      "recplug.contract.EpochReport")
    expect(len(reports) <= MAX_EPOCHS,
           f"{ctx.name}.fit() reported {len(reports)} epochs with FitOptions(max_epochs={MAX_EPOCHS})")
    expect(len(calls) <= MAX_EPOCHS,
           f"{ctx.name}.fit() called the validator {len(calls)} times with max_epochs={MAX_EPOCHS}")
    expect(not problems, problems[0] if problems else "")


CHECKS: dict[str, Callable[[CheckContext], None]] = {
    "api_version": check_api_version,
    "init_stores_only": check_init_stores_only,
    "fit_returns_self_or_none": check_fit_returns_self_or_none,
    "train_unchanged": check_train_unchanged,
    "score_shape_dtype": check_score_shape_dtype,
    "no_nan": check_no_nan,
    "determinism": check_determinism,
    "batch_independence": check_batch_independence,
    "batch_unchanged": check_batch_unchanged,
    "empty_history": check_empty_history,
    "sequential_inputs": check_sequential_inputs,
    "unseen_users": check_unseen_users,
    "save_load": check_save_load,
    "factors": check_factors,
    "parameter_constraints": check_parameter_constraints,
    "rating_predict": check_rating_predict,
    "epoch_budget": check_epoch_budget,
}
