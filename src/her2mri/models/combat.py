"""ComBat harmonisation of quantitative / radiomic features by centre (batch), fitted without labels.

Implementation: our own parametric empirical-Bayes ComBat (Johnson, Li & Rabinovic, Biostatistics 2007;
Fortin et al., NeuroImage 2018) with a batch-only design. neuroCombat 0.2.12's ``neuroCombat()`` runs under
numpy 2.4 / pandas 2.3, but its ``neuroCombatFromTraining()`` (needed to apply estimates to new lesions) fails
there (``int()`` of a 1-element array), and neither handles missing values. We therefore estimate the
parameters ourselves, with exactly neuroCombat's estimators, and the test-suite checks that our harmonised
training data equal ``neuroCombat(dat, covars, batch_col)['data']`` (eb, parametric, and eb=False). Applying to
new lesions of a known centre follows ``neuroCombatFromTraining`` semantics: standardise with the training grand
mean and pooled variance, remove the centre's γ*, δ*, and map back.

Model per feature g and batch i: ``y = α_g + γ_ig + δ_ig ε``. With ``n`` lesions, the grand mean α̂ is the
sample-size-weighted mean of the batch means, the pooled variance σ̂² the mean squared residual about the batch
means (divisor n), standardised data ``s = (y − α̂)/σ̂``; γ̂_i and δ̂²_i are the batch mean and variance (ddof 1) of
``s``; the EB step shrinks them towards normal / inverse-gamma priors whose hyper-parameters are moment
estimates across features (iterated to a relative change < 1e-4). Harmonised ``y* = σ̂ (s − γ*_i)/δ*_i + α̂``.

Leakage rules (domain notes §4.6):

* The HER2 label is never an input: ``fit(X, y=None)`` ignores ``y`` (accepted only for Pipeline
  compatibility) and no biological covariates are modelled.
* Fit on training lesions only. An external centre can be harmonised only if its *unlabelled* feature values are
  supplied at fit time (``fit(X, X_unlabelled=...)`` or the ``unlabelled_data`` parameter, the transductive
  option); the centres used are recorded in ``batches_`` / ``unlabelled_batches_``.
* Applying to a centre not seen at fit raises :class:`~her2mri.exceptions.FitError` (``on_unseen="raise"``) or
  passes the lesions through unchanged with a :class:`~her2mri.exceptions.Her2MriWarning`
  (``on_unseen="pass_through"``).

Missing values (NaN) are skipped in every estimate and stay NaN in the output.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from her2mri.exceptions import FitError, Her2MriWarning

__all__ = ["ComBatHarmonizer", "combat_estimates"]


def _postmean(g_hat: np.ndarray, g_bar: float, n: np.ndarray, d_star: np.ndarray, t2: float) -> np.ndarray:
    return (t2 * n * g_hat + d_star * g_bar) / (t2 * n + d_star)


def _postvar(sum2: np.ndarray, n: np.ndarray, a: float, b: float) -> np.ndarray:
    return (0.5 * sum2 + b) / (n / 2.0 + a - 1.0)


def _it_sol(
    sdat: np.ndarray, g_hat: np.ndarray, d_hat: np.ndarray, g_bar: float, t2: float, a: float, b: float,
    conv: float = 1e-4, max_iter: int = 10_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Iterate the EB posterior means (features × lesions-of-one-batch ``sdat``), as neuroCombat's ``it_sol``."""
    n = np.isfinite(sdat).sum(axis=1).astype(float)
    g_old, d_old = g_hat.copy(), d_hat.copy()
    for _ in range(max_iter):
        g_new = _postmean(g_hat, g_bar, n, d_old, t2)
        sum2 = np.nansum((sdat - g_new[:, None]) ** 2, axis=1)
        d_new = _postvar(sum2, n, a, b)
        with np.errstate(divide="ignore", invalid="ignore"):
            # as sva::it.sol and neuroCombat: relative change divided by the signed previous value
            change = max(np.nanmax(np.abs(g_new - g_old) / g_old), np.nanmax(np.abs(d_new - d_old) / d_old))
        g_old, d_old = g_new, d_new
        if not change > conv:
            break
    return g_old, d_old


