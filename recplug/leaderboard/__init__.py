"""Leaderboards over stored runs: mean ± std over seeds, paired significance, renderers."""

from recplug.leaderboard.model import TIE_FLAG_RATE, Cell, Comparison, Leaderboard, Row, Trained, tie_flagged
from recplug.leaderboard.render import FORMATS, render
from recplug.leaderboard.render_table import print_table

__all__ = ["Cell", "Comparison", "FORMATS", "Leaderboard", "Row", "TIE_FLAG_RATE", "Trained",
           "print_table", "render", "tie_flagged"]
