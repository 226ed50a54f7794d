"""Helpers shared by CLI commands: turn her2mri errors into a clean message and a non-zero exit code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer
from rich.console import Console

from her2mri.exceptions import Her2MriError

err_console = Console(stderr=True, soft_wrap=True)
console = Console(soft_wrap=True)

EXIT_INPUT_ERROR = 2
EXIT_RUN_ERROR = 1


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Print a :class:`Her2MriError` (or a missing file) without a traceback and exit with code 2."""
    try:
        yield
    except (Her2MriError, FileNotFoundError) as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(code=EXIT_INPUT_ERROR) from None
