"""Registry lookup and downloads, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from recplug.data import load_dataset, registry
from recplug.data.download import CHECKSUMS, extract, fetch, read_record
from recplug.data.registry import DatasetSpec, RemoteFile, find_local, locate_in_data_dirs
from recplug.errors import DataError, DatasetNotFoundError

UDATA = b"1\t10\t5\t300\n2\t10\t3\t100\n1\t20\t4\t200\n2\t20\t4\t400\n"


class Server:
    """Serves ``files`` (path -> bytes); ``short`` paths announce more bytes than they send."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.short: set[str] = set()
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                body = outer.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                extra = 100 if self.path in outer.short else 0
                self.send_header("Content-Length", str(len(body) + extra))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}{path}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def _server():
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture
def server(_server):
    _server.files.clear()
    _server.short.clear()
    _server.requests.clear()
    return _server


@pytest.fixture
def cache(tmp_path, monkeypatch):
    root = tmp_path / "cache"
    monkeypatch.setenv("RECPLUG_CACHE_DIR", str(root))
    monkeypatch.delenv("RECPLUG_DATA_DIR", raising=False)
    monkeypatch.delenv("RECPLUG_OFFLINE", raising=False)
    return root


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def toy_spec(server: Server, **remote_kwargs) -> DatasetSpec:
    remote = RemoteFile(server.url("/toy.zip"), "toy.zip", "zip", "toy", **remote_kwargs)
    return DatasetSpec("toy", "toy data", (remote,), (("u.data",),), "test only", "http://localhost")


def no_leftovers(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(".part") or ".staging-" in p.name]


def test_download_extract_record_and_reuse(server, cache, monkeypatch):
    archive = make_zip({"toy/u.data": UDATA, "toy/README": b"hi"})
    server.files["/toy.zip"] = archive
    spec = toy_spec(server, sha256=hashlib.sha256(archive).hexdigest(),
                    md5=hashlib.md5(archive).hexdigest())
    monkeypatch.setitem(registry.REGISTRY, "toy", spec)
    ds = load_dataset("toy")
    assert ds.name == "toy" and len(ds.interactions) == 4
    assert (cache / "toy" / "u.data").read_bytes() == UDATA
    record = read_record(cache)["toy"]
    assert record["files"]["u.data"] == hashlib.sha256(UDATA).hexdigest()
    assert record["sources"][server.url("/toy.zip")] == hashlib.sha256(archive).hexdigest()
    assert not (cache / "toy.zip").exists() and no_leftovers(cache)
    assert find_local(spec) == ("cache", cache / "toy" / "u.data")
    # second use: from the cache, no request
    load_dataset("toy", offline=True)
    assert server.requests == ["/toy.zip"]


def test_bad_checksums_keep_nothing(server, cache):
    server.files["/toy.zip"] = make_zip({"toy/u.data": UDATA})
    with pytest.raises(DataError, match="SHA-256 mismatch"):
        fetch(toy_spec(server, sha256="0" * 64), progress=False)
    with pytest.raises(DataError, match="MD5 mismatch"):
        fetch(toy_spec(server, md5="0" * 32), progress=False)
    assert not (cache / "toy").exists() and no_leftovers(cache)


def test_checksum_recorded_at_first_download_is_enforced(server, cache):
    server.files["/toy.zip"] = make_zip({"toy/u.data": UDATA})
    spec = toy_spec(server)
    fetch(spec, progress=False)
    # upstream changes; the cached copy is removed: the new download must match the record
    server.files["/toy.zip"] = make_zip({"toy/u.data": UDATA + b"3\t30\t1\t500\n"})
    for path in sorted((cache / "toy").iterdir()):
        path.unlink()
    (cache / "toy").rmdir()
    with pytest.raises(DataError, match="differs from the one recorded at the first download"):
        fetch(spec, progress=False)
    assert not (cache / "toy").exists() and no_leftovers(cache)


def test_changed_cache_file_is_refused(server, cache):
    server.files["/toy.zip"] = make_zip({"toy/u.data": UDATA})
    spec = toy_spec(server)
    folder = fetch(spec, progress=False)
    (folder / "u.data").write_bytes(UDATA.replace(b"5", b"4"))
    with pytest.raises(DataError, match="changed since it was downloaded.*delete"):
        fetch(spec, progress=False)


def test_files_placed_in_cache_by_hand_are_recorded(cache):
    spec = DatasetSpec("hand", "d", (RemoteFile("http://127.0.0.1:9/x", "x"),), (("u.data",),), "l", "h")
    (cache / "hand").mkdir(parents=True)
    (cache / "hand" / "u.data").write_bytes(UDATA)
    fetch(spec, offline=True)
    assert "note" in read_record(cache)["hand"]
    (cache / "hand" / "u.data").write_bytes(b"tampered")
    with pytest.raises(DataError, match="changed since"):
        fetch(spec, offline=True)


def test_broken_cache_folder_is_reported(cache):
    spec = DatasetSpec("broken", "d", (RemoteFile("http://127.0.0.1:9/x", "x"),), (("u.data",),), "l", "h")
    (cache / "broken").mkdir(parents=True)
    (cache / "broken" / "other.txt").write_text("x")
    with pytest.raises(DataError, match="does not hold u.data; delete it"):
        fetch(spec, progress=False)


def test_plain_files_and_presplit_download(server, cache, monkeypatch):
    server.files["/d/train.txt"] = b"0 0 1 2\n1 1 2\n"
    server.files["/d/test.txt"] = b"0 3\n1 0\n"
    spec = DatasetSpec("pre", "pre-split", (RemoteFile(server.url("/d/train.txt"), "train.txt"),
                                            RemoteFile(server.url("/d/test.txt"), "test.txt")),
                       (("train.txt", "test.txt"),), "test only", "http://localhost")
    monkeypatch.setitem(registry.REGISTRY, "pre", spec)
    ds = load_dataset("pre")
    assert ds.predefined["test"].sum() == 2
    assert set(read_record(cache)["pre"]["files"]) == {"train.txt", "test.txt"}


