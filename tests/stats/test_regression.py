"""Multivariable logistic regression against R's glm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from her2mri.exceptions import FitError
from her2mri.stats import logistic_regression


def test_logistic_regression_matches_r(r_ref, r_csv):
    """glm(y ~ x1 + x2 + shape, family = binomial): coefficients, SE, Wald p, exp(coef),
    exp(confint.default(fit)), AIC; shape reference level 'oval'."""
    d = r_csv("logistic")
    res = logistic_regression(d[["x1", "x2", "shape"]], d["y"], reference={"shape": "oval"})
    ref = r_ref["logistic"]
    r_names = {"(Intercept)": "(Intercept)", "x1": "x1", "x2": "x2", "shape=round": "shaperound",
               "shape=irregular": "shapeirregular"}
    order = [res.terms.index(next(k for k, v in r_names.items() if v == name)) for name in ref["terms"]]
    for ours, theirs in (("coef", "coef"), ("se", "se"), ("pvalue", "wald_p"), ("odds_ratio", "odds_ratio"),
                         ("or_ci_low", "or_wald_ci_lower"), ("or_ci_high", "or_wald_ci_upper")):
        assert_allclose(getattr(res, ours)[order], ref[theirs], rtol=1e-6, err_msg=ours)
    assert_allclose(res.aic, ref["aic"], rtol=1e-6)
    assert res.reference_levels == {"shape": "oval"}
    assert list(res.to_frame().columns) == ["term", "coef", "se", "z", "pvalue", "odds_ratio", "or_ci_low",
                                            "or_ci_high"]


def test_logistic_regression_categorical_order_sets_reference(r_csv):
    d = r_csv("logistic")
    X = d[["x1", "shape"]].assign(shape=pd.Categorical(d["shape"], ["round", "oval", "irregular"]))
    res = logistic_regression(X, d["y"])
    assert res.terms == ("(Intercept)", "x1", "shape=oval", "shape=irregular")


def test_logistic_regression_separation_raises_fit_error():
    X = pd.DataFrame({"adc_mean": [0.8, 0.9, 1.0, 1.4, 1.5, 1.6]})
    with pytest.raises(FitError, match="separation"):
        logistic_regression(X, [1, 1, 1, 0, 0, 0])


def test_logistic_regression_collinear_raises_fit_error():
    x = np.arange(10.0)
    X = pd.DataFrame({"a": x, "b": 2 * x})
    with pytest.raises(FitError, match="rank deficient"):
        logistic_regression(X, [0, 1] * 5)
