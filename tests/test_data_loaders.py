"""Readers: every format, format detection, and clear errors for malformed files."""

from __future__ import annotations

import builtins

import numpy as np
import pandas as pd
import pytest

from recplug.data import load_dataset
from recplug.data.loaders import FORMATS, dataset_name, detect_format, read_table
from recplug.errors import ConfigError, DataError

UDATA = "1\t10\t5\t300\n2\t10\t3\t100\n1\t20\t4\t200\n"


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_grouplens_tab_is_sorted_chronologically(tmp_path):
    ds = load_dataset(write(tmp_path / "ml" / "u.data", UDATA))
    inter = ds.interactions
    assert ds.name == "ml"
    assert ds.report["format"] == "grouplens-tab"
    assert inter.timestamps.tolist() == [100, 200, 300]
    assert inter.timestamps.dtype == np.int64
    assert inter.user_vocab.ids[inter.users].tolist() == [2, 1, 1]
    assert inter.item_vocab.ids[inter.items].tolist() == [10, 20, 10]
    assert inter.ratings.tolist() == [3.0, 4.0, 5.0]
    assert inter.ratings.dtype == np.float32


def test_equal_timestamps_keep_file_order(tmp_path):
    text = "1\t1\t5\t7\n2\t2\t5\t7\n3\t3\t5\t7\n1\t4\t5\t1\n"
    inter = load_dataset(write(tmp_path / "u.data", text)).interactions
    assert inter.item_vocab.ids[inter.items].tolist() == [4, 1, 2, 3]


def test_ratings_dat_and_csv_and_atomic_agree(tmp_path):
    dat = "1::10::5::300\n2::10::3::100\n1::20::4::200\n"
    csv = "userId,movieId,rating,timestamp\n1,10,5.0,300\n2,10,3.0,100\n1,20,4.0,200\n"
    inter = ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
             "1\t10\t5\t300\n2\t10\t3\t100\n1\t20\t4\t200\n")
    prints = set()
    for name, text, fmt in (("u.data", UDATA, "grouplens-tab"), ("ratings.dat", dat, "grouplens-dat"),
                            ("ratings.csv", csv, "grouplens-csv"), ("x.inter", inter, "atomic")):
        ds = load_dataset(write(tmp_path / name, text))
        assert ds.report["format"] == fmt
        prints.add(ds.interactions.fingerprint())
    assert len(prints) == 1


def test_atomic_with_extra_fields_and_column_mapping(tmp_path):
    text = ("session:token\tsku:token\ttags:token_seq\tts:float\n"
            "s1\tA\tx y\t2.5\ns2\tB\ty\t1.5\n")
    path = write(tmp_path / "shop.inter", text)
    with pytest.raises(DataError, match="no field 'user_id'.*columns="):
        load_dataset(path)
    ds = load_dataset(path, columns={"user": "session", "item": "sku", "timestamp": "ts"})
    inter = ds.interactions
    assert inter.timestamps.dtype == np.float64
    assert inter.user_vocab.ids.tolist() == ["s2", "s1"]
    assert inter.ratings is None


def test_atomic_tokens_keep_leading_zeros(tmp_path):
    text = "user_id:token\titem_id:token\n007\t1\n7\t2\n"
    inter = load_dataset(write(tmp_path / "z.inter", text)).interactions
    assert inter.user_vocab.ids.tolist() == ["007", "7"]
    assert inter.item_vocab.ids.tolist() == [1, 2]


@pytest.mark.parametrize("header, message", [
    ("user_id\titem_id:token\n", "field 1: 'user_id' is not name:type"),
    ("user_id:token\titem_id:bogus\n", "field 2"),
    ("user_id:float\titem_id:token\n", "has type 'float', expected 'token'"),
])
def test_atomic_bad_header(tmp_path, header, message):
    path = write(tmp_path / "bad.inter", header + "1\t2\n")
    with pytest.raises(DataError, match=message) as info:
        load_dataset(path)
    assert "bad.inter" in str(info.value) and "line 1" in str(info.value)


def test_lines_file_keeps_line_order_without_timestamps(tmp_path):
    ds = load_dataset(write(tmp_path / "Beauty.txt", "1 5 6 7\n\n2 6 5\n1 8\n3\n"))
    inter = ds.interactions
    assert ds.name == "Beauty"
    assert ds.report["format"] == "lines"
    assert ds.report["lines_without_items"] == 1
    assert inter.timestamps is None
    indptr, items = inter.sequences()
    u1 = inter.user_vocab.index(1)
    assert inter.item_vocab.ids[items[indptr[u1]:indptr[u1 + 1]]].tolist() == [5, 6, 7, 8]


