"""Full-ranking (and sampled) evaluation of model scores (DESIGN.md §5)."""

from recplug.evaluation.config import METRICS, EvalConfig
from recplug.evaluation.evaluator import EvalResult, evaluate
from recplug.evaluation.validation import SplitValidator

__all__ = ["METRICS", "EvalConfig", "EvalResult", "SplitValidator", "evaluate"]
