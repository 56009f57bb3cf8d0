"""Print the per-epoch comparison of ours.py and recbole_epochs.py outputs (JSON files)."""

from __future__ import annotations

import json
import sys

PAIRS = {"bpr": "BPR", "sasrec": "SASRec"}
TARGET = 3.0  #: RecBole's seconds per epoch / ours, for every model both have


def main() -> None:
    ours, theirs = (json.loads(open(path).read().strip().splitlines()[-1]) for path in sys.argv[1:3])
    print(f"threads {ours['threads']}, RecBole {theirs['recbole']}, {ours['rows']:,} training rows")
    print(f"{'model':<8} {'recplug s/epoch':>16} {'RecBole s/epoch':>16} {'ratio':>7}  target")
    for mine, name in PAIRS.items():
        if mine not in ours["models"] or name not in theirs["models"]:
            continue
        a, b = ours["models"][mine]["median_epoch_s"], theirs["models"][name]["median_epoch_s"]
        r = theirs["models"][name]
        note = "" if r["timed_batches"] == r["batches_per_epoch"] else \
            f"  (RecBole: {r['timed_batches']} of {r['batches_per_epoch']} batches timed, scaled)"
        print(f"{mine:<8} {a:>16.2f} {b:>16.2f} {b / a:>6.1f}x  >= {TARGET:g}x {'met' if b / a >= TARGET else 'NOT met'}{note}")
    print(json.dumps({"ours": ours, "recbole": theirs}))


if __name__ == "__main__":
    main()
