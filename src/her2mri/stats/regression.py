"""Multivariable logistic regression with Wald inference and odds ratios (R ``glm(family = binomial)``).

Categorical predictors (object, string, category or bool columns, or those named in ``categorical``) are
one-hot encoded with a reference level left out: the first category of a pandas ``Categorical``, otherwise the
first level in sorted order, or the level given in ``reference={"column": "level"}``. Dummy columns are named
``<column>=<level>`` (R: ``<column><level>``). The intercept term is called ``(Intercept)`` as in R.

Odds-ratio CIs are Wald intervals ``exp(β ± z·SE)`` (R ``exp(confint.default(fit))``), not profile-likelihood
intervals (R ``confint(fit)``). Complete or quasi-complete separation makes maximum-likelihood estimates
infinite; it is reported as a :class:`her2mri.exceptions.FitError` naming the suspect terms rather than
returned as huge, meaningless odds ratios (use Firth's penalised regression in that case).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from her2mri.exceptions import FitError
from her2mri.stats._checks import as_binary, as_float_array, check_both_classes, check_conf_level
from her2mri.stats.results import LogisticResult

__all__ = ["design_matrix", "logistic_design", "logistic_regression"]


def _is_cat(series: pd.Series) -> bool:
    return (isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object or series.dtype == bool
            or pd.api.types.is_string_dtype(series.dtype))


def design_matrix(X: pd.DataFrame, *, categorical: Sequence[str] | None = None,
                  reference: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Numeric design matrix (no intercept) with one-hot categorical columns; returns it and the reference levels."""
    if not isinstance(X, pd.DataFrame):
        msg = f"design_matrix: 'X' must be a pandas DataFrame; got {type(X).__name__}."
        raise FitError(msg)
    try:
        forced = set(categorical or ())
        reference = dict(reference or {})
    except (TypeError, ValueError):
        msg = (f"design_matrix: 'categorical' must be a list of column names and 'reference' a mapping "
               f"column → level; got {categorical!r:.60} and {reference!r:.60}.")
        raise FitError(msg) from None
    parts: list[pd.DataFrame] = []
    refs: dict[str, str] = {}
    for col in X.columns:
        s = X[col]
        if col in forced or _is_cat(s):
            if isinstance(s.dtype, pd.CategoricalDtype):
                levels = [c for c in s.cat.categories if (s == c).any()]
            else:
                try:
                    levels = sorted(s.dropna().unique().tolist(), key=str)
                except TypeError:
                    msg = (f"design_matrix: column {col!r} holds non-scalar values (lists, dicts); accepted: "
                           "numbers or category labels.")
                    raise FitError(msg) from None
            ref = reference.get(col, levels[0] if levels else None)
            if ref not in levels:
                msg = (f"logistic_regression: reference level {ref!r} of column {col!r} is not among its levels "
                       f"{levels}; pass one of them in reference={{'{col}': ...}}.")
                raise FitError(msg)
            refs[str(col)] = str(ref)
            dummies = {f"{col}={lv}": (s == lv).astype(float).where(s.notna()) for lv in levels if lv != ref}
            parts.append(pd.DataFrame(dummies, index=X.index))
        else:
            parts.append(pd.to_numeric(s, errors="coerce").astype(float).to_frame(str(col)))
    design = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=X.index)
    return design, refs


def _glm_logit(y: np.ndarray, x: np.ndarray, max_iter: int = 25,
               epsilon: float = 1e-8) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, bool]:
    """IRLS exactly as R's ``glm.fit`` (binomial, logit): start ``mu = (y + 0.5)/2``, stop when
    ``|dev − dev_old|/(|dev| + 0.1) < epsilon``; the covariance comes from the last weighted least-squares
    step (weights of the previous iterate), as ``summary.glm`` does, so SEs agree with R to ~1e-10."""
    mu = (y + 0.5) / 2
    eta = np.log(mu / (1 - mu))
    dev_old = np.inf
    beta = np.zeros(x.shape[1])
    cov = np.full((x.shape[1], x.shape[1]), np.nan)
    converged = False
    dev = np.inf
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(max_iter):
            mu_eta = mu * (1 - mu)
            z = eta + (y - mu) / mu_eta
            w = mu_eta
            xtw = x.T * w
            try:
                cov = np.linalg.inv(xtw @ x)
            except np.linalg.LinAlgError:
                break
            beta = cov @ (xtw @ z)
            eta = x @ beta
            mu = 1.0 / (1.0 + np.exp(-eta))
            mu = np.clip(mu, np.finfo(float).eps, 1 - np.finfo(float).eps / 2)
            dev = float(-2 * np.sum(y * np.log(np.where(y > 0, mu, 1.0)) + (1 - y) * np.log(
                np.where(y < 1, 1 - mu, 1.0))))
            if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
                converged = True
                break
            dev_old = dev
    se = np.sqrt(np.diag(cov))
    return beta, se, 1.0 / (1.0 + np.exp(-(x @ beta))), dev, converged


