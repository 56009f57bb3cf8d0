"""Named public datasets: where they come from and where recplug looks for them.

Lookup order for a name (:func:`locate`):

1. every folder of ``RECPLUG_DATA_DIR`` (an ``os.pathsep``-separated search path), as
   ``<dir>/<name>/<files>`` (also ``<dir>/<name>/<archive folder>/<files>``, an archive
   unpacked as is), or ``<dir>/<file>`` for a file named after the dataset
   (``Beauty.txt``, ``ml-100k.inter``);
2. the user cache, ``platformdirs.user_cache_dir("recplug")/datasets/<name>`` (or
   ``RECPLUG_CACHE_DIR``), whose files are checked against the SHA-256 recorded when
   they were downloaded;
3. a download (:mod:`recplug.data.download`), unless offline.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from recplug.errors import DataError


@dataclass(frozen=True)
class RemoteFile:
    """One file to download. ``archive`` is ``"zip"``, ``"tar"`` or ``None`` (a plain file);
    ``root`` is the folder inside the archive that becomes the dataset folder.
    ``sha256``/``md5`` are the published checksums of the downloaded file, where known."""

    url: str
    filename: str
    archive: str | None = None
    root: str = ""
    sha256: str | None = None
    md5: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A registry entry.

    ``layouts`` lists the accepted local file sets, best first: a dataset folder holding
    all files of one layout is usable. A one-file layout loads that file; a two-file
    ``train.txt``/``test.txt`` layout loads the folder (pre-split LightGCN data).
    """

    name: str
    description: str
    remote: tuple[RemoteFile, ...]
    layouts: tuple[tuple[str, ...], ...]
    licence: str
    homepage: str

    def load_path(self, folder: Path) -> Path | None:
        """What to hand the loader when ``folder`` holds one of the layouts, else ``None``."""
        for layout in self.layouts:
            if all((folder / f).is_file() for f in layout):
                return folder / layout[0] if len(layout) == 1 else folder
        return None

    @property
    def expected_files(self) -> tuple[str, ...]:
        return self.layouts[0]


_GROUPLENS = "https://files.grouplens.org/datasets/movielens/"
_GROUPLENS_LICENCE = ("GroupLens research licence: research use, no redistribution, "
                      "cite Harper & Konstan (2015); see the README inside the archive")
_LIGHTGCN = "https://raw.githubusercontent.com/gusye1234/LightGCN-PyTorch/master/data/"
_LIGHTGCN_LICENCE = ("pre-split files from the LightGCN-PyTorch repository (He et al., SIGIR 2020); "
                     "derived from {source}; research use, cite the original source")


def _lightgcn(name: str, source: str, description: str) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        description=description,
        remote=(RemoteFile(_LIGHTGCN + f"{name}/train.txt", "train.txt"),
                RemoteFile(_LIGHTGCN + f"{name}/test.txt", "test.txt")),
        layouts=(("train.txt", "test.txt"),),
        licence=_LIGHTGCN_LICENCE.format(source=source),
        homepage="https://github.com/gusye1234/LightGCN-PyTorch",
    )


REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "ml-100k", "MovieLens 100K: 100,000 ratings (1-5) of 1,682 movies by 943 users, 1997-98",
            (RemoteFile(_GROUPLENS + "ml-100k.zip", "ml-100k.zip", "zip", "ml-100k",
                        md5="0e33842e24a9c977be4e0107933c0723"),),
            (("u.data",), ("ml-100k.inter",)), _GROUPLENS_LICENCE,
            "https://grouplens.org/datasets/movielens/100k/"),
        DatasetSpec(
            "ml-1m", "MovieLens 1M: 1,000,209 ratings of 3,706 movies by 6,040 users, 2000-03",
            (RemoteFile(_GROUPLENS + "ml-1m.zip", "ml-1m.zip", "zip", "ml-1m",
                        md5="c4d9eecfca2ab87c1945afe126590906"),),
            (("ratings.dat",), ("ml-1m.inter",)), _GROUPLENS_LICENCE,
            "https://grouplens.org/datasets/movielens/1m/"),
        DatasetSpec(
            "ml-20m", "MovieLens 20M: 20,000,263 ratings (0.5-5) of 26,744 movies by 138,493 users",
            (RemoteFile(_GROUPLENS + "ml-20m.zip", "ml-20m.zip", "zip", "ml-20m",
                        md5="cd245b17a1ae2cc31bb14903e1204af3"),),
            (("ratings.csv",), ("ml-20m.inter",)), _GROUPLENS_LICENCE,
            "https://grouplens.org/datasets/movielens/20m/"),
        DatasetSpec(
            "ml-latest-small", "MovieLens latest small: ~100,000 ratings by ~600 users (changes "
            "over time; the checksum is recorded at first download)",
            (RemoteFile(_GROUPLENS + "ml-latest-small.zip", "ml-latest-small.zip", "zip",
                        "ml-latest-small"),),
            (("ratings.csv",),), _GROUPLENS_LICENCE,
            "https://grouplens.org/datasets/movielens/latest/"),
        _lightgcn("gowalla", "the Gowalla check-ins (SNAP)",
                  "Gowalla check-ins, LightGCN pre-split (29,858 users, 40,981 items, ~1M rows)"),
        _lightgcn("yelp2018", "the Yelp 2018 challenge",
                  "Yelp 2018, LightGCN pre-split (31,668 users, 38,048 items, ~1.56M rows)"),
        _lightgcn("amazon-book", "Amazon reviews (McAuley et al.)",
                  "Amazon-Book, LightGCN pre-split (52,643 users, 91,599 items, ~2.98M rows)"),
        DatasetSpec(
            "beauty", "Amazon Beauty 5-core as user sequences (22,363 users, 12,101 items, "
            "S3-Rec preprocessing)",
            (RemoteFile("https://raw.githubusercontent.com/aHuiWang/CIKM2020-S3Rec/master/data/Beauty.txt",
                        "Beauty.txt"),),
            (("Beauty.txt",),),
            "derived from Amazon reviews (McAuley et al.), S3-Rec preprocessing; research use",
            "https://github.com/aHuiWang/CIKM2020-S3Rec"),
    )
}


def get_spec(name: str) -> DatasetSpec:
    """The registry entry ``name``; DataError listing the names when unknown."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise DataError(f"unknown dataset {name!r}; registered: {', '.join(REGISTRY)} "
                        "(or pass a path to a file or folder)") from None


def data_dirs() -> list[Path]:
    """The folders of ``RECPLUG_DATA_DIR``, in order (missing ones included)."""
    raw = os.environ.get("RECPLUG_DATA_DIR", "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def cache_dir() -> Path:
    """Where downloaded datasets live: ``RECPLUG_CACHE_DIR`` or the user cache dir."""
    override = os.environ.get("RECPLUG_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("recplug")) / "datasets"


def locate_in_data_dirs(spec: DatasetSpec) -> Path | None:
    """The path to load for ``spec`` from ``RECPLUG_DATA_DIR``, or ``None``."""
    for directory in data_dirs():
        candidates = [directory / spec.name]
        candidates += [directory / spec.name / r.root for r in spec.remote if r.root]
        if directory.name == spec.name:
            candidates.append(directory)
        for folder in candidates:
            if folder.is_dir():
                found = spec.load_path(folder)
                if found is not None:
                    return found
        for layout in spec.layouts:
            if len(layout) == 1 and spec.name.lower() in layout[0].lower() \
                    and (directory / layout[0]).is_file():
                return directory / layout[0]
    return None


def find_local(spec: DatasetSpec) -> tuple[str, Path] | None:
    """Where a local copy is, without downloading or hashing: ``("data dir", path)``,
    ``("cache", path)`` or ``None``."""
    found = locate_in_data_dirs(spec)
    if found is not None:
        return "data dir", found
    folder = cache_dir() / spec.name
    if folder.is_dir():
        found = spec.load_path(folder)
        if found is not None:
            return "cache", found
    return None


def placement_hint(spec: DatasetSpec) -> str:
    """Where a user can put the files by hand (for error messages)."""
    files = " + ".join(spec.expected_files)
    dirs = data_dirs()
    where = (f"{dirs[0] / spec.name}/ (RECPLUG_DATA_DIR)" if dirs
             else f"<dir>/{spec.name}/ and set RECPLUG_DATA_DIR=<dir>")
    return f"place {files} in {where}, or in {cache_dir() / spec.name}/"
