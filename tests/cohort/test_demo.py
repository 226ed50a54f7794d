"""The demo cohort: published marginals, exact posteriors, determinism, shipped default instance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score

from her2mri.cohort import (
    NOT_APPLICABLE,
    demo_cohort_path,
    load_demo_cohort,
    make_demo_cohort,
    validate_cohort,
)
from her2mri.cohort import _demo_model as model
from her2mri.cohort.demo import DEMO_FEATURES, DEMO_TARGETS, true_posterior

CLASS_INDEX = {"zero": 0, "low": 1, "positive": 2}


@pytest.fixture(scope="module")
def large() -> pd.DataFrame:
    return validate_cohort(make_demo_cohort(n_center1=14000, n_center2=6000, seed=11)).frame


def _observed(frame: pd.DataFrame, variable: str, level: str, levels: tuple[str, ...]) -> tuple[float, int]:
    if variable == "accompanying_signs":
        values = frame[["nipple_retraction", "skin_retraction", "pectoralis_invasion"]].max(axis=1)
        return float((values == 1).mean()), len(frame)
    column = frame[variable]
    if variable == "lesion_type" and "among masses" in level:
        column = column[column.isin(["mass", "mass_with_nme"])]
    column = column[column.notna() & (column != NOT_APPLICABLE)]
    if pd.api.types.is_float_dtype(column):
        column = column.map(lambda v: str(int(v)))
    return float(column.isin(levels).mean()), len(column)


def test_demo_targets_table_covers_seed_004_variables() -> None:
    variables = set(DEMO_TARGETS["variable"])
    for name in ("er_status", "pr_status", "ki67_status", "histologic_grade", "lesion_number", "peritumoral_edema",
                 "lesion_type", "mass_shape", "mass_margin", "mass_internal_enhancement", "tic_type", "eer",
                 "adc_min", "axillary_adenopathy", "accompanying_signs", "tumor_size_mm", "age",
                 "menopausal_status", "n_category", "t_category", "quadrant"):
        assert name in variables


def test_make_demo_cohort_reproduces_published_proportions(large) -> None:
    rows = DEMO_TARGETS[DEMO_TARGETS["statistic"] == "proportion"]
    failures = []
    for row in rows.itertuples():
        levels = tuple(row.levels.split("|"))
        groups = [(c, large[large["her2_category"] == c], model.PAPER_N[k]) for c, k in CLASS_INDEX.items()]
        if not np.isnan(row.negative):
            groups.append(("negative", large[large["her2_category"].isin(["zero", "low"])], model.PAPER_N_NEGATIVE))
        for name, part, n_paper in groups:
            target = getattr(row, name)
            got, n_sim = _observed(part, row.variable, row.level, levels)
            var = max(target * (1 - target), 0.01)
            tolerance = 2.5 * np.sqrt(var / n_paper) + 3 * np.sqrt(var / n_sim)
            if abs(got - target) > tolerance:
                failures.append(f"{row.variable} {row.level} {name}: {got:.3f} vs {target:.3f} ± {tolerance:.3f}")
    assert not failures, "\n".join(failures)


def test_make_demo_cohort_reproduces_published_continuous_summaries(large) -> None:
    center1 = large[large["center"] == "center1"]
    for row in DEMO_TARGETS[DEMO_TARGETS["statistic"] != "proportion"].itertuples():
        for name in CLASS_INDEX:
            values = center1.loc[center1["her2_category"] == name, row.variable].dropna()
            got = values.mean() if row.statistic == "mean" else values.median()
            # 2.5 standard errors of the published statistic (seed 004's class size), at least a fixed floor
            se = values.std() / np.sqrt(model.PAPER_N[CLASS_INDEX[name]]) * (1.0 if row.statistic == "mean" else 1.2533)
            floor = {"age": 1.0, "tumor_size_mm": 1.5, "eer": 0.02, "adc_min": 0.02}[row.variable]
            tolerance = max(floor, 2.5 * se)
            assert abs(got - getattr(row, name)) <= tolerance, (row.variable, name, got)


def test_make_demo_cohort_center2_shifts_adc_and_eer(large) -> None:
    medians = large.groupby("center")[["adc_min", "eer"]].median()
    assert medians.loc["center2", "adc_min"] - medians.loc["center1", "adc_min"] == pytest.approx(0.08, abs=0.02)
    assert medians.loc["center2", "eer"] - medians.loc["center1", "eer"] == pytest.approx(-0.05, abs=0.02)


def test_true_posterior_is_calibrated(large) -> None:
    for name, column in (("positive", "true_p_positive"), ("low", "true_p_low"), ("zero", "true_p_zero")):
        p = large[column].to_numpy()
        y = (large["her2_category"] == name).to_numpy()
        bins = np.quantile(p, np.linspace(0, 1, 11))
        index = np.clip(np.searchsorted(bins, p, side="right") - 1, 0, 9)
        for b in range(10):
            mask = index == b
            mean_p, freq = p[mask].mean(), y[mask].mean()
            se = np.sqrt(max(mean_p * (1 - mean_p), 1e-4) / mask.sum())
            assert abs(mean_p - freq) <= 3.5 * se + 0.005, (name, b, mean_p, freq)


def test_true_posterior_beats_a_fitted_model_in_log_loss(large) -> None:
    y = large["her2_category"].map(CLASS_INDEX).to_numpy()
    categorical = [c for c in DEMO_FEATURES if c in large.columns and large[c].dtype == object]
    numeric = [c for c in DEMO_FEATURES if c in large.columns and c not in categorical]
    X = pd.get_dummies(large[categorical], dummy_na=True).astype(float)
    for column in numeric:
        values = large[column].astype(float)
        X[column] = values.fillna(values.median())
        X[f"{column}_missing"] = values.isna().astype(float)
    X = (X - X.mean()) / X.std().replace(0, 1)
    half = len(X) // 2
    fitted = LogisticRegression(max_iter=500).fit(X.iloc[:6000], y[:6000])
    p_fit = fitted.predict_proba(X.iloc[half:])
    p_true = large[["true_p_zero", "true_p_low", "true_p_positive"]].to_numpy()[half:]
    assert log_loss(y[half:], p_true, labels=[0, 1, 2]) < log_loss(y[half:], p_fit, labels=[0, 1, 2])


def test_true_posterior_recomputed_from_shipped_csv_matches_recorded() -> None:
    raw = pd.read_csv(demo_cohort_path())
    recorded = raw[["true_p_zero", "true_p_low", "true_p_positive"]].to_numpy()
    np.testing.assert_allclose(true_posterior(raw), recorded, atol=2e-6)
    np.testing.assert_allclose(recorded.sum(axis=1), 1.0, atol=1e-5)


def test_true_posterior_marginalises_missing_values() -> None:
    raw = make_demo_cohort(50, 0, seed=3)
    dropped = true_posterior(raw.drop(columns=["adc_min", "eer"]))
    assert np.all(np.isfinite(dropped))
    assert not np.allclose(dropped, true_posterior(raw))


def test_shipped_demo_cohort_is_the_default_instance() -> None:
    expected = make_demo_cohort().to_csv(index=False, lineterminator="\n")
    assert demo_cohort_path().read_text(encoding="utf-8") == expected


def test_make_demo_cohort_is_deterministic_by_seed() -> None:
    a, b = make_demo_cohort(60, 30, seed=5), make_demo_cohort(60, 30, seed=5)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(make_demo_cohort(60, 30, seed=6))
    assert len(a) == 90


def test_load_demo_cohort_structure() -> None:
    cohort = load_demo_cohort()
    frame = cohort.frame
    assert len(frame) == 1020
    assert set(frame["center"]) == {"center1", "center2"}
    assert frame["her2_category"].notna().all()
    assert cohort.n_patients < len(frame)
    multi = frame[frame["patient_id"].duplicated(keep=False)]
    assert (multi["lesion_number"] == "multiple").all()
    assert multi.groupby("patient_id")["her2_category"].nunique().max() == 1
    nme = frame[frame["lesion_type"] == "nme"]
    assert len(nme) > 0
    assert (nme["mass_shape"] == NOT_APPLICABLE).all()
    assert (frame.loc[frame["lesion_type"] == "mass", "nme_distribution"] == NOT_APPLICABLE).all()
    for column in ("ki67_percent", "adc_min", "eer", "t2_signal"):
        assert 0.01 < frame[column].isna().mean() < 0.08
    assert set(frame["her2_ihc"]) == {"0", "1+", "2+", "3+"}
    assert {"dfs_months", "dfs_event", "true_p_zero", "true_p_low", "true_p_positive", "exam_date"} <= set(frame)


def test_shipped_demo_cohort_true_posterior_auc_is_realistic() -> None:
    frame = load_demo_cohort().frame
    category = frame["her2_category"]
    auc_pos = roc_auc_score(category == "positive", frame["true_p_positive"])
    mask = category.isin(["zero", "low"])
    score = frame["true_p_low"] / (frame["true_p_low"] + frame["true_p_zero"])
    auc_low = roc_auc_score(category[mask] == "low", score[mask])
    assert 0.75 <= auc_pos <= 0.88
    assert 0.72 <= auc_low <= 0.85


def test_demo_survival_depends_on_subtype(large) -> None:
    rate = large.groupby("molecular_subtype")["dfs_event"].mean()
    assert rate["triple_negative"] > rate["luminal_a"]


def test_make_demo_cohort_rejects_negative_sizes() -> None:
    with pytest.raises(ValueError, match="'n_center1' parameter of make_demo_cohort"):
        make_demo_cohort(n_center1=-1)
