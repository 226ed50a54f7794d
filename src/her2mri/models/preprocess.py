"""Preprocessing of canonical cohort columns, fitted inside the training folds only.

:class:`CohortPreprocessor` turns a DataFrame of canonical cohort columns into a numeric design matrix:

* numeric columns: median imputation, then z-scoring (``StandardScaler``) when ``scale=True``;
* binary (yes/no, 1.0/0.0) columns: imputation by the training mode, kept as 0/1 (not scaled, so that
  coefficients read as odds ratios for "yes");
* categorical columns: missing values (NaN) imputed by the training mode *among applicable values*; the
  structural level ``"not_applicable"`` (mass descriptors on pure non-mass lesions and vice versa) is a real
  level of its own and is never imputed nor used as an imputation value; then one-hot encoding with every
  level kept. Categories unseen in training encode as all zeros at transform time, without an error.

Columns not named in ``numeric``, ``categorical`` or ``binary`` are dropped (ids, labels, centre, truth
columns). The output is a pandas DataFrame with the names from :meth:`get_feature_names_out` (numeric and
binary columns keep their cohort names; one-hot columns are ``<column>_<level>``).

:class:`ComBatHarmonizer` (re-exported here, defined in :mod:`her2mri.models.combat`) harmonises radiomic
features by centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from her2mri.exceptions import FitError
from her2mri.models.combat import ComBatHarmonizer

__all__ = ["NOT_APPLICABLE", "CohortPreprocessor", "ComBatHarmonizer", "infer_column_kinds"]

NOT_APPLICABLE = "not_applicable"


def infer_column_kinds(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Split columns into numeric / categorical / binary by dtype and values (0/1-only numeric → binary)."""
    out: dict[str, list[str]] = {"numeric": [], "categorical": [], "binary": []}
    for col in columns if columns is not None else frame.columns:
        series = frame[col]
        if pd.api.types.is_bool_dtype(series):
            out["binary"].append(col)
        elif pd.api.types.is_numeric_dtype(series):
            values = set(pd.unique(series.dropna()))
            out["binary" if values and values <= {0, 1} else "numeric"].append(col)
        else:
            out["categorical"].append(col)
    return out


class _ApplicableModeImputer(TransformerMixin, BaseEstimator):
    """Mode imputation of string categories that ignores the ``not_applicable`` level when counting."""

    def __init__(self, not_applicable: str = NOT_APPLICABLE) -> None:
        self.not_applicable = not_applicable

    def fit(self, X: Any, y: Any = None) -> _ApplicableModeImputer:
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        modes = []
        for col in frame.columns:
            values = frame[col].dropna().astype(str)
            applicable = values[values != self.not_applicable]
            counts = (applicable if applicable.size else values).value_counts()
            # ties resolve to the alphabetically first level for determinism
            if counts.size:
                best = counts[counts == counts.max()].index.sort_values()[0]
            else:
                best = "missing"
            modes.append(str(best))
        self.modes_ = modes
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "modes_")
        frame = pd.DataFrame(X).copy()
        frame.columns = list(self.feature_names_in_)
        for col, mode in zip(frame.columns, self.modes_, strict=True):
            series = frame[col].astype(object)
            frame[col] = series.where(series.notna(), mode).astype(str)
        return frame

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.feature_names_in_, dtype=object)


