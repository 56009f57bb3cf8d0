"""``recplug reproduce``: published results and how close recplug lands to them.

:func:`load_catalogue` reads the entries (``catalogue.toml``); :func:`reproduce` runs one as
ordinary tagged runs and returns a :class:`Reproduction` (ours next to published, the
difference, inside the seed spread or not).
"""

from recplug.reproduce.catalogue import AVAILABLE, Entry, get_entry, load_catalogue
from recplug.reproduce.run import TAG, MetricComparison, Reproduction, compare, eval_request, reproduce

__all__ = ["AVAILABLE", "Entry", "MetricComparison", "Reproduction", "TAG", "compare", "eval_request",
           "get_entry", "load_catalogue", "reproduce"]
