"""Leaderboards over stored runs: mean ± std over seeds, paired significance, renderers."""

from recplug.leaderboard.model import Cell, Comparison, Leaderboard, Row
from recplug.leaderboard.render import FORMATS, render
from recplug.leaderboard.render_table import print_table

__all__ = ["Cell", "Comparison", "FORMATS", "Leaderboard", "Row", "print_table", "render"]
