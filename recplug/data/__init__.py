"""Interaction data: vocabularies, the immutable ``Interactions`` table, targets, loaders."""

from recplug.data.dataset import Dataset, load_dataset
from recplug.data.interactions import Interactions, Vocabulary
from recplug.data.registry import REGISTRY
from recplug.data.targets import Targets

__all__ = ["FORMATS", "REGISTRY", "Dataset", "Interactions", "Targets", "Vocabulary", "load_dataset"]


def __getattr__(name: str):
    if name == "FORMATS":  # lazily: the loaders import pandas
        from recplug.data.loaders import FORMATS

        return FORMATS
    raise AttributeError(f"module 'recplug.data' has no attribute {name!r}")
