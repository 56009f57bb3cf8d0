"""Contract breakers: no score(), a rating model without predict, positional-only init, ..."""

from recplug.contract import RECPLUG_API, Model, Tags


class NoScore(Model):
    recplug_api = RECPLUG_API
    tags = Tags()

    def fit(self, train, options):
        return self


class RatingWithoutPredict(NoScore):
    tags = Tags(task="rating")

    def score(self, batch):
        raise NotImplementedError


class PositionalInit(RatingWithoutPredict):
    tags = Tags()

    def __init__(self, factors, /):
        self.factors = factors


class StarArgs(PositionalInit):
    def __init__(self, *layers):
        self.layers = layers


class ApiAsString(PositionalInit):
    recplug_api = "1"

    def __init__(self):
        pass


class Bare:
    """Nothing of the contract at all."""


NOT_A_CLASS = object()
