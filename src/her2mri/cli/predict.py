"""``her2mri predict``: apply a saved model bundle to a table of new cases."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from her2mri.cli._common import console, user_errors


def _read_cases(path: Path):  # -> pd.DataFrame
    import pandas as pd

    from her2mri.exceptions import CohortError, CohortIssue

    suffix = path.suffix.lower()
    if not path.exists():
        msg = f"Cases file not found: {path}"
        raise FileNotFoundError(msg)
    try:
        if suffix in (".csv", ".txt"):
            return pd.read_csv(path, dtype=str, keep_default_na=False)
        if suffix == ".tsv":
            return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        if suffix in (".xlsx", ".xls"):
            return pd.read_excel(path, dtype=str, keep_default_na=False)
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except (ValueError, OSError) as exc:
        msg = f"Cannot read the cases file {path}"
        raise CohortError(msg, [CohortIssue(None, None, None, str(exc))]) from exc
    msg = f"Cases file {path}: unsupported extension {suffix!r}"
    raise CohortError(msg, [CohortIssue(None, None, suffix, "unsupported file type", ".csv, .tsv, .xlsx, .parquet")])


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
    cases: Annotated[Path, typer.Argument(help="Cases table (CSV, TSV, Excel or Parquet), one row per lesion.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="Model bundle directory or .zip (e.g. DIR/model).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the per-lesion table.")] = Path(
        "predictions.csv"
    ),
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

        bundle = load_bundle(model)
        frame = _read_cases(cases)
        result = bundle.predict_cases(frame, top_k=top_k, explain_time_budget_s=explain_time_budget_s)
        table = result.table
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False)
        if explain is not None:
            explain.parent.mkdir(parents=True, exist_ok=True)
            _explanations_frame(bundle, result).to_csv(explain, index=False, float_format="%.8g")
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
