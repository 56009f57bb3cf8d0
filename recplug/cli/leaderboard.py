"""``recplug leaderboard``: rank the stored runs of one dataset, split and protocol
(``--task rating``: the rating runs, RMSE/MAE/FCP).

Thin: parse options, read the store (read-only: it works on read-only storage and never
writes), build a :class:`~recplug.leaderboard.Leaderboard`, render it. The rendered
leaderboard goes to stdout (or ``--out``); notes go to stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.text import Text

from recplug.errors import ConfigError, LeaderboardError, StoreError
from recplug.vocabulary import RATING_PROTOCOL

#: the columns of a ranking leaderboard unless --metrics says otherwise
DEFAULT_METRICS = "NDCG@10,Recall@10,HR@10,MRR@10"


def _protocol(task: str, protocol: str | None) -> str:
    """The protocol to rank: ``--task rating`` -> rating; ranking -> ``--protocol`` or full."""
    if task not in ("ranking", "rating"):
        raise ConfigError(f"--task must be ranking or rating, got {task!r}")
    if task == "rating":
        if protocol not in (None, RATING_PROTOCOL):
            raise ConfigError(f"--protocol {protocol} is a ranking protocol; --task rating ranks the "
                              "rating runs: drop --protocol")
        return RATING_PROTOCOL
    return protocol or "full"


def _metric_list(metrics: str) -> list[str] | None:
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    if not names:
        raise ConfigError("--metrics is empty; give metric names like NDCG@10,Recall@10 or 'all'")
    return None if names == ["all"] else names


def _no_runs(store, path: Path, filters: dict[str, str]) -> LeaderboardError:
    """The error for an empty selection: what was asked, and what the store does hold."""
    asked = ", ".join(f"{k}={v}" for k, v in filters.items())
    held = [row for row in store.summary() if row["status"] == "done"]
    if not held:
        return LeaderboardError(
            f"no finished runs in results store {path} (asked for {asked}); the store is empty; "
            f"run `recplug eval MODEL --dataset {filters['dataset']} --split {filters['split']}"
            f"{' --task rating' if filters['protocol'] == RATING_PROTOCOL else ''}` first")
    listing = "; ".join(f"dataset={r['dataset']} split={r['split']} protocol={r['protocol']} "
                        f"({r['runs']} run{'s' if r['runs'] > 1 else ''})" for r in held[:12])
    more = f"; and {len(held) - 12} more" if len(held) > 12 else ""
    return LeaderboardError(f"no finished runs in results store {path} for {asked}; it holds: "
                            f"{listing}{more}")


def leaderboard(
    dataset: str = typer.Option(..., "--dataset", "-d", help="Dataset name the runs were evaluated on."),
    split: str = typer.Option(..., "--split", "-s", help="Split name (loo, temporal, ...)."),
    format: str = typer.Option("table", "--format", "-f",
                               help="table, markdown, latex, html, csv or json."),
    metrics: Optional[str] = typer.Option(None, "--metrics", "-m",
                                          help="Comma-separated columns, or 'all' (default "
                                               "NDCG@10,Recall@10,HR@10,MRR@10; with --task rating "
                                               "RMSE,MAE,FCP). The first one sorts the rows. A narrow "
                                               "terminal shows the first ones that fit."),
    task: str = typer.Option("ranking", "--task",
                             help="ranking, or rating: the rating runs (recplug eval --task rating; "
                                  "protocol rating). They are never mixed."),
    protocol: Optional[str] = typer.Option(None, "--protocol",
                                           help="Ranking runs: 'full' (default), or a sampled protocol "
                                                "written sampled:<N>:<sampler>. Sampled and full runs "
                                                "are never mixed."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level (Holm-adjusted)."),
    test: str = typer.Option("t", "--test", help="Paired test vs the best: t, wilcoxon or both."),
    bootstrap: int = typer.Option(0, "--bootstrap",
                                  help="Bootstrap resamples for 95% CIs over users (0 = none)."),
    db: Path | None = typer.Option(None, "--db", help="Results store (default: user data dir)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    ties: str | None = typer.Option(None, "--ties", help="Only runs with this tie rule "
                                                         "(random, pessimistic, optimistic)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
    std: bool = typer.Option(False, "--std/--no-std", metavar="",
                             help="Show ± std over seeds (and folds) in the table (every export has it)."),
    tuned: bool = typer.Option(False, "--tuned", help="Only the best configurations of `recplug tune` studies, "
                                                      "with their budget, trials and best validation value "
                                                      "(HTML: the optimisation history)."),
) -> None:
    """Rank stored runs: mean ± std over seeds (and folds), significance against the best."""
    from recplug.leaderboard import FORMATS, Leaderboard, print_table, render
    from recplug.store import ResultStore, default_store_path

    if format not in FORMATS:
        raise ConfigError(f"--format {format!r} is unknown; choose one of {', '.join(FORMATS)}")
    if test not in ("t", "wilcoxon", "both"):
        raise ConfigError(f"--test {test!r} is unknown; choose t, wilcoxon or both")
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha must be between 0 and 1 (exclusive), got {alpha}")
    if bootstrap < 0:
        raise ConfigError(f"--bootstrap must be >= 0, got {bootstrap}")
    protocol = _protocol(task, protocol)
    if metrics is None:  # rating runs store RMSE, MAE and FCP (when defined): all of them
        metrics = "all" if protocol == RATING_PROTOCOL else DEFAULT_METRICS
    names = _metric_list(metrics)
    path = db if db is not None else default_store_path()
    if not path.is_file():
        raise StoreError(f"no results store at {path}; run `recplug eval ...` first"
                         + ("" if db is not None else " or pass --db"))
    filters = {"dataset": dataset, "split": split, "protocol": protocol}
    if ties is not None:
        filters["ties"] = ties
    with ResultStore(path, readonly=True) as store:
        runs = store.runs(dataset=dataset, split=split, protocol=protocol)
        if ties is not None:
            runs = [r for r in runs if r.spec.ties == ties]
        tags = None
        if tuned:
            studied = {r.id for r in store.runs_tagged("study")}
            runs = [r for r in runs if r.id in studied]
            if not runs:
                raise LeaderboardError(f"no tuned runs in results store {path} for dataset={dataset} "
                                       f"split={split} protocol={protocol}; run `recplug tune MODEL --dataset "
                                       f"{dataset} --split {split} --db {path}` first, or drop --tuned")
            tags = {r.id: store.run_tags(r.id) for r in runs}
        if not runs:
            raise _no_runs(store, path, filters)
        lb = Leaderboard.from_runs(runs, metrics=names, alpha=alpha, test=test,
                                   bootstrap=bootstrap, seed=seed, tags=tags)
    err = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)
    if out is not None or format != "table":  # the rich table prints its notes below itself
        for note in lb.notes:
            err.print(Text.assemble(("note: ", "yellow"), note))
    if out is not None:
        try:
            out.write_text(render(lb, format), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write --out {out}: {exc.strerror or exc}") from None
        err.print(Text(f"wrote {format} leaderboard of {len(lb.rows)} "
                       f"configuration{'' if len(lb.rows) == 1 else 's'} to {out}"))
    elif format == "table":
        console = Console()
        print_table(lb, console if console.is_terminal else None, std=std)
    else:
        sys.stdout.write(render(lb, format))
