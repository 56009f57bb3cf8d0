import pytest

from recplug.errors import ConfigError
from recplug.params import check_unscoped_used, params_for, parse_overrides, parse_value


def test_parse_value_literals():
    assert parse_value("3") == 3 and parse_value("0.5") == 0.5
    assert parse_value("true") is True and parse_value("None") is None
    assert parse_value("[1, 2]") == [1, 2] and parse_value("bce") == "bce"


def test_scoped_and_unscoped_overrides():
    o = parse_overrides(["factors=32", "sasrec.max_len=50", "sasrec.loss=ce"])
    assert o == {None: {"factors": 32}, "sasrec": {"max_len": 50, "loss": "ce"}}
    assert params_for("bpr", ["factors", "lr"], o) == {"factors": 32}
    assert params_for("sasrec", ["max_len", "loss"], o) == {"max_len": 50, "loss": "ce"}


def test_bad_overrides_name_the_problem():
    with pytest.raises(ConfigError, match="key=value"):
        parse_overrides(["factors"])
    with pytest.raises(ConfigError, match="has no hyperparameter 'nope'"):
        params_for("bpr", ["factors"], parse_overrides(["bpr.nope=1"]))
    with pytest.raises(ConfigError, match="none of the models"):
        check_unscoped_used(parse_overrides(["nope=1"]), {"bpr": ["factors"]})
