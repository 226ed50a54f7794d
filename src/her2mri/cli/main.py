"""The ``her2mri`` command line: one typer app; each area registers its commands from its own module.

Heavy imports happen inside the command functions so that ``her2mri --help`` stays fast.
"""

from __future__ import annotations

import typer

from her2mri import __version__
from her2mri.cli import cohort, imaging, predict, reader, report, serve, study

app = typer.Typer(
    name="her2mri",
    help="Non-invasive assessment of HER2 status (zero / low / positive) in breast cancer from MRI.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"her2mri {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Non-invasive assessment of HER2 status (zero / low / positive) in breast cancer from MRI."""


for _module in (cohort, study, imaging, reader, predict, report, serve):
    _module.register(app)


def main() -> None:  # pragma: no cover - console entry
    app()
