"""Firth-penalised logistic regression against R logistf on its sex2 example, and its behaviour on separation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import FitError
from her2mri.stats import logistic_regression
from her2mri.stats.firth import firth_logistic_regression, needs_firth

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def sex2() -> tuple[pd.DataFrame, pd.Series, dict]:
    data = pd.read_csv(REFERENCE / "sex2.csv")
    answers = json.loads((REFERENCE / "logistf_sex2.json").read_text(encoding="utf-8"))
    return data.drop(columns="case"), data["case"], answers


def test_coefficients_and_profile_cis_match_logistf(sex2) -> None:
    X, y, r = sex2
    result = firth_logistic_regression(X, y)
    assert list(result.terms) == r["terms"]
    # R prints 8 significant digits: agreement to 1e-6 relative is agreement to R's precision
    np.testing.assert_allclose(result.coef, r["coef"], rtol=1e-6)
    np.testing.assert_allclose(result.ci_low, r["ci_low"], rtol=1e-6)
    np.testing.assert_allclose(result.ci_high, r["ci_high"], rtol=1e-6)
    np.testing.assert_allclose(result.chisq, r["chisq"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(result.or_ci_low, np.exp(r["ci_low"]), rtol=1e-6)
    assert result.converged
    assert result.n == 239
    assert result.n_events == 130
    frame = result.to_frame()
    assert list(frame.columns) == ["term", "coef", "se", "chisq", "pvalue", "odds_ratio", "or_ci_low", "or_ci_high"]


def test_separation_breaks_ml_but_firth_gives_finite_odds_ratios() -> None:
    rng = np.random.default_rng(1)
    n = 120
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-x))).astype(int)
    rare = np.zeros(n)
    rare[np.flatnonzero(y == 1)[:6]] = 1  # a sparse level seen only in positive lesions
    X = pd.DataFrame({"x": x, "rare": rare})
    try:  # ML either refuses (separation detected) or returns a meaningless, huge odds ratio
        odds_ratio = logistic_regression(X, y).odds_ratio[2]
    except FitError as exc:
        message = str(exc)
        odds_ratio = None
    if odds_ratio is None:
        assert "separation" in message
    else:
        assert odds_ratio > 1e4
    assert needs_firth(X, y) == ["rare"]
    result = firth_logistic_regression(X, y)
    assert np.all(np.isfinite(result.coef))
    assert np.all(np.isfinite(result.ci_low))
    assert result.odds_ratio[2] > 1
    assert result.or_ci_low[2] > 1


def test_bad_input_is_a_clear_error() -> None:
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    with pytest.raises(FitError, match="3 rows but y has 2"):
        firth_logistic_regression(X, [0, 1])
