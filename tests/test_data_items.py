"""Item side information: the readers, the alignment with the vocabulary, the dataset."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from recplug.data import load_dataset
from recplug.data.items import ItemDataWarning, find_item_file, read_items
from recplug.errors import ConfigError, DataError


def write(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture
def ml100k(tmp_path):
    folder = tmp_path / "ml-mini"
    folder.mkdir()
    # items 1-3 rated, item 4 only in the metadata
    write(folder / "u.data", "1\t1\t5\t10\n1\t2\t3\t11\n2\t2\t4\t12\n2\t3\t4\t13\n3\t1\t2\t14\n")
    flags = lambda on: "|".join("1" if i in on else "0" for i in range(19))  # noqa: E731
    write(folder / "u.item",
          f"1|Toy Story (1995)|01-Jan-1995||http://x|{flags({3, 4, 5})}\n"
          f"2|GoldenEye (1995)|01-Jan-1995||http://y|{flags({1, 2, 16})}\n"
          f"3|Caf\xe9 Society (1997)|01-Jan-1997|||{flags({8})}\n"
          f"4|Never Rated (1998)||||{flags(set())}\n", encoding="latin-1")
    return folder


def test_u_item_next_to_u_data_is_attached_with_unseen_items_at_the_end(ml100k):
    data = load_dataset(ml100k)
    items, inter = data.items, data.interactions
    assert inter.n_items == 4 and items.n_items == 4
    assert inter.item_vocab.ids.tolist() == [1, 2, 3, 4]   # the rated ones keep their indices
    assert data.report["unseen_items"] == 1 and data.report["items_with_metadata"] == 4
    assert np.bincount(inter.items, minlength=4)[3] == 0
    assert items.fields["title"].values.tolist() == ["Toy Story", "GoldenEye", "Café Society", "Never Rated"]
    assert items.fields["year"].values.tolist() == [1995.0, 1995.0, 1997.0, 1998.0]
    assert items.fields["genres"].values[0] == ("Animation", "Children's", "Comedy")
    assert items.fields["genres"].values[3] is None
    assert items.coverage()["genres"] == pytest.approx(0.75)
    assert items.texts(["title", "genres"], items=np.array([1])) == ["GoldenEye. genres: Action, Adventure, Thriller"]


def test_no_metadata_or_items_false_leaves_the_dataset_as_before(ml100k):
    without = load_dataset(ml100k, items=False)
    assert without.items is None and without.interactions.n_items == 3
    (ml100k / "u.item").unlink()
    assert load_dataset(ml100k).items is None
    assert load_dataset(ml100k).fingerprint() == without.fingerprint()


def test_the_item_options_do_not_enter_the_fingerprint_but_unseen_items_do(ml100k):
    with_items = load_dataset(ml100k)
    explicit = load_dataset(ml100k / "u.data", items=ml100k / "u.item")
    assert with_items.fingerprint() == explicit.fingerprint()
    assert with_items.fingerprint() != load_dataset(ml100k, items=False).fingerprint()
    assert with_items.items.fingerprint() == explicit.items.fingerprint()


def test_items_the_filters_removed_stay_removed_and_kcore_leaves_unseen_items_out(ml100k):
    data = load_dataset(ml100k, min_rating=5)   # only (user 1, item 1) is rated 5
    assert data.interactions.item_vocab.ids.tolist() == [1, 4]   # items 2 and 3 lost their rows
    assert data.report["metadata_items_removed_by_filters"] == 2 and data.report["unseen_items"] == 1
    cored = load_dataset(ml100k, kcore=1)
    assert cored.interactions.n_items == cored.items.n_items == 3   # no item of a k-core has no row
    assert cored.report["unseen_items_left_out"] == 1


def test_recbole_atomic_item_file(tmp_path):
    write(tmp_path / "mini.inter", "user_id:token\titem_id:token\ttimestamp:float\nu\ta\t1\nu\tb\t2\nv\ta\t3\n")
    write(tmp_path / "mini.item", "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"
                                  "\tvec:float_seq\n"
                                  "a\tToy Story\t1995\tAnimation Comedy\t1 2\nb\tHeat\t1995\tCrime\t3 4\n")
    data = load_dataset(tmp_path / "mini.inter")
    items = data.items
    assert {n: f.kind for n, f in items.fields.items()} == {
        "movie_title": "text", "release_year": "tokens", "class": "tokens"}
    assert items.texts() == ["Toy Story. release_year: 1995. class: Animation, Comedy",
                             "Heat. release_year: 1995. class: Crime"]
    assert data.report["item_fields_not_used"] == "vec (float_seq)"


def test_movies_dat_and_movies_csv(tmp_path):
    dat = write(tmp_path / "movies.dat", "1::Toy Story (1995)::Animation|Comedy\n2::Heat (1995)::(no genres listed)\n",
                encoding="latin-1")
    raw = read_items(dat)
    assert raw.ids.tolist() == [1, 2] and raw.fields["genres"].values.tolist() == [("Animation", "Comedy"), None]
    csv = write(tmp_path / "movies.csv", 'movieId,title,genres\n1,"Toy Story (1995)",Animation|Comedy\n')
    assert read_items(csv).fields["title"].values.tolist() == ["Toy Story"]
    (tmp_path / "other").mkdir()
    bad = write(tmp_path / "other" / "movies.csv", "id,name\n1,x\n")
    with pytest.raises(DataError, match="header lacks movieId"):
        read_items(bad)


def test_amazon_json_lines_with_old_literals_and_malformed_lines_counted(tmp_path):
    lines = [json.dumps({"asin": "B1", "title": "Lipstick", "categories": [["Beauty", "Makeup"]],
                         "imUrl": "http://img/1.jpg", "price": 9.5}),
             "{'asin': 'B2', 'description': ['Soft', 'cream'], 'category': ['Beauty']}",
             "not json at all"]
    path = write(tmp_path / "meta_Beauty.json", "\n".join(lines) + "\n")
    with pytest.warns(ItemDataWarning, match="1 line"):
        raw = read_items(path)
    assert raw.ids.tolist() == ["B1", "B2"] and raw.report["malformed_item_lines"] == 1
    assert raw.fields["categories"].values.tolist() == [("Beauty", "Makeup"), ("Beauty",)]
    assert raw.fields["description"].values[1] == "Soft cream"
    assert raw.fields["image"].values[0] == "http://img/1.jpg" and raw.fields["price"].values[0] == 9.5
    write(tmp_path / "Beauty.txt", "u1 B1 B2\n")
    assert find_item_file(tmp_path / "Beauty.txt") == path


def test_generic_csv_with_a_mapping_and_images_checked(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"png")
    write(tmp_path / "inter.csv", "user,item\n1,a\n1,b\n2,b\n")
    write(tmp_path / "meta.csv", "sku,name,tags,pic,plot\na,Alpha,x|y,img/a.png,long text\n"
                                 "b,Beta,y,img/missing.png,\n")
    with pytest.warns(ItemDataWarning, match="1 image path"):
        data = load_dataset(tmp_path / "inter.csv", items=tmp_path / "meta.csv",
                            item_columns={"item": "sku", "title": "name", "tokens": "tags", "image": "pic"})
    items = data.items
    assert items.names() == ["name", "tags", "pic"]
    assert items.image_paths() == [str(tmp_path / "img" / "a.png"), None]
    assert data.report["missing_image_files"] == 1
    guessed = read_items(tmp_path / "meta.csv", columns={"item": "sku"})
    assert {n: f.kind for n, f in guessed.fields.items()} == {
        "name": "text", "tags": "tokens", "pic": "image", "plot": "text"}


def test_duplicated_ids_keep_the_first_row_with_a_counted_warning(tmp_path):
    path = write(tmp_path / "items.csv", "item_id,title\n1,first\n2,x\n1,second\n")
    with pytest.warns(ItemDataWarning, match="1 metadata row"):
        raw = read_items(path)
    assert raw.ids.tolist() == [1, 2] and raw.fields["title"].values[0] == "first"
    assert raw.report["duplicate_item_rows"] == 1


def test_bad_metadata_is_a_clear_data_error(tmp_path):
    write(tmp_path / "u.data", "1\t1\t5\t10\n1\t2\t3\t11\n")
    write(tmp_path / "items.csv", "code,title\n1,a\n")
    with pytest.raises(DataError, match="no item id column"):
        load_dataset(tmp_path / "u.data", items=tmp_path / "items.csv")
    write(tmp_path / "items.csv", "item_id,title\n77,a\n78,b\n")
    with pytest.raises(DataError, match="none of its 2 item ids matches"):
        load_dataset(tmp_path / "u.data", items=tmp_path / "items.csv")
    write(tmp_path / "items.csv", "item_id,title\n1,a\n,b\n")
    with pytest.raises(DataError, match="line 3: missing item id"):
        load_dataset(tmp_path / "u.data", items=tmp_path / "items.csv")
    write(tmp_path / "x.item", "item_id\ttitle:token_seq\n")
    with pytest.raises(DataError, match="field 1"):
        read_items(tmp_path / "x.item")
    with pytest.raises(DataError, match="no such item metadata file"):
        load_dataset(tmp_path / "u.data", items=tmp_path / "nope.csv")


def test_bad_item_options_are_config_errors_before_any_file_is_read(tmp_path):
    with pytest.raises(ConfigError, match="item_format 'xml' is unknown"):
        load_dataset(tmp_path / "absent", item_format="xml")
    with pytest.raises(ConfigError, match="item_columns: unknown role"):
        load_dataset(tmp_path / "absent", item_columns={"item": "a", "colour": "c"})
    with pytest.raises(ConfigError, match="items must be"):
        load_dataset(tmp_path / "absent", items=3)


def test_train_data_carries_the_item_table_and_checks_its_size(ml100k):
    from recplug.contract import TrainData

    data = load_dataset(ml100k)
    assert TrainData(data.interactions, items=data.items).items is data.items
    assert TrainData(data.interactions).items is None
    with pytest.raises(DataError, match="the item table has 4 rows"):
        TrainData(load_dataset(ml100k, items=False).interactions, items=data.items)


def test_datasets_info_reports_the_item_fields_and_their_coverage(ml100k, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from recplug.cli import datasets

    app = typer.Typer()
    app.callback()(lambda: None)
    app.add_typer(datasets.app, name="datasets")
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["datasets", "info", str(ml100k)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "u.item (grouplens-item)" in out
    assert "4 of 4 (1 with no interaction)" in out
    assert "item field genres" in out and "tokens, 3 items (75.0%)" in out
    assert "item field title" in out and "text, 4 items (100.0%)" in out
    (ml100k / "u.item").unlink()
    assert "item metadata" in CliRunner().invoke(app, ["datasets", "info", str(ml100k)]).output
