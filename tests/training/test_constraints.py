"""Accept/reject tables for the declared hyperparameter constraints."""

import math

import numpy as np
import pytest

from recplug.errors import ConfigError, ContractError
from recplug.training.constraints import (Boolean, Integer, Nullable, Options, Real, check_model_params,
                                          check_params, search_space)

ACCEPT = [
    (Integer(1), 1), (Integer(1), np.int64(7)), (Integer(1), np.int32(1)), (Integer(), -5),
    (Integer(1, 10), 10), (Integer(0, 10, closed="neither"), 5),
    (Real(0, None, closed="neither"), 0.1), (Real(0, None, closed="neither"), 3), (Real(), np.float32(2.5)),
    (Real(0, 1), 0), (Real(0, 1), 1.0), (Real(allow_nan=True), math.nan), (Real(allow_inf=True), math.inf),
    (Options("bce", "ce"), "ce"), (Options(1, 2), 2), (Options(None, "x"), None),
    (Boolean(), True), (Boolean(), False), (Boolean(), np.bool_(True)),
    (Nullable(Integer(1)), None), (Nullable(Integer(1)), 3),
]

REJECT = [
    (Integer(1), True, "an integer >= 1"), (Integer(), False, "an integer"),
    (Integer(1), [10, 20], "an integer >= 1"), (Integer(1), 2.0, "an integer >= 1"),
    (Integer(1), "3", "an integer >= 1"), (Integer(1), 0, "an integer >= 1"), (Integer(1), None, "an integer >= 1"),
    (Integer(1, 10), 11, "an integer in [1, 10]"), (Integer(0, 10, closed="neither"), 0, "an integer in (0, 10)"),
    (Integer(0, 10, closed="left"), 10, "an integer in [0, 10)"), (Integer(high=5, closed="left"), 5, "an integer < 5"),
    (Real(0, None, closed="neither"), 0, "a real number > 0"), (Real(0, None, closed="neither"), -1, "a real number > 0"),
    (Real(0, None, closed="neither"), "abc", "a real number > 0"), (Real(), True, "a real number"),
    (Real(), {"a": 1}, "a real number"), (Real(), math.nan, "a real number (NaN is not allowed)"),
    (Real(0), math.inf, "a real number >= 0 (infinity is not allowed)"), (Real(0, 1, closed="right"), 0, "a real number in (0, 1]"),
    (Options("bce", "ce"), "BCE", "one of 'bce', 'ce'"), (Options(1, 2), True, "one of 1, 2"),
    (Options(True, False), 1, "one of True, False"), (Options("a"), ["a"], "one of 'a'"),
    (Boolean(), 1, "a boolean (true or false)"), (Boolean(), "true", "a boolean (true or false)"),
    (Nullable(Integer(1)), 0, "None or an integer >= 1"), (Nullable(Real()), "abc", "None or a real number"),
]


@pytest.mark.parametrize("constraint, value", ACCEPT)
def test_accepts(constraint, value):
    assert constraint.check(value) is None


@pytest.mark.parametrize("constraint, value, allowed", REJECT)
def test_rejects_with_what_is_allowed(constraint, value, allowed):
    assert constraint.check(value) == allowed


def test_check_params_message_names_owner_value_and_rule():
    constraints = {"lr": Real(0, None, closed="neither"), "k": Integer(1), "factors": Integer(1)}
    with pytest.raises(ConfigError, match=r"^BPR: lr=-1 is not allowed; lr must be a real number > 0$"):
        check_params("BPR", constraints, {"lr": -1})
    with pytest.raises(ConfigError, match=r"^BPR: k=\[10, 20\] is not allowed; k must be an integer >= 1$"):
        check_params("BPR", constraints, {"k": [10, 20]})
    with pytest.raises(ConfigError, match=r"^BPR: factors='abc' is not allowed"):
        check_params("BPR", constraints, {"factors": "abc"})
    with pytest.raises(ConfigError, match=r"^BPR: no constraint is declared for hyperparameter 'x'$"):
        check_params("BPR", constraints, {"lr": 0.1, "x": 1})
    check_params("BPR", constraints, {"lr": 0.1, "k": 10})


def test_long_values_are_shortened_in_messages():
    with pytest.raises(ConfigError) as info:
        check_params("M", {"k": Integer(1)}, {"k": list(range(1000))})
    assert len(str(info.value)) < 200 and "..." in str(info.value)


class _Model:
    parameter_constraints = {"hidden": Integer(1, search=(16, 256, "log")), "n_heads": Integer(1),
                             "loss": Options("bce", "ce"), "dropout": Real(0, 1, closed="left", search=(0.0, 0.5)),
                             "norm": Boolean(search=True), "l2": Nullable(Real(0, search=(1e-6, 1e-2, "log")))}

    @classmethod
    def check_param_relations(cls, params):
        if params["hidden"] % params["n_heads"]:
            raise ConfigError(f"_Model: hidden={params['hidden']} must be divisible by n_heads={params['n_heads']}")


GOOD = {"hidden": 64, "n_heads": 2, "loss": "ce", "dropout": 0.2, "norm": False, "l2": None}


def test_check_model_params_uses_constraints_then_relations():
    check_model_params(_Model, GOOD)
    with pytest.raises(ConfigError, match="_Model: dropout=1 is not allowed"):
        check_model_params(_Model, {**GOOD, "dropout": 1})
    with pytest.raises(ConfigError, match="divisible"):
        check_model_params(_Model, {**GOOD, "hidden": 63})


def test_class_without_constraints_is_not_checked():
    class Free:
        pass

    check_model_params(Free, {"anything": "abc"})
    assert search_space(Free) == {}


def test_search_space_lists_declared_ranges_only():
    assert search_space(_Model) == {
        "hidden": {"type": "int", "low": 16, "high": 256, "log": True},
        "loss": {"type": "categorical", "choices": ["bce", "ce"]},
        "dropout": {"type": "float", "low": 0.0, "high": 0.5, "log": False},
        "norm": {"type": "categorical", "choices": [False, True]},
        "l2": {"type": "float", "low": 1e-6, "high": 1e-2, "log": True},
    }
    assert Options("a", "b", "c", search=("a", "b")).search_space() == {"type": "categorical", "choices": ["a", "b"]}
    assert Options("a", search=False).search_space() is None


@pytest.mark.parametrize("make", [
    lambda: Integer(1, closed="open"), lambda: Integer(1.5), lambda: Integer(5, 1),
    lambda: Integer(1, search=(0, 10)), lambda: Integer(1, search=(10, 2)), lambda: Real(search=(0, 1, "log")),
    lambda: Real(search=(0, 1, "exp")), lambda: Options(), lambda: Options("a", search=("b",)),
    lambda: Nullable(int),
])
def test_bad_declarations_are_contract_errors(make):
    with pytest.raises(ContractError):
        make()


def test_constraints_are_frozen_and_comparable():
    assert Integer(1) == Integer(1) and Options("a", "b") == Options("a", "b")
    with pytest.raises(Exception):
        Integer(1).low = 0
