"""The built-in ``demo`` dataset: generated, never downloaded, the same on every machine.

2,500 users, 1,200 items and 56,093 interactions: :func:`recplug.data.synthetic.generate`
draws 70,000 (32 topics, power-law popularity with exponent 0.9, two years of timestamps;
``drift=0.03``: in the second half of a user's sequence each taste moves on to the next
topic, so the latest items predict the next one better than the whole history does) and each user keeps the first interaction with
an item (one rating per user and item). Ratings are 1-5 stars from user and item biases
plus a user-item affinity (so rating models have something to learn beyond the biases).
Raw ids are strings (``u0``..``u2499``, ``i0``..``i1199``), so raw ids and indices never
look alike. Every split that needs timestamps or ratings works on it (``loo``,
``temporal``, ``temporal-user``, ``ratio``, and ``kfold`` under ``--task rating``).

The file is written once as a RecBole atomic ``demo.inter`` under the cache
(:func:`demo_path`) and read like any other dataset; :data:`VERSION` is part of its
folder, so a change of the generator never reuses an old file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from recplug.data.synthetic import generate
from recplug.errors import DataError

VERSION = 1
FILENAME = "demo.inter"
#: generator settings (``synthetic.generate``) of the demo dataset
SETTINGS = dict(n_users=2_500, n_items=1_200, n_interactions=70_000, seed=2026, zipf=0.9, dim=32,
                drift=0.03)
_RATING_SEED = 7  #: stream of the ratings model, independent of the interactions
_HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"


def demo_rows() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(user ids, item ids, ratings, timestamps)`` of the demo rows, in chronological order:
    raw string ids, float32 stars 1..5, int64 seconds."""
    data = generate(**SETTINGS)
    rng = np.random.default_rng([SETTINGS["seed"], _RATING_SEED])
    n_users, n_items = SETTINGS["n_users"], SETTINGS["n_items"]
    user_bias = rng.normal(0.0, 0.35, n_users)
    item_bias = rng.normal(0.0, 0.45, n_items)
    user_taste = rng.normal(0.0, 0.45, (n_users, 8))
    item_taste = rng.normal(0.0, 0.45, (n_items, 8))
    _, first = np.unique(data.users.astype(np.int64) * n_items + data.items, return_index=True)
    keep = np.sort(first)  # first interaction of each (user, item), chronological order kept
    users, items, times = data.users[keep], data.items[keep], data.timestamps[keep]
    affinity = np.einsum("ij,ij->i", user_taste[users], item_taste[items])
    noise = rng.normal(0.0, 0.6, len(users))
    stars = np.clip(np.rint(3.6 + user_bias[users] + item_bias[items] + 1.5 * affinity + noise), 1, 5)
    user_ids = np.char.add("u", users.astype(str))
    item_ids = np.char.add("i", items.astype(str))
    return user_ids, item_ids, stars.astype(np.float32), times


def write_demo(path: Path) -> Path:
    """Write the demo rows to ``path`` (atomic ``.inter``), via a temporary file and a rename,
    so concurrent processes never read half a file."""
    users, items, stars, times = demo_rows()
    lines = [_HEADER]
    lines += [f"{u}\t{i}\t{int(r)}\t{int(t)}\n" for u, i, r, t in zip(users.tolist(), items.tolist(),
                                                                       stars.tolist(), times.tolist())]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".demo-", suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.writelines(lines)
    os.replace(tmp, path)
    return path


def demo_path(*, create: bool = True) -> Path:
    """The demo file: ``<cache>/demo/v<VERSION>/demo.inter`` (the dataset cache, see
    :func:`recplug.data.registry.cache_dir`), or a folder under the system temp dir when the
    cache is not writable; written first when ``create`` and missing."""
    from recplug.data.registry import cache_dir

    for root in (cache_dir() / "demo", Path(tempfile.gettempdir()) / f"recplug-demo-{os.getuid()}"):
        path = root / f"v{VERSION}" / FILENAME
        if path.is_file() or not create:
            return path
        try:
            return write_demo(path)
        except OSError:
            continue
    raise DataError(f"cannot write the demo dataset under {cache_dir()} nor the temp dir; "
                  "set RECPLUG_CACHE_DIR to a writable folder")
