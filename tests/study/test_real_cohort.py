"""A small table shaped like a real public cohort (Duke-Breast-Cancer-MRI): three header rows, mixed-case
feature names in a second table keyed differently, numeric columns outside the contract, recurrence in days
over several columns, binary HER2. From the raw files to a report-ready study and a bundle that predicts.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2mri.cohort import load_cohort
from her2mri.study import config_from_dict, run_study

GROUPS = ["Patient Information", "Demographics", "", "Tumor Characteristics", "", "", "Recurrence", "",
          "Follow Up"]
NAMES = ["Patient ID", "Date of Birth (Days)", "Menopause (at diagnosis)", "ER", "HER2", "Staging(Tumor Size)# [T]",
         "Days to local recurrence (from the date of diagnosis)", "Days to distant recurrence(from the date of diagnosis)",
         "Days to last local recurrence free assessment (from the date of diagnosis)"]
CODING = ["", "days", "0 = pre, 1 = post", "0 = neg, 1 = pos", "0 = neg, 1 = pos", "1-4", "days", "days", "days"]

MAPPING = {
    "header_rows": 3,
    "columns": {"Patient Information | Patient ID": "patient_id", "Tumor Characteristics | ER": "er_status",
                "Tumor Characteristics | HER2": "her2_status",
                "Demographics | Menopause (at diagnosis)": "menopausal_status"},
    "values": {"er_status": {0: "negative", 1: "positive"}, "her2_status": {0: "negative", 1: "positive"},
               "menopausal_status": {0: "pre", 1: "post"}},
    "kinds": {"Tumor Characteristics | Staging(Tumor Size)# [T]": "categorical"},
    "derive": {
        "dfs_months": {"min_of": ["Recurrence | Days to local recurrence (from the date of diagnosis)",
                                  "Recurrence | Days to distant recurrence(from the date of diagnosis)",
                                  "Follow Up | Days to last local recurrence free assessment (from the date of "
                                  "diagnosis)"], "unit": "days"},
        "dfs_event": {"any_of": ["Recurrence | Days to local recurrence (from the date of diagnosis)",
                                 "Recurrence | Days to distant recurrence(from the date of diagnosis)"]},
    },
    "constants": {"center": "duke"},
}


def write_duke_like(folder: Path, n: int = 150, seed: int = 3) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=n)
    her2 = (rng.uniform(size=n) < 1 / (1 + np.exp(-(-1.2 + 1.3 * latent)))).astype(int)
    local = np.where(rng.uniform(size=n) < 0.1, rng.integers(100, 2000, n), -1)
    distant = np.where(rng.uniform(size=n) < 0.1, rng.integers(100, 2000, n), -1)
    follow = rng.integers(300, 3000, n)
    rows = []
    for i in range(n):
        rows.append([f"Breast_MRI_{i + 1:03d}", str(-int(rng.integers(9000, 30000))), str(int(rng.integers(0, 2))),
                     str(int(rng.uniform() < 0.7)), str(her2[i]), str(int(rng.integers(1, 5))),
                     "" if local[i] < 0 else str(local[i]), "NA" if distant[i] < 0 else str(distant[i]),
                     str(follow[i])])
    clinical = folder / "Clinical_and_Other_Features.csv"
    with clinical.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows([GROUPS, NAMES, CODING, *rows])
    features = pd.DataFrame({"Patient ID": [r[0] for r in rows]})
    for j in range(30):
        signal = 0.8 * latent if j < 3 else 0.0
        features[f"Feature_{j:02d}_Tumor" if j % 2 else f"SER_Mean_{j:02d}_Tumor"] = np.round(
            signal + rng.normal(size=n), 4)
    feature_path = folder / "Imaging_Features.csv"
    features.to_csv(feature_path, index=False)
    return clinical, feature_path


def test_mapping_reads_the_real_layout(tmp_path: Path) -> None:
    clinical, _ = write_duke_like(tmp_path)
    cohort = load_cohort(clinical, mapping=MAPPING)
    frame = cohort.frame
    assert len(frame) == 150
    assert cohort.is_binary_only
    age = frame["Demographics | Date of Birth (Days)"]
    assert pd.api.types.is_float_dtype(age)  # numeric-looking column outside the contract: numeric
    stage = frame["Tumor Characteristics | Staging(Tumor Size)# [T]"]
    assert not pd.api.types.is_numeric_dtype(stage)  # the mapping says categorical
    raw = pd.read_csv(clinical, header=None, skiprows=3, dtype=str, keep_default_na=False)
    days = raw[[6, 7, 8]].replace({"": np.nan, "NA": np.nan}).astype(float)
    np.testing.assert_allclose(frame["dfs_months"].to_numpy(dtype=float), days.min(axis=1) * 12 / 365.25)
    events = (days[[6, 7]].notna().any(axis=1)).astype(float).to_numpy()
    np.testing.assert_array_equal(pd.to_numeric(frame["dfs_event"]).to_numpy(dtype=float), events)
    assert any("header rows were flattened" in note for note in cohort.notes)


def test_duke_like_study_runs_and_its_bundle_predicts_mixed_case_columns(tmp_path: Path) -> None:
    from her2mri.bundle import load_bundle

    clinical, features = write_duke_like(tmp_path)
    config = {
        "schema_version": 1, "seed": 5,
        "cohort": {"path": str(clinical), "mapping": MAPPING,
                   "features": {"path": str(features), "on": "patient_id", "key": "Patient ID"}},
        "tasks": ["positive_vs_negative"],
        "design": {"kind": "cv", "n_splits": 3, "inner_splits": 3},
        "blocks": {"imaging": {"patterns": ["*_Tumor"]},
                   "clinical_extra": {"columns": ["Demographics | Date of Birth (Days)", "er_status",
                                                  "Tumor Characteristics | Staging(Tumor Size)# [T]"]}},
        "models": [{"name": "imaging", "classifier": "lr", "blocks": ["imaging"], "grid": {"C": [0.01, 0.1]}},
                   {"name": "clinical", "classifier": "lr", "blocks": ["clinical_extra"], "tuning": False}],
        "statistics": {"n_bootstrap": 20},
        "interpretability": {"shap": False},
        "subgroups": {"columns": []},
        "report": {"enabled": False},
    }
    result = run_study(config_from_dict(config), tmp_path / "out")
    assert result.status == "complete"
    models = result.document["tasks"]["positive_vs_negative"]["models"]
    assert models["imaging"]["n_input_columns"] == 30
    # age in days is one numeric input, not hundreds of one-hot levels; T stage is 4 levels
    selected = {f["name"] for f in models["clinical"]["selected_features"]}
    assert "Demographics | Date of Birth (Days)" in selected
    assert len([name for name in selected if name.startswith("Tumor Characteristics")]) <= 4
    assert result.document["steps"]["survival"]["status"] != "failed"
    bundle = load_bundle(tmp_path / "out" / "model")
    cases = pd.read_csv(features).drop(columns=["Patient ID"]).head(5)
    cases["er_status"] = "positive"
    cases["Demographics | Date of Birth (Days)"] = -15000
    cases["Tumor Characteristics | Staging(Tumor Size)# [T]"] = "2"
    table = bundle.predict(cases)
    assert len(table) == 5


@pytest.mark.parametrize("rows", [1, 2])
def test_header_rows_beyond_the_table_is_a_clear_error(tmp_path: Path, rows: int) -> None:
    from her2mri.cohort.mapping import flatten_headers
    from her2mri.exceptions import ConfigError

    frame = pd.DataFrame({"Group": ["name"] * (rows - 1)})
    with pytest.raises(ConfigError, match="header rows"):
        flatten_headers(frame, rows + 2)
