"""CLI commands of the study area: ``her2mri study run``, ``her2mri study validate-config`` and ``her2mri demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from her2mri.cli._common import EXIT_RUN_ERROR, console, err_console, user_errors

study_app = typer.Typer(
    name="study",
    help="Run a study from one YAML configuration (see docs/study-config.md and examples/).",
    no_args_is_help=True,
)


def _summary(result: object) -> None:
    from her2mri.study import StudyResult

    if not isinstance(result, StudyResult):
        return
    table = result.to_frame()
    if table.empty:
        return
    for task, block in result.tasks.items():
        best = block.get("best_model")
        rows = table[(table["task"] == task) & (table["model"] == best)]
        parts = [f"{r.set} AUC {r.auc:.3f} ({r.auc_ci_low:.3f}–{r.auc_ci_high:.3f})" for r in rows.itertuples()
                 if r.auc is not None and r.auc_ci_low is not None]
        console.print(f"[bold]{task}[/] · chosen model [cyan]{best}[/]: " + "; ".join(parts), highlight=False)


def _written(result: object, out: Path) -> str:
    """The files the run actually wrote (no report.html when the report is disabled or was skipped)."""
    from her2mri.study import StudyResult

    names = ["results.json", "predictions.csv", "model/", "report.html", "run.log"]
    if isinstance(result, StudyResult):
        names = [name for name in names if (out / name.rstrip("/")).exists()]
    return ", ".join(names)


def _run(config: Path | object, out: Path, quiet: bool, scheduler: str | None = None) -> None:
    from her2mri.study import StudyStepError, run_study

    with user_errors():
        try:
            result = run_study(config, out, progress=not quiet, scheduler=scheduler)
        except StudyStepError as exc:
            err_console.print(f"[bold red]Study failed:[/] {exc}", markup=True, highlight=False)
            if exc.__cause__ is not None:
                err_console.print(f"  caused by: {type(exc.__cause__).__name__}: {exc.__cause__}", highlight=False)
            raise typer.Exit(code=EXIT_RUN_ERROR) from None
    if not quiet:
        _summary(result)
    console.print(f"Results written to {out}/ ({_written(result, out)})", highlight=False)


@study_app.command("run")
def run(
    config: Annotated[Path, typer.Argument(help="Study configuration (YAML).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler",
        help="Dask scheduler address (e.g. tcp://10.0.0.5:8786): the fold x model fits run on that cluster.",
    )] = None,
) -> None:
    """Run the study described by CONFIG and write results.json, predictions.csv, model/ and report.html."""
    _run(config, out, quiet, scheduler)


@study_app.command("validate-config")
def validate_config(config: Annotated[Path, typer.Argument(help="Study configuration (YAML).")]) -> None:
    """Check a study configuration without running it (unknown keys and bad values name their line)."""
    from her2mri.study import load_config

    with user_errors():
        parsed = load_config(config)
    models = ", ".join(f"{m.name} ({m.classifier})" for m in parsed.models)
    console.print(
        f"Configuration OK: tasks {', '.join(parsed.tasks.names)}; design {parsed.design.kind}; models {models}.",
        highlight=False,
    )


def _imaging_demo(out: Path, n_cases: int, seed: int, quiet: bool) -> None:
    """Phantom mpMRI for demo-cohort lesions into OUT/imaging, then the report again with its imaging section."""
    from her2mri.cohort import load_demo_cohort
    from her2mri.imaging import run_imaging_demo
    from her2mri.report import render_report

    if not quiet:
        console.print(f"Imaging: phantom mpMRI for {n_cases} demo lesions, features and reader ICC -> {out}/imaging")
    with user_errors():
        result = run_imaging_demo(
            load_demo_cohort().frame, out / "imaging", n_cases=n_cases, workers=2, seed=seed, progress=not quiet
        )
        render_report(out)
    summary = result.summary
    icc = summary["icc"]
    checks = summary["class_order_check"]
    order = "; ".join(
        f"{name} {' < '.join(check['observed_order'])} ({'as designed' if check['matches'] else 'NOT as designed'})"
        for name, check in checks.items()
    )
    console.print(
        f"Imaging: {summary['n_cases']} lesions x {summary['n_features']} features in "
        f"{summary['timing_s']['total']:.1f} s; {icc['n_reproducible']} of {icc['n_estimable']} features with "
        f"ICC(2,1) > {icc['threshold']:g}; class order {order}",
        highlight=False,
    )


def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created).")],
    fast: Annotated[
        bool, typer.Option("--fast", help="Fewer bootstrap resamples and models (a quick look).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary.")] = False,
    images: Annotated[
        int,
        typer.Option("--images", min=3, help="Demo lesions given phantom mpMRI for the imaging part (OUT/imaging)."),
    ] = 24,
    no_images: Annotated[
        bool, typer.Option("--no-images", help="Skip the imaging part (no phantom images).")
    ] = False,
) -> None:
    """Run the full demonstration study on the shipped demo cohort (two centres, both hierarchy tasks), then the
    imaging part: phantom mpMRI for demo lesions, features, two-reader ICC, all in OUT/report.html."""
    from her2mri.study.demo import demo_config

    with user_errors():
        config = demo_config(fast=fast)
    _run(config, out, quiet)
    if not no_images:
        _imaging_demo(out, images, int(config.seed), quiet)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.add_typer(study_app, name="study")
    app.command("demo")(demo)
