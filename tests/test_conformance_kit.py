"""The conformance kit: good models pass every check; each deliberately broken model fails
exactly the check that names its fault, with a message that says why."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from recplug.contract import RECPLUG_API, EpochReport, FitOptions, Model, ScoreBatch, Tags, TrainData
from recplug.errors import ConfigError
from recplug.training.constraints import Integer, Real
from recplug.testing import (
    CHECKS,
    CheckContext,
    ConformanceFailure,
    ModelCheck,
    check_model,
    parametrize_models,
    run_check,
)


# ---- good models ------------------------------------------------------------------------
class CoPop(Model):
    """Co-occurrence with the history plus popularity, and a seeded jitter (numpy, save/load)."""

    recplug_api = RECPLUG_API
    tags = Tags()
    parameter_constraints = {"alpha": Real(0, None), "jitter": Real(0, None)}

    def __init__(self, alpha: float = 0.1, jitter: float = 1e-3):
        self.alpha = alpha
        self.jitter = jitter

    def fit(self, train: TrainData, options: FitOptions) -> "CoPop":
        csr = train.csr
        self.cooc_ = np.asarray((csr.T @ csr).toarray(), dtype=np.float32)
        np.fill_diagonal(self.cooc_, 0.0)
        pop = train.item_user_counts().astype(np.float32)
        self.pop_ = pop / max(float(pop.max()), 1.0)
        self.noise_ = self._noise(train.n_items, options)
        if options.progress:
            options.progress(EpochReport(epoch=1, loss=0.0))
        if options.validator:
            options.validator(self)
        return self

    def _noise(self, n_items: int, options: FitOptions) -> np.ndarray:
        rng = np.random.default_rng(options.seed)
        return (rng.random(n_items) * self.jitter).astype(np.float32)

    def score(self, batch: ScoreBatch) -> np.ndarray:
        history = batch.history_csr()
        return np.asarray(history @ self.cooc_, dtype=np.float32) + self.alpha * self.pop_ + self.noise_

    def save(self, path: Path) -> None:
        np.savez(Path(path).with_suffix(".npz"), cooc=self.cooc_, pop=self.pop_, noise=self.noise_,
                 params=json.dumps(self.get_params()))

    @classmethod
    def load(cls, path: Path) -> "CoPop":
        with np.load(Path(path).with_suffix(".npz")) as state:
            model = cls(**json.loads(str(state["params"])))
            model.cooc_, model.pop_, model.noise_ = state["cooc"], state["pop"], state["noise"]
        return model


class LastItem(Model):
    """Sequential: transitions from the last two items of the history (uses ScoreBatch.recent)."""

    recplug_api = RECPLUG_API
    tags = Tags(sequential=True)
    parameter_constraints = {"decay": Real(0, 1), "alpha": Real(0, None)}

    def __init__(self, decay: float = 0.5, alpha: float = 0.01):
        self.decay = decay
        self.alpha = alpha

    def fit(self, train: TrainData, options: FitOptions) -> "LastItem":
        trans = np.zeros((train.n_items, train.n_items), dtype=np.float32)
        for user in range(train.n_users):
            seq = train.sequence(user)
            np.add.at(trans, (seq[:-1], seq[1:]), 1.0)
        self.trans_ = trans
        self.pop_ = train.item_user_counts().astype(np.float32) / max(len(train), 1)
        return self

    def score(self, batch: ScoreBatch) -> np.ndarray:
        recent = batch.recent(2, pad=-1)
        scores = np.tile(self.alpha * self.pop_, (len(batch), 1))
        for col, weight in ((1, 1.0), (0, self.decay)):
            known = recent[:, col] >= 0
            scores[known] += np.float32(weight) * self.trans_[recent[known, col]]
        return scores


class Bias(Model):
    """Rating model: global mean + shrunk user and item biases."""

    recplug_api = RECPLUG_API
    tags = Tags(task="rating")
    parameter_constraints = {"reg": Real(0, None)}

    def __init__(self, reg: float = 5.0):
        self.reg = reg

    def fit(self, train: TrainData, options: FitOptions) -> "Bias":
        users, items = train.interactions.users, train.interactions.items
        ratings = train.ratings.astype(np.float64)
        self.mu_ = float(ratings.mean())
        resid = ratings - self.mu_
        self.bi_ = np.bincount(items, resid, train.n_items) / (np.bincount(items, minlength=train.n_items) + self.reg)
        resid = resid - self.bi_[items]
        self.bu_ = np.bincount(users, resid, train.n_users) / (np.bincount(users, minlength=train.n_users) + self.reg)
        return self

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return (self.mu_ + self.bu_[users] + self.bi_[items]).astype(np.float32)

    def score(self, batch: ScoreBatch) -> np.ndarray:
        return (self.mu_ + self.bu_[batch.users][:, None] + self.bi_[None, :]).astype(np.float32)


class TorchMF(Model):
    """Matrix factorisation in torch (full-batch squared loss), seeded from options.seed."""

    recplug_api = RECPLUG_API
    tags = Tags(supports_cuda=True)
    parameter_constraints = {"factors": Integer(1, None), "lr": Real(0, None, closed="neither")}

    def __init__(self, factors: int = 4, lr: float = 0.5):
        self.factors = factors
        self.lr = lr

    def fit(self, train: TrainData, options: FitOptions) -> "TorchMF":
        import torch

        gen = torch.Generator().manual_seed(options.seed)
        user = (0.1 * torch.randn(train.n_users, self.factors, generator=gen)).requires_grad_()
        item = (0.1 * torch.randn(train.n_items, self.factors, generator=gen)).requires_grad_()
        target = torch.from_numpy(train.csr.toarray())
        opt = torch.optim.SGD([user, item], lr=self.lr)
        for epoch in range(1, (options.max_epochs or 10) + 1):
            loss = ((user @ item.T - target) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if options.progress:
                options.progress(EpochReport(epoch=epoch, loss=float(loss.detach())))
        self.user_ = user.detach().to(options.device)
        self.item_ = item.detach().to(options.device)
        return self

    def score(self, batch: ScoreBatch):
        import torch

        users = torch.as_tensor(batch.users, dtype=torch.long, device=self.user_.device)
        return self.user_[users] @ self.item_.T


# ---- broken models: each breaks one rule ------------------------------------------------
class NaNForOneUser(CoPop):
    """Per-user normalisation bug: NaN scores for user 3."""

    def score(self, batch):
        scores = super().score(batch)
        scores[batch.users == 3] = np.nan
        return scores


class WrongShape(CoPop):
    def score(self, batch):
        return super().score(batch)[:, :-1]


class Float64(CoPop):
    def score(self, batch):
        return super().score(batch).astype(np.float64)


class Nondeterministic(CoPop):
    def _noise(self, n_items, options):
        return (np.random.default_rng().random(n_items) * self.jitter).astype(np.float32)


class BatchDependent(CoPop):
    """Centres the scores over the users of the batch."""

    def score(self, batch):
        scores = super().score(batch)
        return scores - scores.mean(axis=0, keepdims=True)


class ReversesHistories(CoPop):
    """Reverses the batch's histories in place (the history set, hence the scores, stay the same)."""

    def score(self, batch):
        for row, n in zip(batch.histories, batch.lengths):
            row[:n] = row[:n][::-1].copy()
        return super().score(batch)


