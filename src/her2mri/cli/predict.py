"""``her2mri predict``: apply a saved model bundle to a table of new cases."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from her2mri.cli._common import console, user_errors


def check_output_path(out: Path, option: str = "--out") -> None:
    """Refuse, before any work, an output path that cannot be written as a table file: an existing folder,
    a path below a file, an unsupported suffix or a folder without write permission."""
    from her2mri.cohort.io import SUPPORTED_SUFFIXES
    from her2mri.exceptions import ConfigError

    if out.is_dir():
        msg = f"{option} {out} is a folder; give a file name such as {out / 'predictions.csv'}."
        raise ConfigError(msg)
    if out.suffix.lower() not in SUPPORTED_SUFFIXES:
        msg = (f"{option} {out}: the suffix {out.suffix or '(none)'!r} is not a table format; accepted: "
               f"{', '.join(SUPPORTED_SUFFIXES)}.")
        raise ConfigError(msg)
    parent = out.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        msg = f"{option} {out} lies below {parent}, which is a file, not a folder."
        raise ConfigError(msg)
    if not os.access(parent, os.W_OK | os.X_OK):
        msg = f"{option} {out}: the folder {parent} is not writable."
        raise ConfigError(msg)


def _explanations_frame(bundle, result):  # -> pd.DataFrame
    """Long table of every explained lesion × task × input: the SHAP contribution and the input's value."""
    import pandas as pd

    parts = []
    lesion_ids = result.table["lesion_id"].astype(str).to_numpy()
    for task, exp in result.explanations.items():
        tidy = exp.to_frame()
        positions = tidy["row"].map({label: i for i, label in enumerate(result.cases.index)}).to_numpy(dtype=int)
        parts.append(pd.DataFrame({
            "lesion_id": lesion_ids[positions], "task": task, "model": bundle.task_models[task].model_name,
            "method": exp.method, "scale": exp.output, "base_value": exp.base_value,
            "feature": tidy["feature"], "value": tidy["value"], "contribution": tidy["contribution"],
        }))
    columns = ["lesion_id", "task", "model", "method", "scale", "base_value", "feature", "value", "contribution"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)


def predict(
    cases: Annotated[Path, typer.Argument(
        help="Cases table (CSV/TSV/TXT with comma, semicolon or tab, Excel or Parquet), one row per lesion.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Model bundle directory or .zip (e.g. DIR/model).")],
    out: Annotated[Path, typer.Option(
        "--out", "-o", help="Where to write the per-lesion table (format by suffix: .csv, .tsv, .xlsx, .parquet).")
    ] = Path("predictions.csv"),
    sheet: Annotated[str | None, typer.Option(
        "--sheet", help="Excel sheet (name or 0-based number); required when the workbook has several.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="Contributing features listed per task.")] = 3,
    explain: Annotated[
        Path | None,
        typer.Option(
            "--explain",
            help="Also write every lesion's SHAP contribution of every input, per task, to this CSV "
            "(columns lesion_id, task, model, method, scale, base_value, feature, value, contribution).",
        ),
    ] = None,
    explain_time_budget_s: Annotated[
        float | None,
        typer.Option(
            "--explain-time-budget", min=0.1,
            help="Optional seconds allowed per task for model-agnostic explanations (default: no limit, every "
            "lesion explained).",
        ),
    ] = None,
) -> None:
    """Predict HER2 zero / low / positive for each lesion of CASES with a saved model bundle."""
    with user_errors():
        from her2mri.bundle import load_bundle
        from her2mri.cohort.io import read_table, write_table

        check_output_path(out)
        if explain is not None:
            check_output_path(explain, "--explain")
        frame = read_table(cases, sheet=sheet)
        bundle = load_bundle(model)
        result = bundle.predict_cases(frame, top_k=top_k, explain_time_budget_s=explain_time_budget_s)
        table = result.table
        try:
            write_table(table, out)
            if explain is not None:
                _explanations_frame(bundle, result).to_csv(explain, index=False, float_format="%.8g")
        except OSError as exc:
            from her2mri.exceptions import ConfigError

            msg = f"The output could not be written: {exc.strerror or exc}."
            raise ConfigError(msg) from None
    n = len(table)
    console.print(f"Model {model} (her2mri {bundle.her2mri_version}, sha256 {str(bundle.sha256)[:12]}).")
    console.print(f"{n} lesion(s) predicted; table written to {out}.")
    if explain is not None:
        coverage = ", ".join(
            f"{task} {exp.n_explained}/{exp.n_requested} ({exp.method})" for task, exp in result.explanations.items()
        )
        console.print(f"SHAP contributions written to {explain}: {coverage} lesions explained.")
    if n:
        counts = table["call"].value_counts()
        console.print("Calls: " + ", ".join(f"{label} {int(counts.get(label, 0))}" for label in counts.index))
        n_ood = int(table["out_of_distribution"].sum())
        if n_ood:
            console.print(
                f"[yellow]{n_ood} lesion(s) outside the training distribution[/] (see column ood_reasons).",
                markup=True,
            )
        n_imputed = int((table["imputed"] != "").sum())
        if n_imputed:
            console.print(f"{n_imputed} lesion(s) with missing inputs imputed (see column imputed).")
    console.print("For research use only; not a medical device.")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("predict")(predict)
