"""CLI commands of the cohort area: ``her2mri validate`` and ``her2mri demo-data``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from her2mri.cli._common import console, user_errors


def _print_summary(cohort: object) -> None:
    from rich.table import Table

    from her2mri.cohort import Cohort

    if not isinstance(cohort, Cohort):
        return
    frame = cohort.frame
    centers = ", ".join(cohort.centers) or "not given"
    console.print(f"[bold]Cohort[/] {cohort.source}: {cohort.n_lesions} lesions, {cohort.n_patients} patients, "
                  f"centres: {centers}", highlight=False)
    console.print(f"HER2 levels: {'binary only (positive/negative)' if cohort.is_binary_only else 'three-level'}; "
                  f"subtype definition: {cohort.subtype_options.describe()}", highlight=False)

    counts = Table(title="HER2 category", show_header=True)
    counts.add_column("category")
    counts.add_column("lesions", justify="right")
    for name, value in cohort.her2_counts().items():
        counts.add_row(str(name), str(int(value)))
    console.print(counts)

    cross = cohort.ihc_ish_table()
    if not cross.empty:
        table = Table(title="IHC score × ISH group", show_header=True)
        table.add_column("IHC")
        for column in cross.columns:
            table.add_column(str(column), justify="right")
        for index, row in cross.iterrows():
            table.add_row(str(index), *(str(int(v)) for v in row))
        console.print(table)

    subtypes = frame["molecular_subtype"].value_counts()
    table = Table(title="Molecular subtype", show_header=True)
    table.add_column("subtype")
    table.add_column("lesions", justify="right")
    for name, value in subtypes.items():
        table.add_row(str(name), str(int(value)))
    console.print(table)
    if cohort.notes:
        console.print("[bold]Notes[/]")
        for note in cohort.notes:
            console.print(f"  - {note}", highlight=False, markup=False)


def validate(
    cohort_path: Annotated[Path, typer.Argument(metavar="COHORT",
                                                help="Cohort table (.csv, .tsv, .xlsx, .parquet).")],
    mapping: Annotated[Path | None, typer.Option("--mapping", "-m", help="YAML mapping file (rename/recode).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Write the validated cohort with derived columns (format by suffix).")] = None,
    subtype_variant: Annotated[str, typer.Option(
        "--subtype-variant",
        help="Molecular subtype definition: st_gallen_2013, st_gallen_2011, maisonneuve_2014, seed_004.")
    ] = "st_gallen_2013",
    ki67_cutoff: Annotated[float | None, typer.Option(
        "--ki67-cutoff", help="Ki-67 % cut-off (default per variant).")] = None,
    pr_cutoff: Annotated[float | None, typer.Option(
        "--pr-cutoff", help="PR % cut-off for luminal A (default per variant).")] = None,
    sheet: Annotated[str | None, typer.Option(
        "--sheet", help="Excel sheet (name or 0-based number); required when the workbook has several.")] = None,
) -> None:
    """Check COHORT against the cohort contract, derive HER2 category and subtypes, and summarise it."""
    import warnings

    from her2mri.cli.predict import check_output_path
    from her2mri.cohort import SubtypeOptions, read_table, validate_cohort, write_table
    from her2mri.exceptions import Her2MriWarning

    with user_errors():
        options = SubtypeOptions(variant=subtype_variant,  # type: ignore[arg-type]
                                 ki67_cutoff=ki67_cutoff, pr_cutoff=pr_cutoff)
        if out is not None:
            check_output_path(out)
        frame = read_table(cohort_path, sheet=sheet)  # the same reader as `her2mri predict`
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Her2MriWarning)  # the same text is kept in Cohort.notes
            cohort = validate_cohort(frame, mapping=mapping, subtype=options, source=str(cohort_path))
        _print_summary(cohort)
        if out is not None:
            write_table(cohort.frame, out)
            console.print(f"Validated cohort written to {out}", highlight=False)


def demo_data(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output table (.csv, .tsv, .xlsx, .parquet).")],
    n_center1: Annotated[int, typer.Option("--n-center1", min=0, help="Lesions from centre 1.")] = 720,
    n_center2: Annotated[int, typer.Option("--n-center2", min=0, help="Lesions from centre 2 (other scanner).")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same table).")] = 2026,
) -> None:
    """Write a synthetic two-centre demo cohort with known true posteriors (true_p_* columns)."""
    from her2mri.cohort import make_demo_cohort, write_table

    with user_errors():
        frame = make_demo_cohort(n_center1=n_center1, n_center2=n_center2, seed=seed)
        write_table(frame, out)
    console.print(f"Demo cohort: {len(frame)} lesions, {frame['patient_id'].nunique()} patients written to {out}",
                  highlight=False)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("validate")(validate)
    app.command("demo-data")(demo_data)
