"""Entry point of the ``recplug`` command: joins the command groups, maps errors to one line.

Every command's errors take one way out (:class:`OneLineErrors`): a :class:`RecplugError`
or a usage error becomes one ``error: ...`` line on stderr and the exit code the README
documents (usage 2, kernels 3, data 4, plugin 5, store 6, other 1). The same happens under
typer's ``CliRunner``, so tests see exactly what users see. ``RECPLUG_DEBUG=1`` shows the
traceback of a recplug error instead.
"""

from __future__ import annotations

import os
from typing import Any

import typer
from rich.console import Console
from rich.text import Text
from recplug.cli.options import FlagCommand, FlagGroup
from recplug.errors import RecplugError

err_console = Console(stderr=True)

#: exit code of a usage error (bad option value, unknown option, missing argument)
USAGE_EXIT = 2


def print_error(message: str) -> None:
    """One ``error: ...`` line on stderr (never wrapped, never read as rich markup)."""
    err_console.print(Text.assemble(("error:", "bold red"), " ", " ".join(str(message).split())),
                      soft_wrap=True, highlight=False)


def _usage_line(exc: typer._click.exceptions.UsageError) -> str:
    command = exc.ctx.command_path if exc.ctx is not None else "recplug"
    return f"{exc.format_message()} (see `{command} --help`)"


class OneLineErrors(FlagGroup):
    """The root group: recplug errors and usage errors of any command become one line."""

    def make_context(self, *args: Any, **kwargs: Any):
        return self._guarded(super().make_context, *args, **kwargs)

    def invoke(self, ctx):
        return self._guarded(super().invoke, ctx)

    @staticmethod
    def _guarded(call, *args: Any, **kwargs: Any):
        from typer._click.exceptions import NoArgsIsHelpError, UsageError

        try:
            return call(*args, **kwargs)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:
            print_error(_usage_line(exc))
            raise typer.Exit(USAGE_EXIT) from None
        except RecplugError as exc:
            if os.environ.get("RECPLUG_DEBUG"):
                raise
            print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None


app = typer.Typer(
    name="recplug",
    cls=OneLineErrors,
    help="Evaluate recommender models under one honest, reproducible protocol.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        import recplug

        typer.echo(f"recplug {recplug.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print the recplug version and exit."),
) -> None:
    """Evaluate recommender models under one honest, reproducible protocol."""


def _register() -> None:
    from recplug.cli import bench, datasets, doctor, leaderboard, models
    from recplug.cli.eval import eval_command

    app.command("eval", cls=FlagCommand)(eval_command)
    app.command("models", cls=FlagCommand)(models.models)
    app.add_typer(datasets.app, name="datasets")
    app.command("leaderboard", cls=FlagCommand)(leaderboard.leaderboard)
    app.command("doctor", cls=FlagCommand)(doctor.doctor)
    app.add_typer(bench.app, name="bench")
    from recplug.cli.recommend import recommend_command

    app.command("recommend", cls=FlagCommand)(recommend_command)
    from recplug.cli import runs

    app.add_typer(runs.app, name="runs")
    from recplug.cli.reproduce import reproduce_command

    app.command("reproduce", cls=FlagCommand)(reproduce_command)
    from recplug.cli.tune import tune_command

    app.command("tune", cls=FlagCommand)(tune_command)
    from recplug.cli.run import run_command

    app.command("run", cls=FlagCommand)(run_command)


_register()


def main() -> None:
    """Run the CLI (errors are mapped to one line by :class:`OneLineErrors`)."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
