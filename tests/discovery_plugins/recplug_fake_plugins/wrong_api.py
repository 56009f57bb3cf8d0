"""Written for a future recplug model API."""

from recplug_fake_plugins.good import GoodModel


class FutureModel(GoodModel):
    recplug_api = 99