def combat_estimates(
    data: np.ndarray, batch: Sequence[Any] | np.ndarray, *, eb: bool = True, mean_only: bool = False
) -> dict[str, Any]:
    """Estimate ComBat parameters from ``data`` (lesions × features) and batch labels; no outcome is used.

    Returns a dict with ``batches``, ``grand_mean``, ``var_pooled``, ``gamma_hat``, ``delta_hat``,
    ``gamma_star``, ``delta_star`` (batch × feature arrays) and ``n_per_batch``.
    """
    x = np.asarray(data, dtype=float)
    labels = np.asarray(batch, dtype=object).astype(str)
    batches = np.unique(labels)
    n_feat = x.shape[1]
    n_obs = np.isfinite(x)
    counts = np.array([(labels == b).sum() for b in batches])
    if np.any(counts < 2):
        small = [str(b) for b, c in zip(batches, counts, strict=True) if c < 2]
        msg = f"ComBat: centre(s) {small} have fewer than 2 lesions; each centre needs at least 2 to estimate its scale."
        raise FitError(msg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature entirely missing in one centre
        batch_means = np.vstack([np.nanmean(x[labels == b], axis=0) for b in batches])
    n_bg = np.vstack([n_obs[labels == b].sum(axis=0) for b in batches]).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        grand_mean = np.nansum(n_bg * np.nan_to_num(batch_means), axis=0) / n_bg.sum(axis=0)
        fitted = np.nan_to_num(batch_means)[np.searchsorted(batches, labels)]
        var_pooled = np.nanmean((x - fitted) ** 2, axis=0)
    var_pooled = np.where(np.isfinite(var_pooled) & (var_pooled > 0), var_pooled, 1.0)
    s = (x - grand_mean) / np.sqrt(var_pooled)
    gamma_hat = np.vstack([np.nanmean(s[labels == b], axis=0) for b in batches])
    if mean_only:
        delta_hat = np.ones((batches.size, n_feat))
    else:
        delta_hat = np.vstack([np.nanvar(s[labels == b], axis=0, ddof=1) for b in batches])
        delta_hat = np.where(np.isfinite(delta_hat) & (delta_hat != 0), delta_hat, 1.0)
    gamma_hat = np.nan_to_num(gamma_hat)
    is_eb = eb and n_feat >= 2
    if is_eb:
        gamma_star = np.empty_like(gamma_hat)
        delta_star = np.empty_like(delta_hat)
        for i, b in enumerate(batches):
            g_bar = float(np.mean(gamma_hat[i]))
            t2 = float(np.var(gamma_hat[i], ddof=1))
            if mean_only:
                gamma_star[i] = _postmean(gamma_hat[i], g_bar, np.ones(n_feat), np.ones(n_feat), t2)
                delta_star[i] = 1.0
                continue
            m, s2 = float(np.mean(delta_hat[i])), float(np.var(delta_hat[i], ddof=1))
            if s2 <= 0:
                gamma_star[i], delta_star[i] = gamma_hat[i], delta_hat[i]
                continue
            a_prior = (2 * s2 + m**2) / s2
            b_prior = (m * s2 + m**3) / s2
            gamma_star[i], delta_star[i] = _it_sol(
                s[labels == b].T, gamma_hat[i], delta_hat[i], g_bar, t2, a_prior, b_prior
            )
    else:
        gamma_star, delta_star = gamma_hat.copy(), delta_hat.copy()
    return {
        "batches": batches,
        "grand_mean": grand_mean,
        "var_pooled": var_pooled,
        "gamma_hat": gamma_hat,
        "delta_hat": delta_hat,
        "gamma_star": gamma_star,
        "delta_star": delta_star,
        "n_per_batch": dict(zip(batches.tolist(), counts.tolist(), strict=True)),
        "eb": is_eb,
    }


class ComBatHarmonizer(TransformerMixin, BaseEstimator):
    """Harmonise feature columns of a cohort DataFrame by centre with ComBat (see the module docstring).

    Parameters
    ----------
    batch_column
        Column holding the centre (batch) label; kept unchanged in the output.
    features
        Columns to harmonise; ``None`` = every numeric column that is not 0/1-only.
    eb
        Empirical-Bayes shrinkage (``False`` gives the non-EB "location/scale" ComBat).
    mean_only
        Adjust only the centre means, not the variances.
    unlabelled_data
        Optional DataFrame of extra lesions (e.g. an external centre) whose *feature values and centre only* are
        pooled into the fit (transductive option). Never pass labels; they are not read.
    on_unseen
        What to do with lesions from a centre not seen at fit: ``"raise"`` or ``"pass_through"`` (warns).
    """

    def __init__(
        self,
        batch_column: str = "center",
        features: Sequence[str] | None = None,
        eb: bool = True,
        mean_only: bool = False,
        unlabelled_data: pd.DataFrame | None = None,
        on_unseen: Literal["raise", "pass_through"] = "raise",
    ) -> None:
        self.batch_column = batch_column
        self.features = features
        self.eb = eb
        self.mean_only = mean_only
        self.unlabelled_data = unlabelled_data
        self.on_unseen = on_unseen

    def _check_frame(self, X: Any, where: str) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame) or self.batch_column not in X.columns:
            msg = (
                f"ComBatHarmonizer.{where}: expected a DataFrame with the centre column '{self.batch_column}'; "
                f"got {type(X).__name__}. Keep the centre column in the frame passed to the pipeline."
            )
            raise FitError(msg)
        return X

    def _feature_columns(self, frame: pd.DataFrame) -> list[str]:
        if self.features is not None:
            missing = [c for c in self.features if c not in frame.columns]
            if missing:
                msg = f"ComBatHarmonizer: feature column(s) {missing} are not in the data; fix 'features'."
                raise FitError(msg)
            return list(self.features)
        cols = []
        for col in frame.columns:
            if col == self.batch_column or not pd.api.types.is_numeric_dtype(frame[col]):
                continue
            if set(pd.unique(frame[col].dropna())) <= {0, 1}:
                continue
            cols.append(col)
        return cols

    def fit(self, X: pd.DataFrame, y: Any = None, *, X_unlabelled: pd.DataFrame | None = None) -> ComBatHarmonizer:
        """Estimate the centre effects from ``X`` (plus unlabelled lesions, if given). ``y`` is ignored."""
        if self.on_unseen not in ("raise", "pass_through"):
            msg = f"The 'on_unseen' parameter of ComBatHarmonizer must be 'raise' or 'pass_through'. Got {self.on_unseen!r} instead."
            raise FitError(msg)
        frame = self._check_frame(X, "fit")
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        cols = self._feature_columns(frame)
        extra = X_unlabelled if X_unlabelled is not None else self.unlabelled_data
        values = frame[cols].to_numpy(dtype=float)
        batch = frame[self.batch_column].astype(str).to_numpy()
        self.training_batches_ = tuple(sorted(set(batch.tolist())))
        unlabelled: tuple[str, ...] = ()
        if extra is not None:
            extra = self._check_frame(extra, "fit (unlabelled data)")
            missing = [c for c in cols if c not in extra.columns]
            if missing:
                msg = f"ComBatHarmonizer: unlabelled data lack feature column(s) {missing}."
                raise FitError(msg)
            extra_batch = extra[self.batch_column].astype(str).to_numpy()
            values = np.vstack([values, extra[cols].to_numpy(dtype=float)])
            batch = np.concatenate([batch, extra_batch])
            unlabelled = tuple(sorted(set(extra_batch.tolist())))
        est = combat_estimates(values, batch, eb=self.eb, mean_only=self.mean_only)
        self.harmonized_features_ = tuple(cols)
        self.batches_ = tuple(str(b) for b in est["batches"])
        self.unlabelled_batches_ = unlabelled
        self.n_per_batch_ = est["n_per_batch"]
        self.grand_mean_ = est["grand_mean"]
        self.var_pooled_ = est["var_pooled"]
        self.gamma_star_ = est["gamma_star"]
        self.delta_star_ = est["delta_star"]
        self.is_eb_ = bool(est["eb"])
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "gamma_star_")
        frame = self._check_frame(X, "transform").copy()
        cols = list(self.harmonized_features_)
        batch = frame[self.batch_column].astype(str).to_numpy()
        unseen = sorted(set(batch.tolist()) - set(self.batches_))
        if unseen and self.on_unseen == "raise":
            msg = (
                f"ComBatHarmonizer: centre(s) {unseen} were not seen at fit (fitted centres: {list(self.batches_)}). "
                "A new centre cannot be harmonised without its own data: refit with its unlabelled feature values "
                "(fit(..., X_unlabelled=...) or unlabelled_data=...), or set on_unseen='pass_through'."
            )
            raise FitError(msg)
        if unseen:
            warnings.warn(
                f"ComBatHarmonizer: lesions of centre(s) {unseen} passed through unharmonised (centre not seen at fit).",
                Her2MriWarning,
                stacklevel=2,
            )
        values = frame[cols].to_numpy(dtype=float)
        sd = np.sqrt(self.var_pooled_)
        out = values.copy()
        for i, b in enumerate(self.batches_):
            rows = batch == b
            if not rows.any():
                continue
            s = (values[rows] - self.grand_mean_) / sd
            out[rows] = (s - self.gamma_star_[i]) / np.sqrt(self.delta_star_[i]) * sd + self.grand_mean_
        frame[cols] = out
        return frame

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "gamma_star_")
        return np.asarray(self.feature_names_in_, dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags
