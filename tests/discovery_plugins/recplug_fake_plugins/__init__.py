"""Plugin modules that tests/test_discovery.py registers through fake distributions."""