def test_lightgcn_folder_is_presplit(tmp_path):
    write(tmp_path / "gw" / "train.txt", "0 0 1 2\n1 2 3\n")
    write(tmp_path / "gw" / "test.txt", "0 3\n1 0 1\n")
    ds = load_dataset(tmp_path / "gw")
    assert ds.name == "gw"
    assert ds.report["format"] == "lightgcn"
    assert ds.predefined["train"].tolist() == [True] * 5 + [False] * 3
    assert ds.predefined["test"].tolist() == [False] * 5 + [True] * 3
    with pytest.raises(ValueError):
        ds.predefined["train"][0] = False  # read-only


def test_generic_csv_guesses_columns_and_parses_dates(tmp_path):
    text = ("user_id,item_id,rating,timestamp\n"
            "a,x,1,2021-01-02\nb,y,2,2021-01-01T12:00:00\n")
    inter = load_dataset(write(tmp_path / "t.csv", text)).interactions
    assert inter.timestamps.tolist() == [1609502400, 1609545600]
    assert inter.user_vocab.ids.tolist() == ["b", "a"]


def test_generic_tsv_with_mapping_and_positional_columns(tmp_path):
    path = write(tmp_path / "log.tsv", "who\twhat\twhen\nu1\ti1\t5\nu2\ti2\t3\n")
    with pytest.raises(DataError, match="cannot tell which columns"):
        load_dataset(path)
    ds = load_dataset(path, columns={"user": "who", "item": "what", "timestamp": "when"})
    assert ds.interactions.timestamps.tolist() == [3, 5]
    headerless = write(tmp_path / "raw.csv", "9,u1,i1\n8,u2,i2\n")
    ds = load_dataset(headerless, format="csv", columns={"user": 1, "item": 2, "timestamp": 0})
    assert ds.interactions.user_vocab.ids.tolist() == ["u2", "u1"]


def test_partial_columns_still_recognise_the_other_roles(tmp_path):
    path = write(tmp_path / "log.csv", "uid,iid,ts,rating\nu1,i1,3,5\nu2,i1,1,2\nu1,i2,2,4\n")
    ds = load_dataset(path, columns={"user": "uid", "item": "iid", "timestamp": "ts"})
    assert ds.interactions.ratings.tolist() == [2, 4, 5]  # found by name, in time order
    assert ds.report["columns"] == "user=uid, item=iid, timestamp=ts, rating=rating"
    only_ids = load_dataset(path, columns={"user": "uid", "item": "iid"}, min_rating=4)
    assert len(only_ids.interactions) == 2 and only_ids.interactions.timestamps.tolist() == [2, 3]
    renamed = write(tmp_path / "other.csv", "ts,user_id,who,iid\n1,a,b,x\n2,a,b,y\n")
    ds = load_dataset(renamed, columns={"user": "who", "item": "iid"})  # user_id is not guessed again
    assert ds.interactions.user_vocab.ids.tolist() == ["b"]


