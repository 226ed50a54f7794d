"""CLI commands of the reader area: ``her2mri reader-study``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""
    app.command("reader-study")(reader_study)


def reader_study(
    reads: Annotated[Path, typer.Argument(help="Reads table (CSV/TSV/Excel/Parquet): reader_id, lesion_id, "
                                               "condition, score, optional her2_call.")],
    cohort: Annotated[Path, typer.Option("--cohort", help="Cohort table giving each lesion's HER2 truth.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory (created if needed).")],
    task: Annotated[str, typer.Option("--task", help="Classification task that defines the truth.")]
    = "positive_vs_negative",
    threshold: Annotated[float | None, typer.Option("--threshold", help="Positive call at score >= threshold "
                                                    "(default 0.5 for probabilities, 3 for ordinal 1-5).")] = None,
    use_calls: Annotated[bool, typer.Option("--use-calls", help="Use the readers' her2_call instead of a "
                                            "threshold for sensitivity and specificity.")] = False,
    mapping: Annotated[Path | None, typer.Option("--mapping", help="Optional YAML column mapping for the "
                                                 "cohort.")] = None,
) -> None:
    """Analyse a reader study (unaided vs aided): per-reader AUC, sensitivity, specificity, paired DeLong
    tests, and the Obuchowski-Rockette MRMC test with Hillis degrees of freedom."""
    import json

    from rich.table import Table

    from her2mri.cli._common import console, user_errors

    with user_errors():
        import pandas as pd

        from her2mri.exceptions import TaskError
        from her2mri.models.tasks import TASKS
        from her2mri.readers import read_reads, run_reader_study, validate_reads

        if task not in TASKS:
            msg = f"Option '--task': got {task!r}; accepted: {', '.join(TASKS)}."
            raise TaskError(msg)
        table = validate_reads(read_reads(reads), source=str(reads))
        from her2mri.cohort import load_cohort

        loaded = load_cohort(cohort, mapping=mapping)
        frame = loaded.frame
        mask, y = TASKS[task].labels(frame)
        ids = frame["lesion_id"] if "lesion_id" in frame.columns else frame["patient_id"]
        truth = pd.Series(y, index=ids.astype(str).to_numpy()[mask])
        result = run_reader_study(table, truth, task=task, threshold=threshold,
                                  calls="her2_call" if use_calls else "threshold",
                                  positive_calls=(TASKS[task].positive,))
        out.mkdir(parents=True, exist_ok=True)
        (out / "reader_study.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
        result.to_frame().to_csv(out / "per_reader.csv", index=False)

    view = Table(title=f"Reader study — {task} ({result.n_lesions} lesions: {result.n_pos} positive)")
    for col in ("reader", "condition", "AUC (95% CI)", "sensitivity", "specificity", "ΔAUC aided−unaided", "p"):
        view.add_column(col)
    comps = {c.reader_id: c for c in result.comparisons}
    for m in result.per_reader:
        c = comps.get(m.reader_id) if m.condition == "aided" else None
        view.add_row(m.reader_id, m.condition, f"{m.auc:.3f} ({m.auc_ci_low:.3f}–{m.auc_ci_high:.3f})",
                     f"{m.sensitivity:.2f}", f"{m.specificity:.2f}",
                     f"{c.estimate:+.3f} ({c.ci_low:+.3f} to {c.ci_high:+.3f})" if c else "",
                     f"{c.pvalue:.3g}" if c else "")
    console.print(view)
    if result.mrmc is not None:
        m = result.mrmc
        console.print(f"MRMC (OR-Hillis, {m.cov_method}, random readers and cases): aided − unaided AUC "
                      f"{m.estimate:+.4f} (95% CI {m.ci_low:+.4f} to {m.ci_high:+.4f}), "
                      f"ddf {m.df:.2f}, p = {m.pvalue:.4g}")
    for note in result.notes:
        console.print(f"[yellow]Note:[/] {note}")
    console.print(f"Wrote {out / 'reader_study.json'} and {out / 'per_reader.csv'}")
