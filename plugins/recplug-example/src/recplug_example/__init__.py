"""recplug-example: a time-decayed popularity model published as a recplug plugin."""

from recplug_example.model import RecencyPopularity

__all__ = ["RecencyPopularity"]