class OrderBlind(CoPop):
    """Tagged sequential but reads the history as a set."""

    tags = Tags(sequential=True)


class WorkingInit(CoPop):
    """Allocates its tables in __init__."""

    def __init__(self, alpha: float = 0.1, jitter: float = 1e-3):
        super().__init__(alpha, jitter)
        self._table = np.zeros((1000, 8), dtype=np.float32)


class NoGetParams:
    """Everything but get_params."""

    recplug_api = RECPLUG_API
    tags = Tags()
    parameter_constraints = {"alpha": Real()}

    def __init__(self, alpha: float = 0.1):
        self.alpha = alpha

    def fit(self, train, options):
        self.pop_ = train.item_user_counts().astype(np.float32)
        return self

    def score(self, batch):
        return np.tile(self.alpha * self.pop_, (len(batch), 1))


class FutureApi(CoPop):
    recplug_api = RECPLUG_API + 1


class DictTags(CoPop):
    tags = {"sequential": False}


class EmptyHistoryNaN(CoPop):
    """Averages the history rows: 0/0 for an empty history."""

    def score(self, batch):
        history = batch.history_csr()
        with np.errstate(invalid="ignore"):
            mean = (history @ self.cooc_) / history.sum(axis=1).A
        return np.asarray(mean, dtype=np.float32) + self.noise_


