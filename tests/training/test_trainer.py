"""The shared trainer: budget, early stopping, best weights, Ctrl-C, seeding, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from recplug.contract import FitOptions
from recplug.errors import ConfigError, ModelError
from recplug.training import (Trainer, derive_seed, epoch_budget, fit_context, resolve_device, seed_everything,
                              shuffled_batches)

X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
Y = (X @ np.array([1.0, -2.0, 0.5], dtype=np.float32))[:, None]


class Toy:
    """A model-like object the validator receives."""

    def __init__(self, dropout: float = 0.0):
        self.module = torch.nn.Sequential(torch.nn.Dropout(dropout), torch.nn.Linear(3, 1))


def weights(module) -> np.ndarray:
    return torch.cat([p.detach().flatten() for p in module.parameters()]).numpy().copy()


def run(options: FitOptions, *, epochs: int = 6, eval_every: int = 1, dropout: float = 0.0,
        lr: float = 0.05, loss_scale: float = 1.0, optimizer=torch.optim.SGD, on_loss=None):
    """Fit the toy; ``on_loss(trainer, out)`` sees every batch's trainer and network output."""
    device = torch.device(options.device if options.device != "auto" else "cpu")
    with fit_context(options):
        toy = Toy(dropout)
        toy.module.to(device)
        trainer = Trainer(options, epochs=epochs, eval_every=eval_every)

        def batches(epoch, seed):
            return shuffled_batches((X, Y), 16, seed=seed, device=device)

        def loss_fn(batch):
            x, y = batch
            out = toy.module(x)
            if on_loss is not None:
                on_loss(trainer, out)
            return loss_scale * torch.nn.functional.mse_loss(out.float(), y)

        result = trainer.fit(toy, toy.module, optimizer(toy.module.parameters(), lr=lr), batches, loss_fn)
    return toy, result


class ScriptedValidator:
    """Returns scripted values and remembers the weights it saw at each call."""

    metric = "scripted"

    def __init__(self, values, consume_rng: bool = False):
        self.values = list(values)
        self.seen: list[np.ndarray] = []
        self.consume_rng = consume_rng
        self.calls = 0

    def __call__(self, model) -> float:
        if self.consume_rng:
            torch.rand(100)
            np.random.rand(10)
        self.seen.append(weights(model.module))
        self.calls += 1
        return self.values[self.calls - 1]


def test_budget_progress_and_loss_decrease():
    reports = []
    toy, result = run(FitOptions(seed=1, max_epochs=4, progress=reports.append), epochs=50)
    assert result.epochs_run == 4 and result.stopped == "budget"
    assert [r.epoch for r in reports] == [1, 2, 3, 4]
    assert all(r.validation is None for r in reports)
    assert reports[-1].loss < reports[0].loss
    assert not toy.module.training  # left in eval mode


def test_early_stopping_restores_best_weights():
    validator = ScriptedValidator([0.1, 0.5, 0.3, 0.2, 0.9, 0.9])
    toy, result = run(FitOptions(seed=1, patience=2, validator=validator), epochs=6)
    assert result.stopped == "early_stopping"
    assert result.epochs_run == 4 and validator.calls == 4
    assert result.best_epoch == 2 and result.best_validation == 0.5
    np.testing.assert_array_equal(weights(toy.module), validator.seen[1])
    assert not np.array_equal(validator.seen[1], validator.seen[3])  # it did train on


def test_eval_every_validates_on_schedule_and_last_epoch():
    reports = []
    validator = ScriptedValidator([0.1, 0.2, 0.3])
    _, result = run(FitOptions(seed=1, validator=validator, progress=reports.append), epochs=5, eval_every=2)
    assert [r.validation for r in reports] == [None, 0.1, None, 0.2, 0.3]
    assert result.best_epoch == 5


def test_ctrl_c_stops_cleanly_and_keeps_best_weights():
    validator = ScriptedValidator([0.1, 0.7, 0.3, 0.2, 0.1, 0.0])

    def progress(report):
        if report.epoch == 3:
            raise KeyboardInterrupt

    toy, result = run(FitOptions(seed=1, patience=10, validator=validator, progress=progress), epochs=6)
    assert result.stopped == "interrupted"
    assert result.epochs_run == 3 and result.best_epoch == 2
    np.testing.assert_array_equal(weights(toy.module), validator.seen[1])


def test_ctrl_c_without_validator_keeps_current_weights():
    def progress(report):
        if report.epoch == 2:
            raise KeyboardInterrupt

    _, result = run(FitOptions(seed=1, progress=progress), epochs=6)
    assert result.stopped == "interrupted" and result.epochs_run == 2 and result.best_epoch is None


def test_same_seed_same_weights_and_validation_does_not_shift_randomness():
    a, _ = run(FitOptions(seed=3), dropout=0.3)
    b, _ = run(FitOptions(seed=3), dropout=0.3)
    c, _ = run(FitOptions(seed=4), dropout=0.3)
    # a validator that draws from torch/numpy global generators must not change training
    validator = ScriptedValidator([float(i) for i in range(6)], consume_rng=True)
    d, _ = run(FitOptions(seed=3, validator=validator, patience=100), dropout=0.3)
    np.testing.assert_array_equal(weights(a.module), weights(b.module))
    np.testing.assert_array_equal(weights(a.module), weights(d.module))
    assert not np.array_equal(weights(a.module), weights(c.module))


def test_non_finite_loss_raises_model_error():
    with pytest.raises(ModelError, match="loss became"):
        run(FitOptions(seed=0), loss_scale=float("nan"))


