"""Univariate screen → multivariable logistic regression → stepwise selection (statsmodels ``Logit``).

Papers: Shen et al. (002) enter univariate p < 0.1 into a multivariable logistic regression; paper 004 fits a
multivariable LR on LASSO-selected variables, takes p < 0.1 into stepwise regression and keeps p < 0.05.
:class:`StepwiseLogisticSelector` reproduces that chain on the training fold:

1. univariate screen: keep features with p < ``entry_alpha`` (χ² for 0/1, Mann–Whitney otherwise);
2. cap at ``max_features`` by univariate p — by default one candidate per 10 events of the minority class
   (the events-per-variable rule), so the multivariable model is estimable;
3. stepwise on the candidates: ``criterion="aic"`` removes (``direction="backward"``) — and, with ``"both"``,
   also re-adds — the feature whose change lowers the AIC most, until no move lowers it (R ``MASS::stepAIC``);
   ``criterion="pvalue"`` removes the largest Wald p above ``stay_alpha`` and (``"both"``) adds the smallest
   p below ``entry_alpha``;
4. optional final step (``final_alpha``, e.g. 0.05 as in paper 004): backward elimination of the term with the
   largest Wald p until every kept term has p < ``final_alpha``.

Fits that fail (perfect separation, singular Hessian) count as infinitely bad (AIC = +inf).
Learned: ``candidates_`` (names after the screen), ``pvalues_`` (final Wald p, NaN for dropped), ``aic_``,
``scores_`` = −log10 univariate p.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np

from her2mri.exceptions import FitError
from her2mri.features._base import BaseSelector, univariate_pvalues

__all__ = ["StepwiseLogisticSelector", "logit_fit"]


def logit_fit(X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """AIC and Wald p-values (without intercept) of a logistic regression; (inf, NaNs) if the fit fails."""
    import statsmodels.api as sm

    design = sm.add_constant(X, has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = sm.Logit(y, design).fit(disp=0, method="newton", maxiter=100)
            pvalues = np.asarray(res.pvalues, dtype=float)[1:]
            aic = float(res.aic)
            converged = bool(res.mle_retvals.get("converged", True))
        except (np.linalg.LinAlgError, ValueError, OverflowError, ZeroDivisionError):
            return float("inf"), np.full(X.shape[1], np.nan)
    if not converged or not np.isfinite(aic) or not np.all(np.isfinite(pvalues)):
        return float("inf"), np.where(np.isfinite(pvalues), pvalues, np.nan)
    return aic, pvalues


class StepwiseLogisticSelector(BaseSelector):
    """Univariate p-screen, then stepwise multivariable logistic regression (see the module docstring)."""

    def __init__(
        self,
        entry_alpha: float = 0.1,
        stay_alpha: float = 0.05,
        criterion: Literal["aic", "pvalue"] = "aic",
        direction: Literal["backward", "both"] = "backward",
        max_features: int | None = None,
        max_steps: int = 100,
        final_alpha: float | None = None,
    ) -> None:
        self.entry_alpha = entry_alpha
        self.stay_alpha = stay_alpha
        self.criterion = criterion
        self.direction = direction
        self.max_features = max_features
        self.max_steps = max_steps
        self.final_alpha = final_alpha

    def _check_params(self) -> None:
        if self.criterion not in ("aic", "pvalue"):
            msg = f"The 'criterion' parameter of StepwiseLogisticSelector must be 'aic' or 'pvalue'. Got {self.criterion!r} instead."
            raise FitError(msg)
        if self.direction not in ("backward", "both"):
            msg = f"The 'direction' parameter of StepwiseLogisticSelector must be 'backward' or 'both'. Got {self.direction!r} instead."
            raise FitError(msg)
        if self.final_alpha is not None and not 0 < float(self.final_alpha) < 1:
            msg = (f"The 'final_alpha' parameter of StepwiseLogisticSelector must be None or a level in (0, 1). "
                   f"Got {self.final_alpha!r} instead.")
            raise FitError(msg)

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        self._check_params()
        p_uni = univariate_pvalues(X, y)
        scores = -np.log10(np.maximum(p_uni, 1e-300))
        classes = np.unique(y)
        mask = np.zeros(X.shape[1], dtype=bool)
        self.pvalues_ = np.full(X.shape[1], np.nan)
        self.aic_ = float("inf")
        self.candidates_ = np.array([], dtype=object)
        if classes.size != 2:
            return scores, mask
        yb = (y == classes[1]).astype(float)
        cap = self.max_features
        if cap is None:
            cap = max(1, int(min(np.bincount(yb.astype(int)))) // 10)
        varying = np.ptp(X, axis=0) > 0
        order = [j for j in np.argsort(p_uni, kind="stable") if p_uni[j] < self.entry_alpha and varying[j]]
        candidates = order[: int(cap)]
        names = getattr(self, "feature_names_in_", None)
        self.candidates_ = np.asarray(
            [names[j] if names is not None else f"x{j}" for j in candidates], dtype=object
        )
        if not candidates:
            return scores, mask
        current = list(candidates)
        aic, pv = logit_fit(X[:, current], yb)
        for _ in range(self.max_steps):
            move = self._step(X, yb, candidates, current, aic, pv)
            if move is None:
                break
            current, aic, pv = move
            if not current:
                break
        while self.final_alpha is not None and current:
            finite = np.where(np.isfinite(pv), pv, 1.0)
            if finite.max() < self.final_alpha:
                break
            current = [k for i, k in enumerate(current) if i != int(np.argmax(finite))]
            aic, pv = logit_fit(X[:, current], yb) if current else (_null_aic(yb), np.array([]))
        if current:
            mask[current] = True
            self.pvalues_[current] = pv
        self.aic_ = aic
        return scores, mask

    def _step(
        self, X: np.ndarray, y: np.ndarray, candidates: list[int], current: list[int], aic: float, pv: np.ndarray
    ) -> tuple[list[int], float, np.ndarray] | None:
        outside = [j for j in candidates if j not in current]
        if self.criterion == "aic":
            best: tuple[list[int], float, np.ndarray] | None = None
            moves = [[k for k in current if k != j] for j in current]
            if self.direction == "both":
                moves += [[*current, j] for j in outside]
            for trial in moves:
                if not trial:
                    trial_aic, trial_pv = _null_aic(y), np.array([])
                else:
                    trial_aic, trial_pv = logit_fit(X[:, trial], y)
                if trial_aic < (best[1] if best else aic) - 1e-9:
                    best = (trial, trial_aic, trial_pv)
            return best
        # p-value criterion
        finite = np.where(np.isfinite(pv), pv, 1.0)
        if current and finite.max() > self.stay_alpha:
            trial = [k for i, k in enumerate(current) if i != int(np.argmax(finite))]
            if not trial:
                return [], _null_aic(y), np.array([])
            trial_aic, trial_pv = logit_fit(X[:, trial], y)
            return trial, trial_aic, trial_pv
        if self.direction == "both" and outside:
            best_p, best_move = self.entry_alpha, None
            for j in outside:
                trial = [*current, j]
                trial_aic, trial_pv = logit_fit(X[:, trial], y)
                if np.isfinite(trial_pv[-1]) and trial_pv[-1] < best_p:
                    best_p, best_move = trial_pv[-1], (trial, trial_aic, trial_pv)
            return best_move
        return None


def _null_aic(y: np.ndarray) -> float:
    p = float(np.mean(y))
    if p in (0.0, 1.0):
        return 2.0
    loglik = float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return 2.0 - 2.0 * loglik
