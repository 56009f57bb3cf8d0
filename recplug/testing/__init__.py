"""The conformance kit: contract checks that built-in models and third-party plugins run
in their own test suites (DESIGN.md §6).

    from recplug.testing import check_model, parametrize_models

    def test_my_model():
        check_model(MyModel, {"factors": 8})

    @parametrize_models((MyModel, {"factors": 8}))
    def test_conformance(model_check):   # one pytest test per check
        model_check()

The checks fit on tiny generated data (:func:`tiny_train`) with
``FitOptions(max_epochs=2, seed=0)``; see :data:`CHECKS` for their names. The checks that
only read a fitted model share one fit per (class, hyperparameters, device); the others
(determinism, train_unchanged, fit_returns_self_or_none, epoch_budget) fit their own.
:mod:`recplug.testing.generated` has small datasets with learnable structure and a NumPy
HR@K for "does my model learn" tests.
"""

from recplug.testing.checks import (
    CHECKS,
    CheckContext,
    CheckFailed,
    NotApplicable,
    check_api_version,
    check_batch_independence,
    check_batch_unchanged,
    check_determinism,
    check_empty_history,
    check_epoch_budget,
    check_factors,
    check_fit_returns_self_or_none,
    check_init_stores_only,
    check_no_nan,
    check_parameter_constraints,
    check_rating_predict,
    check_save_load,
    check_score_shape_dtype,
    check_sequential_inputs,
    check_train_unchanged,
    check_unseen_users,
    to_numpy,
)
from recplug.testing.data import make_batch, tiny_interactions, tiny_train, train_batch
from recplug.testing.kit import (ConformanceFailure, ModelCheck, check_model, parametrize_models, run_check,
                                 shared_context)

__all__ = [
    "CHECKS", "CheckContext", "CheckFailed", "ConformanceFailure", "ModelCheck", "NotApplicable",
    "check_api_version", "check_batch_independence", "check_batch_unchanged", "check_determinism",
    "check_empty_history", "check_epoch_budget", "check_factors", "check_fit_returns_self_or_none",
    "check_init_stores_only", "check_model", "check_no_nan", "check_parameter_constraints",
    "check_rating_predict",
    "check_save_load", "check_score_shape_dtype", "check_sequential_inputs", "check_train_unchanged",
    "check_unseen_users",
    "make_batch", "parametrize_models", "run_check", "shared_context", "tiny_interactions", "tiny_train",
    "to_numpy",
    "train_batch",
]