def logistic_design(X: Any, y: Any, where: str, *, categorical: Sequence[str] | None = None,
                    reference: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    """The complete-case design matrix (categorical columns dummy-coded), the 0/1 outcome and the reference
    levels of a logistic model, with the checks every logistic fit of this package shares."""
    if not isinstance(X, pd.DataFrame):
        arr = as_float_array(X, "X", where)
        if arr.ndim not in (1, 2):
            msg = f"{where}: 'X' must be a DataFrame or a 1-D/2-D array of numbers; got shape {arr.shape}."
            raise FitError(msg)
        X = pd.DataFrame(arr).rename(columns=lambda i: f"x{i + 1}")
    yy = as_binary(y, where, name="y")
    if len(X) != yy.size:
        msg = f"{where}: 'X' has {len(X)} rows but y has {yy.size} entries; pass aligned data."
        raise FitError(msg)
    design, refs = design_matrix(X, categorical=categorical, reference=reference)
    complete = design.notna().all(axis=1).to_numpy()
    design = design[complete]
    yy = yy[complete]
    check_both_classes(yy, where)
    return design, yy, refs


def logistic_regression(X: pd.DataFrame, y: Any, *, categorical: Sequence[str] | None = None,
                        reference: Mapping[str, Any] | None = None, conf_level: float = 0.95) -> LogisticResult:
    """Fit ``logit P(y = 1) = β0 + Xβ`` by maximum likelihood (statsmodels GLM, IRLS).

    Rows with a missing predictor are dropped (complete-case analysis, as R's ``na.omit``).
    Returns coefficients, SEs, Wald z and p, odds ratios with Wald CIs, n, events and AIC.

    R equivalent: ``summary(glm(y ~ ., data, family = binomial))$coefficients`` and
    ``exp(confint.default(fit))``.
    """
    where = "logistic_regression"
    conf_level = check_conf_level(conf_level, where)
    design, yy, refs = logistic_design(X, y, where, categorical=categorical, reference=reference)
    terms = ["(Intercept)", *map(str, design.columns)]
    exog = np.column_stack([np.ones(len(design)), design.to_numpy(dtype=float)])
    if np.linalg.matrix_rank(exog) < exog.shape[1]:
        msg = (f"{where}: the design matrix is rank deficient (collinear predictors or a constant column) among "
               f"{terms[1:]}; drop redundant columns.")
        raise FitError(msg)
    coef, se, mu, deviance, converged = _glm_logit(yy.astype(float), exog)
    eps10 = 10 * np.finfo(float).eps
    near = (mu < 1e-8) | (mu > 1 - 1e-8)
    scaled_se = se[1:] * exog[:, 1:].std(axis=0)
    boundary = (bool(np.any((mu < eps10) | (mu > 1 - eps10))) or deviance < 1e-6 * yy.size
                or (bool(np.any(near)) and bool(np.any(scaled_se > 20))))
    if not converged or boundary or not np.all(np.isfinite(se)):
        suspects = [t for t, c in zip(terms[1:], coef[1:], strict=True) if abs(c) > 10] or terms[1:]
        msg = (f"{where}: complete or quasi-complete separation (fitted probabilities numerically 0 or 1"
               f"{'' if converged else ', no convergence in 25 iterations'}) — predictor(s) {suspects} "
               "predict the outcome (almost) perfectly, so maximum-likelihood odds ratios are infinite. Remove "
               "or merge sparse levels, or use a penalised (Firth) model.")
        raise FitError(msg)
    z = coef / se
    p = 2 * sps.norm.sf(np.abs(z))
    zc = sps.norm.ppf(1 - (1 - conf_level) / 2)
    with np.errstate(over="ignore"):
        ci_low, ci_high = np.exp(coef - zc * se), np.exp(coef + zc * se)
    return LogisticResult(terms=tuple(terms), coef=coef, se=se, z=z, pvalue=p, odds_ratio=np.exp(coef),
                          or_ci_low=ci_low, or_ci_high=ci_high, n=int(yy.size),
                          n_events=int(yy.sum()), aic=float(deviance + 2 * exog.shape[1]), conf_level=conf_level,
                          reference_levels=refs)
