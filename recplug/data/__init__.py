"""Interaction data: vocabularies, the immutable ``Interactions`` table, targets, loaders."""

from recplug.data.interactions import Interactions, Vocabulary
from recplug.data.targets import Targets

__all__ = ["Interactions", "Targets", "Vocabulary"]