class ColdItemNaN(CoPop):
    """Divides by the popularity of the history items: 0/0 for an item nobody trained on."""

    def score(self, batch):
        history = batch.history_csr()
        with np.errstate(divide="ignore", invalid="ignore"):
            weighted = history.multiply(1.0 / self.pop_[None, :]).tocsr()
            weighted.data[~np.isfinite(weighted.data)] = np.nan
        return np.asarray(weighted @ self.cooc_, dtype=np.float32) + self.noise_


class LossySave(CoPop):
    """Forgets the jitter when saving."""

    def save(self, path):
        self.noise_, kept = np.zeros_like(self.noise_), self.noise_
        try:
            super().save(path)
        finally:
            self.noise_ = kept


class NoConstraints(CoPop):
    parameter_constraints = None


class HalfConstrained(CoPop):
    parameter_constraints = {"alpha": Real(0, None)}


class DefaultsBreakConstraints(CoPop):
    parameter_constraints = {"alpha": Real(1, None), "jitter": Real(0, None)}


class FalseFactors(CoPop):
    """Declares factors that are not its scores."""

    def latent_factors(self, batch):
        rng = np.random.default_rng(0)
        return (rng.standard_normal((len(batch), 3)).astype(np.float32),
                rng.standard_normal((batch.n_items, 3)).astype(np.float32), None)


class OverBudget(CoPop):
    def fit(self, train, options):
        super().fit(train, FitOptions(**{**options.__dict__, "progress": None}))
        for epoch in range(1, 6):
            if options.progress:
                options.progress(EpochReport(epoch=epoch))
        return self


class FitReturnsStats(CoPop):
    def fit(self, train, options):
        super().fit(train, options)
        return {"epochs": 1}


class ScalesTrain(CoPop):
    """Weights the shared training matrix in place."""

    def fit(self, train, options):
        train.csr.data *= 2.0
        return super().fit(train, options)


class BadPredict(Bias):
    def predict(self, users, items):
        return super().predict(users, items)[:, None]


BROKEN = {
    NaNForOneUser: ("no_nan", "40 NaN, 0 +inf, 0 -inf of 1160 scores, for user(s) [3]"),
    WrongShape: ("score_shape_dtype", "expected (29, 40)"),
    Float64: ("score_shape_dtype", "dtype float64; expected float32"),
    Nondeterministic: ("determinism", "two fits of Nondeterministic with FitOptions.seed=0 disagree"),
    BatchDependent: ("batch_independence", "user 0 scored alone (batch of 1, history padded to its own length) differs"),
    ReversesHistories: ("batch_unchanged", "after ReversesHistories.score(): histories"),
    OrderBlind: ("sequential_inputs", "reversing the history leaves the scores"),
    WorkingInit: ("init_stores_only", "stores a numpy array of shape (1000, 8) in '_table'"),
    NoGetParams: ("init_stores_only", "has no get_params()"),
    FutureApi: ("api_version", "recplug_api is 2, but this recplug supports API version 1"),
    DictTags: ("api_version", "tags must be a recplug.contract.Tags instance, got dict"),
    EmptyHistoryNaN: ("empty_history", "a batch of empty histories"),
    ColdItemNaN: ("unseen_users", "unseen or rare at fit time"),
    LossySave: ("save_load", "scores change after save() and load()"),
    OverBudget: ("epoch_budget", "reported 5 epochs with FitOptions(max_epochs=2)"),
    NoConstraints: ("parameter_constraints", "declares no parameter_constraints"),
    HalfConstrained: ("parameter_constraints", "has no constraint for jitter"),
    DefaultsBreakConstraints: ("parameter_constraints", "the defaults fail the declared constraints"),
    FalseFactors: ("factors", "score() differs from latent_factors()' product"),
    FitReturnsStats: ("fit_returns_self_or_none", "fit() returned dict"),
    ScalesTrain: ("train_unchanged", "fit() modified its training data: csr.data; copy before changing"),
    BadPredict: ("rating_predict", "returned shape (40, 1) for 40 pairs"),
}

