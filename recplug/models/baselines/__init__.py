"""Non-neural baselines: popularity, item-based kNN, EASE."""
