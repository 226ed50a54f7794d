"""``her2mri serve``: run the clinician web app on a model bundle."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from her2mri.cli._common import console, err_console, user_errors


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
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=64, help="Predictions computed at once (default: cores, at most 4)."),
    ] = None,
    trusted_origin: Annotated[
        list[str] | None,
        typer.Option("--trusted-origin", help="Another origin (scheme://host[:port]) allowed to post, e.g. behind "
                                                 "a proxy that rewrites Host. Repeatable."),
    ] = None,
) -> None:
    """Serve the form, the JSON API (described at /openapi.json) and the store of predictions for one model bundle."""
    with user_errors():
        import uvicorn

        from her2mri.exceptions import ConfigError
        from her2mri.web import WebSettings, create_app

        options = {"workers": workers} if workers is not None else {}
        try:
            settings = WebSettings(
                model_path=model, host=host, port=port, database_url=database_url, token=token,
                max_body_bytes=max_body_bytes, max_batch=max_batch, trusted_origins=tuple(trusted_origin or ()),
                **options,
            )
        except ValueError as exc:
            errors = getattr(exc, "errors", None)
            text = "; ".join(f"--{'-'.join(str(p) for p in e['loc']).replace('_', '-')}: {e['msg']}"
                             for e in errors()) if callable(errors) else str(exc)
            msg = f"Invalid serve options: {text}"
            raise ConfigError(msg) from None
        app = create_app(settings)
    if not settings.is_loopback:
        err_console.print(f"[yellow]Listening on {host}: reachable from other machines.[/]", markup=True)
        if settings.token is None:
            err_console.print(
                "[bold red]WARNING: no --token given: anyone who can reach this server can submit cases and read "
                "every stored prediction.[/]", markup=True,
            )
    console.print(f"her2mri web app on http://{host}:{port}/ (API description at /openapi.json). Research use only.")
    uvicorn.run(app, host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("serve")(serve)
