"""The SQLite results store: every run, its metrics and per-user arrays (DESIGN.md §7)."""

from recplug.store.claims import Claim
from recplug.store.env import run_env
from recplug.store.spec import RUN_STATUSES, RunRecord, RunSpec, canonical_json, qualified_name
from recplug.store.store import ResultStore, default_store_path

__all__ = ["Claim", "RUN_STATUSES", "ResultStore", "RunRecord", "RunSpec", "canonical_json",
           "default_store_path", "qualified_name", "run_env"]
