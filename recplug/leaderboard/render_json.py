"""JSON: :meth:`Leaderboard.to_dict`, indented (NaN written as null)."""

from __future__ import annotations

import json

from recplug.leaderboard.model import Leaderboard


def render_json(lb: Leaderboard) -> str:
    return json.dumps(lb.to_dict(), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