GOOD = [CoPop, LastItem, Bias, TorchMF]


def _outcomes(cls: type, params: dict | None = None) -> dict[str, tuple[str, str | None]]:
    """Every check run on a fresh context (no shared fit), by name."""
    return {name: run_check(name, CheckContext(cls, dict(params or {}))) for name in CHECKS}


@pytest.mark.parametrize("cls", GOOD, ids=lambda c: c.__name__)
def test_good_models_pass_every_check(cls):
    check_model(cls)


def test_not_applicable_checks_are_reported_as_such():
    outcomes = _outcomes(CoPop)
    assert outcomes["sequential_inputs"][0] == "not applicable"
    assert outcomes["rating_predict"][0] == "not applicable"
    assert outcomes["save_load"][0] == "passed"
    assert _outcomes(LastItem)["sequential_inputs"][0] == "passed"
    assert _outcomes(LastItem)["save_load"][0] == "not applicable"


@pytest.mark.parametrize("cls", list(BROKEN), ids=lambda c: c.__name__)
def test_each_broken_model_fails_its_check_and_only_it(cls):
    check, phrase = BROKEN[cls]
    failed = {name: why for name, (status, why) in _outcomes(cls).items() if status == "failed"}
    assert set(failed) == {check}, failed
    assert phrase in failed[check]
    with pytest.raises(ConformanceFailure) as info:
        check_model(cls)
    assert set(info.value.failures) == {check}
    assert f"{cls.__name__} failed 1 conformance check(s)" in str(info.value)
    assert f"  - {check}: " in str(info.value)
    assert isinstance(info.value, AssertionError)


def test_expected_failures_are_tolerated_and_stale_ones_reported():
    check_model(WrongShape, expected_failures={"score_shape_dtype"})
    check_model(CoPop, expected_failures={"sequential_inputs"})  # not applicable: fine
    with pytest.raises(ConformanceFailure, match="no_nan: passed, but is listed in expected_failures"):
        check_model(CoPop, expected_failures={"no_nan"})
    with pytest.raises(ConfigError, match=r"unknown check\(s\) \['no_nans'\]"):
        check_model(CoPop, expected_failures={"no_nans"})


def test_several_failures_are_all_listed():
    class TwoFaults(Float64):
        recplug_api = 0

    with pytest.raises(ConformanceFailure) as info:
        check_model(TwoFaults)
    assert set(info.value.failures) == {"api_version", "score_shape_dtype"}
    assert "upgrade the plugin" in info.value.failures["api_version"]


def test_params_are_checked_for_round_trip():
    check_model(CoPop, {"alpha": 0.5})

    class Renames(CoPop):
        def get_params(self):
            return {"alpha": self.alpha * 2, "jitter": self.jitter}

    with pytest.raises(ConformanceFailure, match=r"get_params\(\)\['alpha'\] is 1.0, but the model was built with 0.5"):
        check_model(Renames, {"alpha": 0.5})


