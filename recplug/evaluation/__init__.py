"""Full-ranking (and sampled) evaluation of model scores, and rating prediction (DESIGN.md §5)."""

from recplug.evaluation.config import METRICS, EvalConfig
from recplug.evaluation.evaluator import EvalResult, evaluate
from recplug.evaluation.rating import RatingConfig, RatingValidator, evaluate_rating
from recplug.evaluation.validation import SplitValidator

__all__ = ["METRICS", "EvalConfig", "EvalResult", "RatingConfig", "RatingValidator", "SplitValidator",
           "evaluate", "evaluate_rating"]
