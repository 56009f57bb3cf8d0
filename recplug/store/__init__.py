"""The SQLite results store: every run, its metrics and per-user arrays (DESIGN.md §7)."""

from recplug.store.env import run_env
from recplug.store.spec import RunRecord, RunSpec, canonical_json
from recplug.store.store import ResultStore, default_store_path

__all__ = ["ResultStore", "RunRecord", "RunSpec", "canonical_json", "default_store_path", "run_env"]