def test_init_rules_each_have_their_message():
    class Learned(CoPop):
        def __init__(self, alpha: float = 0.1, jitter: float = 1e-3):
            super().__init__(alpha, jitter)
            self.cooc_ = None

    class NoDefault(CoPop):
        def __init__(self, alpha: float, jitter: float = 1e-3):
            super().__init__(alpha, jitter)

    class DrawsRandom(CoPop):
        def __init__(self, alpha: float = 0.1, jitter: float = 1e-3):
            super().__init__(alpha, jitter)
            np.random.rand()

    expected = {Learned: "sets learned state 'cooc_'", NoDefault: "alpha have no default",
                DrawsRandom: "draws random numbers in __init__ (global numpy.random state changed)"}
    for cls, phrase in expected.items():
        status, why = run_check("init_stores_only", CheckContext(cls, {"alpha": 0.2}))
        assert status == "failed" and phrase in why, (cls.__name__, why)


def test_global_random_state_is_left_as_found():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    check_model(CoPop)
    with pytest.raises(ConformanceFailure):
        check_model(Nondeterministic)
    assert np.array_equal(np.random.get_state()[1], before)


def test_a_crash_inside_the_model_fails_the_check_with_its_cause():
    class Crashes(CoPop):
        def score(self, batch):
            raise RuntimeError("boom")

    status, why = run_check("no_nan", CheckContext(Crashes))
    assert status == "failed" and why == "raised RuntimeError: boom"


def test_cuda_device_needs_cuda_and_the_tag():
    import torch

    with pytest.raises(ConfigError, match="supports_cuda" if torch.cuda.is_available() else "CUDA is not available"):
        check_model(CoPop, device="cuda")
    with pytest.raises(ConfigError, match="device must be"):
        check_model(CoPop, device="tpu")


@pytest.mark.skipif("not __import__('torch').cuda.is_available()", reason="needs a CUDA device")
def test_torch_model_passes_on_cuda():
    check_model(TorchMF, device="cuda")


# ---- parametrize_models: one test per check ---------------------------------------------
@parametrize_models(CoPop, (LastItem, {"decay": 0.25}), (Bias, {"reg": 1.0}),
                    (WrongShape, {}, {"score_shape_dtype"}))
def test_conformance(model_check):
    model_check()


def test_parametrize_models_builds_one_param_per_check():
    mark = parametrize_models((CoPop, {"alpha": 0.5}), (WrongShape, None, {"score_shape_dtype"}))
    argname, params = mark.args
    assert argname == "model_check"
    assert len(params) == 2 * len(CHECKS)
    ids = [p.id for p in params]
    assert "CoPop(alpha=0.5)-determinism" in ids and "WrongShape()-score_shape_dtype" in ids
    xfails = [p.id for p in params if any(m.name == "xfail" for m in p.marks)]
    assert xfails == ["WrongShape()-score_shape_dtype"]
    assert all(isinstance(p.values[0], ModelCheck) for p in params)


def test_parametrize_models_rejects_bad_specs():
    with pytest.raises(ConfigError, match="takes model classes"):
        parametrize_models("CoPop")
    with pytest.raises(ConfigError, match="at least one"):
        parametrize_models()
    with pytest.raises(ConfigError, match="unknown check"):
        parametrize_models((CoPop, {}, {"nope"}))


def test_model_check_skips_what_does_not_apply_and_fails_with_the_reason():
    with pytest.raises(pytest.skip.Exception, match="sequential_inputs does not apply"):
        ModelCheck(CoPop, {}, "sequential_inputs")()
    with pytest.raises(AssertionError, match="dtype float64"):
        ModelCheck(Float64, {}, "score_shape_dtype")()
    ModelCheck(CoPop, {}, "determinism")()


def test_checks_that_only_read_share_one_fit():
    fits = []

    class Counted(CoPop):
        def fit(self, train, options):
            fits.append(1)
            return super().fit(train, options)

    for param in parametrize_models((Counted, {"alpha": 0.3})).args[1]:
        try:
            param.values[0]()
        except BaseException:  # pytest.skip for the checks that do not apply
            pass
    # shared: 1; own fits: fit_returns_self_or_none, train_unchanged, determinism (2), epoch_budget
    assert len(fits) <= 6, len(fits)