class CohortPreprocessor(TransformerMixin, BaseEstimator):
    """Impute, one-hot encode and scale canonical cohort columns (see the module docstring).

    Parameters
    ----------
    numeric, categorical, binary
        Column names of each kind. ``None`` for all three infers the kinds from the training frame's dtypes
        (every column is used, so pass only feature columns in that case).
    scale
        Z-score numeric columns with the training mean and SD.
    """

    def __init__(
        self,
        numeric: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        binary: Sequence[str] | None = None,
        scale: bool = True,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.binary = binary
        self.scale = scale

    def _kinds(self, frame: pd.DataFrame) -> dict[str, list[str]]:
        if self.numeric is None and self.categorical is None and self.binary is None:
            return infer_column_kinds(frame)
        kinds = {
            "numeric": list(self.numeric or []),
            "categorical": list(self.categorical or []),
            "binary": list(self.binary or []),
        }
        wanted = [c for cols in kinds.values() for c in cols]
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            msg = (
                f"CohortPreprocessor: column(s) {missing} are not in the data (it has {len(frame.columns)} "
                "columns); pass a frame with canonical cohort column names or fix the column lists."
            )
            raise FitError(msg)
        if len(set(wanted)) != len(wanted):
            dup = sorted({c for c in wanted if wanted.count(c) > 1})
            msg = f"CohortPreprocessor: column(s) {dup} are listed under more than one kind; list each once."
            raise FitError(msg)
        if not wanted:
            msg = "CohortPreprocessor: no feature columns given; pass numeric, categorical and/or binary names."
            raise FitError(msg)
        return kinds

    def fit(self, X: pd.DataFrame, y: Any = None) -> CohortPreprocessor:
        frame = self._as_frame(X)
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = frame.shape[1]
        kinds = self._kinds(frame)
        numeric, binary, categorical = self._blocks(frame, kinds)
        self.numeric_ = None
        if numeric is not None:
            steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median", keep_empty_features=True))]
            if self.scale:
                steps.append(("scale", StandardScaler()))
            self.numeric_ = Pipeline(steps).fit(numeric)
        self.binary_ = (
            SimpleImputer(strategy="most_frequent", keep_empty_features=True).fit(binary) if binary is not None else None
        )
        self.categorical_ = None
        names: list[str] = [*kinds["numeric"], *kinds["binary"]]
        if categorical is not None:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
            self.categorical_ = Pipeline([("impute", _ApplicableModeImputer()), ("onehot", encoder)]).fit(categorical)
            names += [str(n) for n in encoder.get_feature_names_out(kinds["categorical"])]
        self.kinds_ = kinds
        self.feature_names_out_ = np.asarray(names, dtype=object)
        return self

    @staticmethod
    def _blocks(
        frame: pd.DataFrame, kinds: dict[str, list[str]]
    ) -> tuple[np.ndarray | None, np.ndarray | None, pd.DataFrame | None]:
        """Numeric and binary columns as float64 arrays, categorical columns as an object frame.

        The numeric blocks are handed to the imputer and scaler as plain arrays: on wide tables (thousands of
        columns) scikit-learn's per-column checks of a DataFrame cost more than the arithmetic.
        """
        arrays: list[np.ndarray | None] = []
        for kind in ("numeric", "binary"):
            columns = kinds[kind]
            if not columns:
                arrays.append(None)
                continue
            block = frame[columns]
            if not all(dtype == np.float64 for dtype in block.dtypes):
                try:
                    block = block.apply(pd.to_numeric, errors="raise")
                except (ValueError, TypeError) as exc:
                    msg = f"CohortPreprocessor: a numeric or binary column holds non-numeric values ({exc})."
                    raise FitError(msg) from exc
            arrays.append(block.to_numpy(dtype=np.float64, copy=True))
        categorical = frame[kinds["categorical"]].astype(object) if kinds["categorical"] else None
        return arrays[0], arrays[1], categorical

    @staticmethod
    def _as_frame(X: Any) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            return X
        msg = (
            f"CohortPreprocessor expects a pandas DataFrame of canonical cohort columns; got {type(X).__name__}. "
            "Pass cohort.frame (or a column subset of it)."
        )
        raise FitError(msg)

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "kinds_")
        frame = self._as_frame(X)
        missing = [c for cols in self.kinds_.values() for c in cols if c not in frame.columns]
        if missing:
            msg = f"CohortPreprocessor: column(s) {missing[:10]} seen in fit are missing from the data to transform."
            raise FitError(msg)
        numeric, binary, categorical = self._blocks(frame, self.kinds_)
        parts = []
        if numeric is not None:
            parts.append(np.asarray(self.numeric_.transform(numeric), dtype=float))
        if binary is not None:
            parts.append(np.asarray(self.binary_.transform(binary), dtype=float))
        if categorical is not None:
            parts.append(np.asarray(self.categorical_.transform(categorical), dtype=float))
        values = np.hstack(parts) if len(parts) > 1 else parts[0]
        return pd.DataFrame(values, columns=self.get_feature_names_out(), index=frame.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "kinds_")
        return np.asarray(self.feature_names_out_, dtype=object)

    def source_columns(self) -> dict[str, str]:
        """Map each output feature name to the cohort column it came from (for aggregating explanations)."""
        check_is_fitted(self, "kinds_")
        mapping: dict[str, str] = {c: c for c in self.kinds_["numeric"] + self.kinds_["binary"]}
        if self.kinds_["categorical"]:
            encoder = self.categorical_.named_steps["onehot"]
            for col, cats in zip(self.kinds_["categorical"], encoder.categories_, strict=True):
                for cat in cats:
                    mapping[f"{col}_{cat}"] = col
        return mapping

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags
