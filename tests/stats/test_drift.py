"""Feature drift between centres."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import FitError
from her2mri.stats.drift import feature_drift


def _centres() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Demo cohort centres (ADC and EER shifted in centre 2 by design); a stand-in without the cohort package."""
    try:
        from her2mri.cohort import validate_cohort
        from her2mri.cohort.demo import load_demo_cohort, make_demo_cohort
    except ImportError:
        rng = np.random.default_rng(11)

        def centre(n: int, shift: float) -> pd.DataFrame:
            return pd.DataFrame({
                "adc_min": rng.normal(1.0 + shift * 0.15, 0.2, n),
                "eer": rng.normal(1.2 + shift * 0.3, 0.4, n),
                "tumor_size_mm": rng.normal(25, 8, n),
                "age": rng.normal(52, 10, n),
                "mass_shape": rng.choice(["oval", "round", "irregular"], n),
                "tic_type": rng.choice(["1", "2", "3"], n),
            })

        a, b = centre(700, 0.0), centre(300, 1.0)
        return a, b, list(a.columns)
    try:
        frame = load_demo_cohort().frame
    except FileNotFoundError:
        frame = validate_cohort(make_demo_cohort()).frame
    features = [c for c in ("adc_min", "adc_mean", "eer", "tumor_size_mm", "age", "mass_shape", "tic_type",
                            "ki67_percent", "lesion_type") if c in frame.columns]
    return frame[frame.center == "center1"], frame[frame.center == "center2"], features


def test_feature_drift_demo_centres_ranks_adc_and_eer_first() -> None:
    a, b, features = _centres()
    res = feature_drift(a, b, features, label_a="center1", label_b="center2")
    assert set(res.top(2)) <= {"adc_min", "adc_mean", "eer"}
    effects = [f.effect_size for f in res.features]
    assert effects == sorted(effects, reverse=True)
    top = res.features[0]
    assert top.pvalue_adjusted >= top.pvalue
    assert top.pvalue_adjusted < 0.001
    json.dumps(res.to_dict())
    assert {"feature", "kind", "smd", "cramers_v", "pvalue_adjusted"} <= set(res.to_frame().columns)


def test_feature_drift_categorical_uses_cramers_v() -> None:
    a = pd.DataFrame({"x": ["p"] * 50 + ["q"] * 50})
    b = pd.DataFrame({"x": ["p"] * 90 + ["q"] * 10})
    f = feature_drift(a, b, ["x"]).features[0]
    assert f.kind == "categorical"
    table = np.array([[50, 90], [50, 10]])
    from scipy.stats import chi2_contingency

    chi2 = chi2_contingency(table, correction=False)[0]
    assert f.cramers_v == pytest.approx(np.sqrt(chi2 / 200))


def test_feature_drift_identical_numeric_has_zero_smd() -> None:
    a = pd.DataFrame({"x": np.arange(20.0)})
    f = feature_drift(a, a.copy(), ["x"]).features[0]
    assert f.smd == pytest.approx(0.0)
    assert f.ks_statistic == pytest.approx(0.0)


def test_feature_drift_unknown_feature_raises() -> None:
    with pytest.raises(FitError, match="not columns of both"):
        feature_drift(pd.DataFrame({"x": [1.0]}), pd.DataFrame({"y": [1.0]}), ["x"])
