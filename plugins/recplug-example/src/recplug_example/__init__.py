"""recplug-example: two small recplug plugins.

- ``recency-pop`` (:class:`RecencyPopularity`): on recplug's scaffold (``Model``, ``SavedModel``).
- ``recent-count`` (:class:`RecentCount`): on the bare contract only, no recplug base class.
"""

from recplug_example.bare import RecentCount
from recplug_example.model import RecencyPopularity

__all__ = ["RecencyPopularity", "RecentCount"]
