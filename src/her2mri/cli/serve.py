"""``her2mri serve``: run the clinician web app on a model bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from her2mri.cli._common import console, user_errors


def serve(
    model: Annotated[
        Path, typer.Option("--model", "-m", help="Model bundle directory or .zip (e.g. her2mri-demo/model).")
    ],
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind; 127.0.0.1 keeps it on this machine.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="SQLAlchemy URL of the prediction store (default: SQLite next to the model)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="HER2MRI_TOKEN", help="Require this bearer token for the API and the form."),
    ] = None,
    max_body_bytes: Annotated[
        int, typer.Option("--max-body-bytes", min=1024, help="Largest request body accepted.")
    ] = 1_000_000,
    max_batch: Annotated[int, typer.Option("--max-batch", min=1, help="Most cases in one batch request.")] = 500,
) -> None:
    """Serve the form, the JSON API (/docs) and the store of predictions for one model bundle."""
    with user_errors():
        import uvicorn

        from her2mri.exceptions import ConfigError
        from her2mri.web import WebSettings, create_app

        try:
            settings = WebSettings(
                model_path=model, host=host, port=port, database_url=database_url, token=token,
                max_body_bytes=max_body_bytes, max_batch=max_batch,
            )
        except ValueError as exc:
            msg = f"Invalid serve options: {exc}"
            raise ConfigError(msg) from None
        app = create_app(settings)
    if host not in ("127.0.0.1", "localhost", "::1"):
        console.print(f"[yellow]Listening on {host}: reachable from other machines.[/]", markup=True)
        if token is None:
            console.print("[yellow]No --token given: anyone who can reach it can use it.[/]", markup=True)
    console.print(f"her2mri web app on http://{host}:{port}/ (API docs at /docs). Research use only.")
    uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("serve")(serve)
