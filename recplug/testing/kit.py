"""Run the conformance checks: all at once (:func:`check_model`) or one pytest test each
(:func:`parametrize_models`), the way scikit-learn's ``check_estimator`` and
``parametrize_with_checks`` do."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from recplug.errors import ConfigError
from recplug.testing.checks import CHECKS, CheckContext, CheckFailed, NotApplicable


class ConformanceFailure(AssertionError):
    """One or more conformance checks failed; ``failures`` maps each check to why."""

    def __init__(self, model: str, failures: dict[str, str]):
        self.model = model
        self.failures = dict(failures)
        lines = "\n".join(f"  - {name}: {why}" for name, why in self.failures.items())
        super().__init__(f"{model} failed {len(self.failures)} conformance check(s):\n{lines}")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, CheckFailed):
        return str(exc)
    return f"raised {type(exc).__name__}: {exc}"


def _check_names(expected_failures: Iterable[str]) -> frozenset[str]:
    names = frozenset(expected_failures)
    unknown = sorted(names - CHECKS.keys())
    if unknown:
        raise ConfigError(f"expected_failures names unknown check(s) {unknown}; the checks are "
                          f"{sorted(CHECKS)}")
    return names


def _check_device(cls: type, device: str) -> None:
    if device == "cpu":
        return
    if not device.startswith("cuda"):
        raise ConfigError(f"device must be 'cpu' or 'cuda[:N]', got {device!r}")
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but CUDA is not available here; use device='cpu'")
    tags = getattr(cls, "tags", None)
    if not getattr(tags, "supports_cuda", False):
        raise ConfigError(f"{cls.__name__} does not declare Tags(supports_cuda=True); "
                          "check it on device='cpu'")


PASSED, NOT_APPLICABLE, FAILED = "passed", "not applicable", "failed"


@functools.lru_cache(maxsize=8)
def _cached_context(cls: type, params_json: str, device: str) -> CheckContext:
    return CheckContext(cls, json.loads(params_json), device)


def shared_context(cls: type, params: dict[str, Any], device: str) -> CheckContext:
    """One :class:`CheckContext` per (class, hyperparameters, device), so the checks that only
    read the fitted model share one fit (checks that need their own fits still make them).
    Hyperparameters that are not JSON build a context of their own."""
    try:
        key = json.dumps(params, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        return CheckContext(cls, dict(params), device)
    if json.loads(key) != params:  # e.g. tuples would come back as lists
        return CheckContext(cls, dict(params), device)
    return _cached_context(cls, key, device)


def run_check(name: str, ctx: CheckContext) -> tuple[str, str | None]:
    """Run one named check: ``(status, reason)`` with status passed / not applicable / failed."""
    try:
        CHECKS[name](ctx)
    except NotApplicable as exc:
        return NOT_APPLICABLE, str(exc)
    except Exception as exc:  # a crash inside the model is a failure of that check
        return FAILED, _describe(exc)
    return PASSED, None


def check_model(cls: type, params: dict | None = None, *,
                expected_failures: Iterable[str] = frozenset(), device: str = "cpu") -> None:
    """Run every conformance check on ``cls(**params)``; raise :class:`ConformanceFailure`
    listing each failed check by name and why.

    Checks named in ``expected_failures`` must fail (a declared known limitation); one that
    passes is reported too, so stale declarations get removed. Fitted on the kit's tiny
    data with ``FitOptions(max_epochs=2, seed=0)`` on ``device``; one fitted model is
    shared by the checks that only score.
    """
    expected = _check_names(expected_failures)
    _check_device(cls, device)
    ctx = CheckContext(cls, dict(params or {}), device)
    failures: dict[str, str] = {}
    for name in CHECKS:
        status, why = run_check(name, ctx)
        if status == FAILED and name not in expected:
            failures[name] = why or "failed"
        elif status == PASSED and name in expected:
            failures[name] = "passed, but is listed in expected_failures; remove it from there"
    if failures:
        raise ConformanceFailure(ctx.name, failures)


@dataclass
class ModelCheck:
    """One check bound to one model: calling it runs the check (pytest skips what does not apply)."""

    cls: type
    params: dict[str, Any] = field(default_factory=dict)
    check: str = "api_version"
    device: str = "cpu"

    @property
    def id(self) -> str:
        args = ",".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.cls.__name__}({args})-{self.check}"

    def __call__(self) -> None:
        import pytest

        ctx = shared_context(self.cls, dict(self.params), self.device)
        try:
            CHECKS[self.check](ctx)
        except NotApplicable as exc:
            pytest.skip(f"{self.check} does not apply: {exc}")
        except CheckFailed:
            raise
        except Exception as exc:
            raise CheckFailed(f"{self.check}: {_describe(exc)}") from exc

    def __repr__(self) -> str:
        return f"<ModelCheck {self.id}>"


def _spec(spec: Any) -> tuple[type, dict, frozenset[str]]:
    if isinstance(spec, type):
        return spec, {}, frozenset()
    if isinstance(spec, tuple) and 1 <= len(spec) <= 3 and isinstance(spec[0], type):
        cls, params, expected = (*spec, None, None)[:3]
        return cls, dict(params or {}), _check_names(expected or ())
    raise ConfigError(f"parametrize_models takes model classes or (cls, params[, expected_failures]) "
                      f"tuples, got {spec!r}")


def parametrize_models(*specs: Any, device: str = "cpu") -> Any:
    """``pytest.mark.parametrize`` over every (model, check) pair, argument ``model_check``.

    Each spec is a class, ``(cls, params)`` or ``(cls, params, expected_failures)``; each
    check becomes its own test, id ``Class(params)-check``; checks that do not apply are
    skipped with the reason, expected failures are strict ``xfail``::

        @parametrize_models((MyModel, {"factors": 8}))
        def test_conformance(model_check):
            model_check()
    """
    import pytest

    if not specs:
        raise ConfigError("parametrize_models needs at least one model class")
    skip_cuda = None
    if device != "cpu":
        import torch

        if not torch.cuda.is_available():
            skip_cuda = pytest.mark.skip(reason=f"device={device!r} needs CUDA, which is not available")
    params = []
    for spec in specs:
        cls, hyper, expected = _spec(spec)
        for name in CHECKS:
            bound = ModelCheck(cls, hyper, name, device)
            marks = [skip_cuda] if skip_cuda else []
            if name in expected:
                reason = f"{cls.__name__} declares {name} as an expected failure"
                marks.append(pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))
            params.append(pytest.param(bound, id=bound.id, marks=marks))
    return pytest.mark.parametrize("model_check", params)
