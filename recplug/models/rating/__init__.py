"""Rating-prediction models (``Tags(task="rating")``): ``baseline``, ``svd``, ``svdpp`` and ``mf``."""
