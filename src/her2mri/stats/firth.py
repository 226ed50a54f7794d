"""Firth-penalised logistic regression (R ``logistf``) for separation and sparse levels.

Maximum likelihood breaks down when a predictor (often a rare categorical level) separates the classes
completely or quasi-completely: estimates run off to infinity and :func:`her2mri.stats.logistic_regression`
refuses with a :class:`~her2mri.exceptions.FitError`. Firth's penalty (Jeffreys prior, ``½·log|I(β)|`` added to
the log-likelihood) keeps the estimates finite and removes their first-order bias (Firth 1993; Heinze & Schemper
2002).

The fitting is done by ``firthmodels`` (MIT, Newton–Raphson with step-halving, as ``logistf``); this module adds
the project's input checks, the categorical design (same coding as :func:`~her2mri.stats.logistic_regression`),
and a result dataclass. Inference follows ``logistf``'s defaults: **profile penalised-likelihood** confidence
intervals and **penalised likelihood-ratio** χ² tests (1 df) per term; Wald SEs are reported as well.

Checked against R ``logistf`` 1.24 on its ``sex2`` data (``tests/reference/sex2.csv``): coefficients and profile
CIs agree to 1e-6 relative (the printed precision of R's answers).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from her2mri.exceptions import FitError
from her2mri.stats._checks import check_conf_level
from her2mri.stats.regression import logistic_design
from her2mri.stats.results import _ResultMixin

__all__ = ["FirthResult", "firth_logistic_regression", "needs_firth"]


@dataclass(frozen=True, eq=False)
class FirthResult(_ResultMixin):
    """Firth logistic regression: coefficients, Wald SEs, penalised-LR χ² and p, profile-likelihood CIs."""

    terms: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    chisq: np.ndarray
    pvalue: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    odds_ratio: np.ndarray
    or_ci_low: np.ndarray
    or_ci_high: np.ndarray
    n: int
    n_events: int
    loglik: float
    converged: bool
    conf_level: float = 0.95
    method: str = "Firth penalised likelihood (logistf); profile penalised-likelihood CIs, penalised LR tests"
    reference_levels: Mapping[str, str] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"term": list(self.terms), "coef": self.coef, "se": self.se, "chisq": self.chisq,
                             "pvalue": self.pvalue, "odds_ratio": self.odds_ratio,
                             "or_ci_low": self.or_ci_low, "or_ci_high": self.or_ci_high})


def needs_firth(X: pd.DataFrame, y: Any, *, min_count: int = 5) -> list[str]:
    """Columns of a numeric design whose 0/1 dummy has fewer than ``min_count`` lesions of either class among
    its ones (sparse levels: ML estimates unstable or infinite). An empty list means ML is safe on that count.
    """
    yy = np.asarray(y, dtype=int)
    sparse = []
    for column in X.columns:
        values = X[column].to_numpy(dtype=float)
        if not np.all(np.isin(values[np.isfinite(values)], (0.0, 1.0))):
            continue
        ones = values == 1
        if min(int(np.sum(ones & (yy == 1))), int(np.sum(ones & (yy == 0)))) < min_count:
            sparse.append(str(column))
    return sparse


def firth_logistic_regression(X: pd.DataFrame, y: Any, *, categorical: Sequence[str] | None = None,
                              reference: Mapping[str, Any] | None = None, conf_level: float = 0.95,
                              max_iter: int = 100, tol: float = 1e-8) -> FirthResult:
    """Fit ``logit P(y = 1) = β0 + Xβ`` by Firth-penalised likelihood.

    Rows with a missing predictor are dropped (complete cases). Categorical columns are coded as in
    :func:`~her2mri.stats.logistic_regression`. R equivalent: ``logistf(y ~ ., data)`` (its ``coefficients``,
    ``ci.lower``/``ci.upper`` and ``prob``).
    """
    where = "firth_logistic_regression"
    conf_level = check_conf_level(conf_level, where)
    design, yy, refs = logistic_design(X, y, where, categorical=categorical, reference=reference)
    exog = design.to_numpy(dtype=float)
    if np.linalg.matrix_rank(np.column_stack([np.ones(len(exog)), exog])) < exog.shape[1] + 1:
        msg = (f"{where}: the design matrix is rank deficient (collinear predictors or a constant column) among "
               f"{list(map(str, design.columns))}; drop redundant columns.")
        raise FitError(msg)
    from firthmodels import FirthLogisticRegression

    model = FirthLogisticRegression(max_iter=max_iter, gtol=tol, xtol=tol)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(exog, yy)
        if not model.converged_:
            msg = (f"{where}: Newton–Raphson did not converge in {max_iter} iterations (tolerance {tol:g}); "
                   "accepted: a larger max_iter or a looser tol.")
            raise FitError(msg)
        model.lrt()
        ci = model.conf_int(alpha=1 - conf_level, method="pl", max_iter=max_iter, tol=tol)
    del caught
    # firthmodels orders features first and the intercept last; R and this package put the intercept first
    order = np.r_[exog.shape[1], np.arange(exog.shape[1])]
    coef = np.r_[model.coef_, model.intercept_][order]
    se = np.asarray(model.bse_, dtype=float)[order]
    pvalue = np.asarray(model.lrt_pvalues_, dtype=float)[order]
    chisq = sps.chi2.isf(np.clip(pvalue, 1e-300, 1.0), df=1)
    ci = np.asarray(ci, dtype=float)[order]
    with np.errstate(over="ignore"):
        or_low, or_high = np.exp(ci[:, 0]), np.exp(ci[:, 1])
    return FirthResult(terms=("(Intercept)", *map(str, design.columns)), coef=coef, se=se, chisq=chisq,
                       pvalue=pvalue, ci_low=ci[:, 0], ci_high=ci[:, 1], odds_ratio=np.exp(coef),
                       or_ci_low=or_low, or_ci_high=or_high, n=int(yy.size), n_events=int(yy.sum()),
                       loglik=float(model.loglik_), converged=bool(model.converged_), conf_level=conf_level,
                       reference_levels=refs)