def test_network_failures_name_file_and_folder(server, cache, monkeypatch):
    spec = toy_spec(server)  # nothing served: 404
    monkeypatch.setitem(registry.REGISTRY, "toy", spec)
    with pytest.raises(DatasetNotFoundError, match=r"could not be downloaded.*place u\.data in") as info:
        load_dataset("toy")
    assert str(cache / "toy") in str(info.value)
    server.files["/toy.zip"] = make_zip({"toy/u.data": UDATA})
    server.short.add("/toy.zip")  # connection closes early
    with pytest.raises(DatasetNotFoundError, match="could not be downloaded"):
        fetch(spec, progress=False)
    assert not (cache / "toy").exists() and no_leftovers(cache)


def test_offline_never_downloads(server, cache, monkeypatch):
    server.files["/toy.zip"] = make_zip({"toy/u.data": UDATA})
    monkeypatch.setitem(registry.REGISTRY, "toy", toy_spec(server))
    with pytest.raises(DatasetNotFoundError, match="offline; place u.data in"):
        load_dataset("toy", offline=True)
    monkeypatch.setenv("RECPLUG_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="offline"):
        load_dataset("toy")
    assert server.requests == []


def test_archive_without_expected_files(server, cache):
    server.files["/toy.zip"] = make_zip({"toy/other.csv": b"a,b\n"})
    with pytest.raises(DataError, match=r"does not contain u\.data"):
        fetch(toy_spec(server), progress=False)
    assert not (cache / "toy").exists() and no_leftovers(cache)


def test_zip_traversal_is_refused(server, cache, tmp_path):
    server.files["/toy.zip"] = make_zip({"toy/u.data": UDATA, "../escaped.txt": b"evil"})
    with pytest.raises(DataError, match="path traversal"):
        fetch(toy_spec(server), progress=False)
    assert not list(tmp_path.rglob("escaped.txt")) and no_leftovers(cache)
    absolute = tmp_path / "abs.zip"
    absolute.write_bytes(make_zip({"/etc/evil": b"x"}))
    with pytest.raises(DataError, match="path traversal"):
        extract(absolute, tmp_path / "out", "zip")


def tar_bytes(add) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        add(tf)
    return buffer.getvalue()


def test_tar_traversal_and_links_are_refused(tmp_path):
    def evil(tf):
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 4
        tf.addfile(info, io.BytesIO(b"evil"))

    def link(tf):
        info = tarfile.TarInfo("toy/link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)

    def good(tf):
        info = tarfile.TarInfo("toy/u.data")
        info.size = len(UDATA)
        tf.addfile(info, io.BytesIO(UDATA))

    for name, add, message in (("evil", evil, "path traversal"), ("link", link, "links")):
        path = tmp_path / f"{name}.tar.gz"
        path.write_bytes(tar_bytes(add))
        with pytest.raises(DataError, match=message):
            extract(path, tmp_path / name, "tar")
    assert not list(tmp_path.rglob("escaped.txt"))
    path = tmp_path / "good.tar.gz"
    path.write_bytes(tar_bytes(good))
    extract(path, tmp_path / "good", "tar")
    assert (tmp_path / "good" / "toy" / "u.data").read_bytes() == UDATA
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a valid zip"):
        extract(bad, tmp_path / "x", "zip")


def test_data_dir_layouts_and_search_order(tmp_path, monkeypatch):
    monkeypatch.setenv("RECPLUG_CACHE_DIR", str(tmp_path / "cache"))
    first, second = tmp_path / "a", tmp_path / "b"
    (second / "ml-100k").mkdir(parents=True)
    (second / "ml-100k" / "u.data").write_bytes(UDATA)
    (first / "ml-100k" / "ml-100k").mkdir(parents=True)  # an unpacked archive, as is
    (first / "ml-100k" / "ml-100k" / "u.data").write_bytes(UDATA)
    (first / "Beauty.txt").write_text("1 2 3\n")
    (first / "gowalla").mkdir()
    (first / "gowalla" / "train.txt").write_text("0 1\n")  # test.txt missing: not a layout
    monkeypatch.setenv("RECPLUG_DATA_DIR", os.pathsep.join([str(first), str(second)]))
    spec = registry.get_spec("ml-100k")
    assert locate_in_data_dirs(spec) == first / "ml-100k" / "ml-100k" / "u.data"
    assert locate_in_data_dirs(registry.get_spec("beauty")) == first / "Beauty.txt"
    assert locate_in_data_dirs(registry.get_spec("gowalla")) is None
    assert locate_in_data_dirs(registry.get_spec("ml-1m")) is None
    ds = load_dataset("ml-100k", offline=True)
    assert ds.name == "ml-100k" and ds.source.endswith("u.data")
    with pytest.raises(DataError, match="unknown dataset 'nope'"):
        registry.get_spec("nope")


def test_registry_entries_are_complete():
    assert {"ml-100k", "ml-1m", "ml-20m", "ml-latest-small", "gowalla", "yelp2018", "amazon-book",
            "beauty"} <= set(registry.REGISTRY)
    for spec in registry.REGISTRY.values():
        assert (spec.remote or spec.builtin) and spec.layouts and spec.licence and spec.homepage
        for remote in spec.remote:
            assert remote.url.startswith("https://")
            assert remote.archive in (None, "zip", "tar")
            if remote.sha256:
                assert len(remote.sha256) == 64
            if remote.md5:
                assert len(remote.md5) == 32
    assert CHECKSUMS == "checksums.json"