def test_columns_errors(tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n1,2\n")
    with pytest.raises(ConfigError, match="unknown role"):
        load_dataset(path, columns={"user": "a", "item": "b", "weight": "a"})
    with pytest.raises(ConfigError, match="unknown role"):  # read_table checks them too
        read_table(path, columns={"user": "a", "item": "b", "weight": "a"})
    with pytest.raises(ConfigError, match="at least the 'user' and 'item'"):
        load_dataset(path, columns={"user": "a"})
    with pytest.raises(DataError, match="no column 'c' for the item"):
        load_dataset(path, columns={"user": "a", "item": "c"})
    with pytest.raises(DataError, match="only applies"):
        load_dataset(write(tmp_path / "s.txt", "1 2 3\n"), columns={"user": "a", "item": "b"})


def test_parquet_roundtrip(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"uid": [1, 2, 1], "iid": ["x", "y", "z"], "ts": [3, 1, 2]})
    path = tmp_path / "log.parquet"
    frame.to_parquet(path)
    ds = load_dataset(path, columns={"user": "uid", "item": "iid", "timestamp": "ts"})
    assert ds.report["format"] == "parquet"
    assert ds.interactions.item_vocab.ids.tolist() == ["y", "z", "x"]
    frame["when"] = pd.to_datetime(["2021-01-02", "2021-01-01", "2021-01-03"])
    frame.to_parquet(path)
    ds = load_dataset(path, columns={"user": "uid", "item": "iid", "timestamp": "when"})
    assert ds.interactions.timestamps.tolist() == [1609459200, 1609545600, 1609632000]


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_pyarrow(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("no pyarrow")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    path = write(tmp_path / "x.parquet", "not really parquet")
    with pytest.raises(DataError, match=r"pip install 'recplug\[parquet\]'"):
        read_table(path)


@pytest.mark.parametrize("name, text, pattern", [
    ("u.data", "1\t2\t3\t4\n1\t2\t3\t4\t5\n", r"u\.data: malformed \(Expected 4 fields in line 2, saw 5\)"),
    ("u.data", "1\t2\t3\t4\n\n1\t2\t3\n", r"u\.data, line 3: missing timestamp"),
    ("u.data", "1\t2\t3\t4\n1\tx\t3\t4\n", r"u\.data, line 2: item id 'x' is not an integer"),
    ("u.data", "1\t2\t3\t4\n1\t2\tfive\t4\n", r"u\.data, line 2: rating 'five' is not a finite number"),
    ("u.data", "1\t2\t3\n", r"expected 4 fields per line, found 3"),
    ("ratings.dat", "1::2::3::4\n1::2::3\n", r"ratings\.dat, line 2: missing timestamp"),
    ("ratings.csv", "userId,movieId,rating\n1,2,3\n", r"line 1: header lacks timestamp"),
    ("e.inter", "user_id:token\titem_id:token\n1\t\n", r"e\.inter, line 2: missing item token"),
    ("t.csv", "user,item,timestamp\na,b,yesterday-ish\n", r"t\.csv, line 2: timestamp 'yesterday-ish'"),
    ("empty.csv", "", r"empty"),
])
def test_malformed_files_name_file_and_line(tmp_path, name, text, pattern):
    path = write(tmp_path / name, text)
    with pytest.raises(DataError, match=pattern):
        load_dataset(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes(b"1 2 \xff\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_dataset(path)


def test_detection(tmp_path):
    assert detect_format(write(tmp_path / "a.txt", "1::2::3::4\n"))[0] == "grouplens-dat"
    assert detect_format(write(tmp_path / "b.txt", "1\t2\t3\t4\n"))[0] == "grouplens-tab"
    assert detect_format(write(tmp_path / "c.txt", "1 2 3 4 5\n"))[0] == "lines"
    assert detect_format(write(tmp_path / "d.csv", "userId,movieId,rating,timestamp\n"))[0] == "grouplens-csv"
    folder = tmp_path / "one"
    write(folder / "u.data", UDATA)
    write(folder / "ml.inter", "user_id:token\titem_id:token\n1\t2\n")
    assert detect_format(folder) == ("grouplens-tab", folder / "u.data")
    many = tmp_path / "many"
    write(many / "a.csv", "user,item\n1,2\n")
    write(many / "b.csv", "user,item\n1,2\n")
    with pytest.raises(DataError, match="several interaction files"):
        detect_format(many)
    (tmp_path / "void").mkdir()
    with pytest.raises(DataError, match="no interaction file"):
        detect_format(tmp_path / "void")


def test_format_argument_checks(tmp_path):
    path = write(tmp_path / "u.data", UDATA)
    with pytest.raises(DataError, match="unknown format 'xml'"):
        read_table(path, format="xml")
    with pytest.raises(DataError, match="needs the folder"):
        read_table(path, format="lightgcn")
    assert read_table(path, format="grouplens-tab").format == "grouplens-tab"
    assert set(FORMATS) >= {"grouplens-tab", "grouplens-dat", "grouplens-csv", "atomic", "lines",
                            "lightgcn", "csv", "tsv", "parquet"}


def test_dataset_names(tmp_path):
    assert dataset_name(write(tmp_path / "ml-1m" / "ratings.dat", "")) == "ml-1m"
    assert dataset_name(write(tmp_path / "x" / "Beauty.txt", "")) == "Beauty"
    assert dataset_name(write(tmp_path / "x" / "ml-100k.inter", "")) == "ml-100k"