@pytest.mark.parametrize("bad", [dict(max_epochs=0), dict(max_epochs=2.5), dict(patience=0)])
def test_bad_budget_or_patience_is_a_config_error(bad):
    with pytest.raises(ConfigError):
        run(FitOptions(seed=0, **bad))


def test_bad_eval_every_is_a_config_error():
    with pytest.raises(ConfigError, match="eval_every"):
        run(FitOptions(seed=0), eval_every=0)


def test_fit_context_sets_and_restores_threads_and_determinism():
    before_threads = torch.get_num_threads()
    before_det = torch.are_deterministic_algorithms_enabled()
    with fit_context(FitOptions(device="cpu", threads=1, seed=5)):
        assert torch.get_num_threads() == 1
        assert torch.are_deterministic_algorithms_enabled()
        first = torch.rand(3)
    with fit_context(FitOptions(device="cpu", threads=1, seed=5)):
        again = torch.rand(3)
    assert torch.equal(first, again)
    assert torch.get_num_threads() == before_threads
    assert torch.are_deterministic_algorithms_enabled() == before_det


def test_fit_context_restores_on_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with fit_context(FitOptions(threads=1)):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before


def test_derive_seed_is_stable_and_independent():
    assert derive_seed(0, "epoch", 1) == derive_seed(0, "epoch", 1)
    seeds = {derive_seed(s, "epoch", e) for s in range(5) for e in range(1, 20)}
    assert len(seeds) == 95
    assert all(0 <= s < 2**63 for s in seeds)
    assert derive_seed(0, "a") != derive_seed(0, "b")
    with pytest.raises(TypeError):
        derive_seed(0, -1)


def test_seed_everything_seeds_python_numpy_and_torch():
    import random

    seed_everything(9)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(9)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ConfigError, match="not understood"):
        resolve_device("gpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_resolve_device_without_cuda_says_how_to_fix():
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_mixed_precision_training_on_cuda():
    seen_dtypes = []
    _, result = run(FitOptions(device="cuda", seed=0, max_epochs=3), optimizer=torch.optim.Adam,
                    on_loss=lambda trainer, out: seen_dtypes.append(out.dtype))
    assert result.epochs_run == 3
    assert seen_dtypes[0] in (torch.bfloat16, torch.float16)
    assert result.history[-1].loss < result.history[0].loss


class LowerIsBetter(ScriptedValidator):
    metric = "rmse"
    higher_is_better = False


def test_lower_is_better_validator_picks_the_smallest_and_stops_on_it():
    validator = LowerIsBetter([0.9, 0.4, 0.6, 0.7, 0.1, 0.1])
    toy, result = run(FitOptions(seed=1, patience=2, validator=validator), epochs=6)
    assert result.stopped == "early_stopping" and result.epochs_run == 4
    assert result.best_epoch == 2 and result.best_validation == 0.4
    np.testing.assert_array_equal(weights(toy.module), validator.seen[1])


def test_nan_validation_is_never_the_best():
    # the old loop took a first NaN as the best and then nothing could beat it
    validator = ScriptedValidator([float("nan"), 0.5, 0.3])
    _, result = run(FitOptions(seed=1, patience=5, validator=validator), epochs=3)
    assert result.best_epoch == 2 and result.best_validation == 0.5


def test_step_counts_optimizer_steps_and_is_readable_by_the_loss():
    seen = []
    _, result = run(FitOptions(seed=0), epochs=3, on_loss=lambda trainer, out: seen.append(trainer.step))
    assert seen == list(range(12))  # 64 rows / 16 = 4 batches x 3 epochs
    assert Trainer(FitOptions(), epochs=3).step == 0


def test_step_restarts_at_zero_for_a_new_fit():
    options = FitOptions(seed=0)
    trainer = Trainer(options, epochs=2)
    module = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.01)
    seen = []

    def loss_fn(batch):
        seen.append(trainer.step)
        return torch.nn.functional.mse_loss(module(batch[0]), batch[1])

    batches = lambda epoch, seed: shuffled_batches((X, Y), 32, seed=seed, device="cpu")
    trainer.fit(module, module, optimizer, batches, loss_fn)
    trainer.fit(module, module, optimizer, batches, loss_fn)
    assert seen == [0, 1, 2, 3, 0, 1, 2, 3] and trainer.step == 4


@pytest.mark.parametrize("options, default, match", [
    (FitOptions(max_epochs=0), 10, r"^max_epochs=0 is not allowed; the epoch budget \(max_epochs\) must be an integer >= 1$"),
    (FitOptions(max_epochs=True), 10, r"^max_epochs=True is not allowed"),
    (FitOptions(), 0, r"^epochs=0 is not allowed; the model's default epoch budget \(epochs\)"),
    (FitOptions(), "abc", r"^epochs='abc' is not allowed"),
])
def test_epoch_budget_names_the_argument_not_a_flag(options, default, match):
    with pytest.raises(ConfigError, match=match) as info:
        epoch_budget(options, default)
    assert "--" not in str(info.value)


def test_epoch_budget_prefers_max_epochs():
    assert epoch_budget(FitOptions(max_epochs=3), 50) == 3
    assert epoch_budget(FitOptions(), np.int64(7)) == 7


def test_trainer_checks_its_arguments_in_one_line():
    with pytest.raises(ConfigError, match=r"^Trainer: clip_grad_norm=0 is not allowed"):
        Trainer(FitOptions(), epochs=2, clip_grad_norm=0)
    with pytest.raises(ConfigError, match=r"^Trainer: patience=0 is not allowed"):
        Trainer(FitOptions(patience=0), epochs=2)
