"""Fails while being imported, with a multi-line message."""

raise RuntimeError("cannot start:\n  the licence file is missing")
