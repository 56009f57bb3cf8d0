"""Benchmarks: our figure next to the best alternative measured in the same run."""
