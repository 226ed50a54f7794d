"""Report section on the imaging part of a study: feature extraction from MRI and two-reader reproducibility.

Read from ``<study dir>/imaging/summary.json`` (written by :func:`her2mri.imaging.demo_study.run_imaging_demo`,
which ``her2mri demo`` runs after the study): the extraction summary, the per-feature ICC between the two
readers' masks (form stated: ICC(2,1), two-way random effects, absolute agreement, single rater), how many
features the ICC > threshold filter keeps, the most and least reproducible features, and the per-class means
of the quantitative features next to the order the phantom was built with.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from her2mri.report.blocks import Section, StudyData, get, heading, table, text
from her2mri.report.formatting import MISSING, fmt_ci, fmt_count_pct, fmt_num

__all__ = ["IMAGING_SUMMARY", "imaging_section"]

IMAGING_SUMMARY = ("imaging", "summary.json")
SECTION_ID = "imaging"
SECTION_TITLE = "Imaging features and reader reproducibility"
CLASSES = ("zero", "low", "positive")
SEQUENCE_LABELS = {"quantitative": "Quantitative (DWI/DKI, DCE)", "t2": "T2", "dwi_b800": "DWI b 800", "dce3": "DCE phase 3"}
MEAN_COLUMNS = (
    ("adc_mean", "ADC mean (×10⁻³ mm²/s)", 3),
    ("d_app_mean", "D_app mean (×10⁻³ mm²/s)", 3),
    ("k_app_mean", "K_app mean", 3),
    ("eer", "EER (fraction)", 2),
    ("ser", "SER", 2),
    ("t2__original_firstorder_MeanAbsoluteDeviation", "T2 texture (mean absolute deviation)", 1),
)


def _load_summary(data: StudyData) -> Mapping[str, Any] | None:
    path = data.directory.joinpath(*IMAGING_SUMMARY)
    if not path.is_file():
        return None
    summary = json.loads(path.read_text(encoding="utf-8"))
    return summary if isinstance(summary, Mapping) else None


def _classes(summary: Mapping[str, Any]) -> list[str]:
    means = summary.get("class_means") or {}
    return [c for c in CLASSES if c in means] + sorted(c for c in means if c not in CLASSES)


def _extraction_block(summary: Mapping[str, Any]) -> dict[str, Any]:
    icc = summary.get("icc") or {}
    demo = get(summary, "settings", "demo", default={}) or {}
    radiomics = demo.get("radiomics") or {}
    classes = ", ".join(f"{k} {v}" for k, v in (summary.get("classes") or {}).items())
    items = [
        ("Lesions", f"{summary.get('n_cases', MISSING)} ({classes})" if classes else str(summary.get("n_cases", MISSING))),
        ("Cases extracted (lesion × reader)", f"{summary.get('n_reader_cases', MISSING)}; failed {summary.get('n_failed', 0)}"),
        ("Readers", ", ".join(summary.get("readers") or []) + f" (table of reader {summary.get('primary_reader', '')})"),
        ("Features per lesion", f"{summary.get('n_features', MISSING)}: {summary.get('n_quantitative', MISSING)} quantitative, "
                                f"{summary.get('n_radiomics', MISSING)} radiomics"),
        ("Radiomics inputs", ", ".join(summary.get("sequences") or [])),
        ("Radiomics setting", f"image types {', '.join(radiomics.get('image_types') or [])}; classes "
                              f"{', '.join(radiomics.get('feature_classes') or {})}"),
        ("ICC form", str(icc.get("form_label", MISSING))),
        ("Reproducible features", f"{icc.get('n_reproducible', MISSING)} of {icc.get('n_estimable', MISSING)} with "
                                  f"ICC > {fmt_num(icc.get('threshold'))}"),
        ("Extraction time", f"{fmt_num(get(summary, 'timing_s', 'total'), 1)} s on {summary.get('workers', MISSING)} "
                            f"worker process(es) (phantoms {fmt_num(get(summary, 'timing_s', 'phantoms'), 1)} s)"),
    ]
    return {"kind": "kv", "items": items}


def _icc_rows(rows: Any) -> list[list[str]]:
    return [
        [str(r.get("feature", "")), SEQUENCE_LABELS.get(str(r.get("sequence")), str(r.get("sequence", ""))),
         fmt_ci(r.get("estimate"), r.get("ci_low"), r.get("ci_high"))]
        for r in rows or []
        if isinstance(r, Mapping)
    ]


def _icc_blocks(icc: Mapping[str, Any]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    threshold = fmt_num(icc.get("threshold"))
    bands = icc.get("bands") or {}
    n = icc.get("n_estimable")
    blocks.append(text(
        f"Agreement between the two readers' masks, per feature over {icc.get('n_lesions', MISSING)} lesions, by "
        f"{icc.get('form_label', 'ICC')}: ICC(2,1) = {icc.get('definition', '')} (McGraw–Wong ICC(A,1)). "
        f"Kept at ICC > {threshold}: {fmt_count_pct(icc.get('n_reproducible'), n)} of {n} estimable features. "
        f"Koo–Li bands: excellent (> 0.9) {bands.get('excellent', 0)}, good (0.75–0.9) {bands.get('good', 0)}, "
        f"moderate (0.5–0.75) {bands.get('moderate', 0)}, poor (< 0.5) {bands.get('poor', 0)}; "
        f"median ICC {fmt_num(icc.get('median'))}."
    ))
    by_sequence = icc.get("by_sequence") or {}
    rows = [
        [SEQUENCE_LABELS.get(seq, seq), str(v.get("n", MISSING)), str(v.get("n_estimable", MISSING)),
         fmt_count_pct(v.get("n_reproducible"), v.get("n_estimable")), fmt_num(v.get("median"))]
        for seq, v in by_sequence.items()
        if isinstance(v, Mapping)
    ]
    if rows:
        blocks.append(table(
            ["Features from", "Features", "Estimable", f"Kept (ICC > {threshold})", "Median ICC"], rows,
            caption="Reader reproducibility by source.", name="imaging-icc-sequences",
        ))
    top, bottom = _icc_rows(icc.get("top")), _icc_rows(icc.get("bottom"))
    if top or bottom:
        body: list[Any] = []
        if top:
            body += [{"group": f"Most reproducible ({len(top)})"}, *top]
        if bottom:
            body += [{"group": f"Least reproducible ({len(bottom)})"}, *bottom]
        blocks.append(table(
            ["Feature", "Source", "ICC(2,1) (95% CI)"], body, name="imaging-icc", numeric_from=2,
            caption="Per-feature ICC between readers: the highest and lowest.",
            note="Two-way random effects, absolute agreement, single rater. The full table is imaging/features.icc.csv; "
                 "the kept features are listed in imaging/summary.json (reproducible_features).",
        ))
    return blocks


def _class_blocks(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    means = summary.get("class_means") or {}
    classes = _classes(summary)
    checks = summary.get("class_order_check") or {}
    rows = []
    for column, label, digits in MEAN_COLUMNS:
        if not any(isinstance(means.get(c), Mapping) and column in means[c] for c in classes):
            continue
        cells = [label]
        for c in classes:
            entry = means.get(c) or {}
            value, sd = entry.get(column), entry.get(f"{column}_sd")
            cells.append(f"{fmt_num(value, digits)} ± {fmt_num(sd, digits)}" if sd is not None else fmt_num(value, digits))
        check = checks.get(column)
        cells.append(" < ".join(check.get("observed_order") or []) + (" ✓" if check.get("matches") else " ✗")
                     if isinstance(check, Mapping) else "not checked")
        rows.append(cells)
    blocks: list[dict[str, Any]] = []
    if rows:
        header = ["Feature", *[f"{c} (n = {get(means, c, 'n', default=MISSING)})" for c in classes], "Observed order"]
        blocks.append(table(
            header, rows, name="imaging-class-means", numeric_from=1,
            caption="Quantitative features by HER2 class (mean ± SD, primary reader).",
            note="✓: the classes rank as the phantom was designed (ADC from the kurtosis signal model at the ADC "
                 "b-values; EER, K_app and T2 texture SD as set per class); ✗: they do not.",
        ))
    if checks:
        failed = [name for name, check in checks.items() if isinstance(check, Mapping) and not check.get("matches")]
        verdict = ("every checked feature ranks the classes as designed" if not failed
                   else f"not as designed: {', '.join(failed)}")
        blocks.append(text(f"Class order check: {verdict}."))
    return blocks


def imaging_section(data: StudyData) -> Section | None:
    """The imaging section; ``None`` (no section at all) when the study directory holds no imaging summary."""
    summary = _load_summary(data)
    if summary is None:
        return None
    classes = ", ".join(_classes(summary))
    section = Section(
        id=SECTION_ID, title=SECTION_TITLE,
        lead=(f"Synthetic mpMRI (T2, DWI at b 0/800/1400/2000 s/mm², 8-phase DCE) with two readers' lesion masks for "
              f"{summary.get('n_cases', MISSING)} lesions of the cohort ({classes}), drawn stratified by HER2 class; "
              "lesion texture, diffusion and kinetics depend on the class. Features come from the imaging pipeline "
              "(manifest, per-case extraction, feature table); reader agreement is measured per feature."),
    )
    section.blocks.append(heading("Extraction"))
    section.blocks.append(_extraction_block(summary))
    section.blocks.append(heading("Two-reader reproducibility"))
    section.blocks.extend(_icc_blocks(summary.get("icc") or {}))
    section.blocks.append(heading("Quantitative features by HER2 class"))
    section.blocks.extend(_class_blocks(summary))
    return section
