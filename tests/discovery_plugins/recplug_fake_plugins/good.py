"""A working plugin, and a second one registered under the same name by another distribution."""

import numpy as np

from recplug.contract import RECPLUG_API, Model, Tags


class GoodModel(Model):
    recplug_api = RECPLUG_API
    tags = Tags(sequential=True, needs_timestamps=True)

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def fit(self, train, options):
        self.pop_ = train.item_user_counts().astype(np.float32)
        return self

    def score(self, batch):
        return np.tile(self.alpha * self.pop_, (len(batch), 1))


class OtherGoodModel(GoodModel):
    tags = Tags()


class RatingModel(GoodModel):
    tags = Tags(task="rating")

    def predict(self, users, items):
        return np.zeros(len(users), dtype=np.float32)
