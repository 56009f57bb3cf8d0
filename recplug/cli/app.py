"""Entry point of the ``recplug`` command: joins the command groups, maps errors to one line."""

from __future__ import annotations

import os
import sys

import typer
from rich.console import Console

from recplug.errors import RecplugError

app = typer.Typer(
    name="recplug",
    help="Evaluate recommender models under one honest, reproducible protocol.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Evaluate recommender models under one honest, reproducible protocol."""


def _register() -> None:
    from recplug.cli import bench, datasets, doctor, leaderboard, models
    from recplug.cli.eval import eval_command

    app.command("eval")(eval_command)
    app.command("models")(models.models)
    app.add_typer(datasets.app, name="datasets")
    app.command("leaderboard")(leaderboard.leaderboard)
    app.command("doctor")(doctor.doctor)
    app.add_typer(bench.app, name="bench")


_register()


def main() -> None:
    """Run the CLI; known errors become one line on stderr and a non-zero exit code.

    Set ``RECPLUG_DEBUG=1`` to see the full traceback instead.
    """
    try:
        app()
    except RecplugError as exc:
        if os.environ.get("RECPLUG_DEBUG"):
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # pragma: no cover
    main()
