"""CLI commands of the imaging area: ``her2mri extract`` and ``her2mri demo-images``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from her2mri.cli._common import EXIT_RUN_ERROR, console, err_console, user_errors

EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C


def _lesions_from_cohort(cohort: str | None, n: int) -> object:
    """Lesion frame (patient_id, lesion_id, her2_category) of a cohort file, or of the demo cohort."""
    import pandas as pd

    if cohort in (None, "demo"):
        try:
            from her2mri.cohort import load_demo_cohort

            frame = load_demo_cohort().frame
        except (ImportError, FileNotFoundError):
            classes = ("zero", "low", "positive")
            frame = pd.DataFrame(
                {
                    "patient_id": [f"P{i + 1:04d}" for i in range(n)],
                    "lesion_id": [f"P{i + 1:04d}" for i in range(n)],
                    "her2_category": [classes[i % 3] for i in range(n)],
                }
            )
    else:
        from her2mri.cohort import load_cohort

        frame = load_cohort(cohort).frame
    columns = [c for c in ("patient_id", "lesion_id", "her2_category") if c in frame.columns]
    return frame[columns].head(n).reset_index(drop=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""

    @app.command("extract")
    def extract(
        manifest: Annotated[
            Path, typer.Argument(help="Manifest table (CSV/TSV/Parquet) of images and masks.")
        ],
        out: Annotated[
            Path, typer.Option("--out", "-o", help="Features table to write (.csv, .tsv or .parquet).")
        ],
        params: Annotated[
            Path | None, typer.Option("--params", help="Extraction settings YAML (default: shipped).")
        ] = None,
        workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="Local worker processes.")] = 1,
        scheduler: Annotated[
            str | None, typer.Option("--scheduler", help="Dask scheduler address (tcp://host:port).")
        ] = None,
        reader: Annotated[
            str | None, typer.Option("--reader", help="Primary reader of the main table.")
        ] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
        strict: Annotated[
            bool, typer.Option("--strict", help="Exit with code 1 if any case failed.")
        ] = False,
    ) -> None:
        """Extract DWI/DCE quantitative features and radiomics per lesion; resumable (parts next to OUT)."""
        from her2mri.imaging import extract_features, output_paths

        paths = output_paths(out)
        try:
            with user_errors():
                result = extract_features(
                    manifest,
                    out,
                    settings=params,
                    workers=workers,
                    scheduler=scheduler,
                    reader=reader,
                    progress=not quiet,
                )
        except KeyboardInterrupt:
            kept = len(list(paths["parts"].glob("*.json"))) if paths["parts"].is_dir() else 0
            err_console.print(
                f"Interrupted: {kept} finished case file(s) kept in {paths['parts']}; run the same command "
                "again to resume (finished cases are not recomputed).",
                highlight=False,
            )
            raise typer.Exit(code=EXIT_INTERRUPTED) from None
        n_feat = result.features.shape[1] - 3
        console.print(
            f"{len(result.features)} lesions x {n_feat} features (reader '{result.primary_reader}') -> {out}; "
            f"{result.n_computed} computed, {result.n_cached} reused from {paths['parts']}",
            highlight=False,
        )
        if result.icc is not None:
            console.print(f"ICC table ({len(result.icc)} features) -> {paths['icc']}", highlight=False)
        if len(result.failures):
            err_console.print(
                f"[bold red]{len(result.failures)} case(s) failed[/] (listed in {paths['failures']}):",
                markup=True,
                highlight=False,
            )
            for row in result.failures.head(10).itertuples():
                err_console.print(f"  - {row.case}: {row.error_type}: {row.message}", highlight=False)
            if strict:
                raise typer.Exit(code=EXIT_RUN_ERROR)

    @app.command("demo-images")
    def demo_images(
        out: Annotated[
            Path, typer.Option("--out", "-o", help="Folder for the phantom images and manifest.csv.")
        ],
        cohort: Annotated[
            str | None, typer.Option("--cohort", help="Cohort table (default: the demo cohort).")
        ] = None,
        n: Annotated[
            int, typer.Option("--n", min=1, help="Number of lesions (the first N of the cohort).")
        ] = 12,
        seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 2026,
    ) -> None:
        """Write synthetic mpMRI phantoms (T2, DWI, DCE, two readers' masks) for lesions of a cohort."""
        from her2mri.imaging import make_phantom_cases

        with user_errors():
            lesions = _lesions_from_cohort(cohort, n)
            cases = make_phantom_cases(lesions, out, seed=seed)
        console.print(
            f"{len(cases.truth)} phantom cases -> {out} (manifest: {cases.manifest}); "
            f"next: her2mri extract {cases.manifest} --out features.csv",
            highlight=False,
        )
