"""Device names, seeding streams and thread limits."""

import random

import numpy as np
import pytest
import torch

from recplug.contract import FitOptions
from recplug.errors import ConfigError
from recplug.training import fit_context, limited_threads, resolve_device, seed_everything


@pytest.fixture
def fake_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


def test_auto_uses_cuda_only_for_models_that_support_it(fake_cuda):
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("auto", supports_cuda=False) == torch.device("cpu")
    assert resolve_device("CUDA:1") == torch.device("cuda", 1)
    assert resolve_device(" cpu ", supports_cuda=False) == torch.device("cpu")


def test_cuda_for_a_model_without_cuda_support_says_what_to_use(fake_cuda):
    with pytest.raises(ConfigError, match=r"^device='cuda:0' is not allowed: this model does not declare CUDA "
                                          r"support \(Tags.supports_cuda\); use device 'cpu' or 'auto'$"):
        resolve_device("cuda:0", supports_cuda=False)


def test_missing_cuda_device_index(fake_cuda):
    with pytest.raises(ConfigError, match=r"^device='cuda:2' does not exist: torch sees 2"):
        resolve_device("cuda:2")


def test_device_messages_name_the_argument_not_a_flag(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for name in ("gpu", "cuda", None):
        with pytest.raises(ConfigError, match=r"^device=") as info:
            resolve_device(name)
        assert "--" not in str(info.value)


def draws():
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_fit_context_gives_the_streams_of_the_runners_seed_everything():
    seed_everything(11)
    runner_then_plugin = draws()                # a plugin that skips fit_context
    random.random(), np.random.rand(), torch.rand(5)  # whatever ran in between
    with fit_context(FitOptions(seed=11, device="cpu")):
        assert draws() == runner_then_plugin     # a plugin inside fit_context
    seed_everything(12)
    assert draws() != runner_then_plugin


@pytest.mark.parametrize("seed", [-1, True, 1.5, "3"])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ConfigError, match="seed="):
        seed_everything(seed)


def test_seed_everything_accepts_numpy_ints():
    seed_everything(np.int64(4))
    first = draws()
    seed_everything(4)
    assert draws() == first


def test_limited_threads_sets_and_restores_torch_and_blas():
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    with limited_threads(1):
        assert torch.get_num_threads() == 1
        assert all(pool["num_threads"] == 1 for pool in threadpool_info() if pool["user_api"] == "blas")
    assert torch.get_num_threads() == before
    for leave in (None, 0):
        with limited_threads(leave):
            assert torch.get_num_threads() == before


@pytest.mark.parametrize("threads", [-1, 1.5, True, "abc"])
def test_limited_threads_rejects_bad_counts(threads):
    with pytest.raises(ConfigError, match=r"^threads="):
        with limited_threads(threads):
            pass


def test_fit_context_is_deterministic_for_a_cpu_only_model_on_a_cuda_machine(fake_cuda):
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(False)
    try:
        with fit_context(FitOptions(device="auto"), supports_cuda=False):
            assert torch.are_deterministic_algorithms_enabled()
        with fit_context(FitOptions(device="auto")):
            assert not torch.are_deterministic_algorithms_enabled()  # it will run on CUDA
    finally:
        torch.use_deterministic_algorithms(before)
