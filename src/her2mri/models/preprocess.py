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
from sklearn.compose import ColumnTransformer
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
        transformers: list[tuple[str, Any, list[str]]] = []
        if kinds["numeric"]:
            steps: list[tuple[str, Any]] = [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True))
            ]
            if self.scale:
                steps.append(("scale", StandardScaler()))
            transformers.append(("numeric", Pipeline(steps), kinds["numeric"]))
        if kinds["binary"]:
            transformers.append(
                (
                    "binary",
                    SimpleImputer(strategy="most_frequent", keep_empty_features=True),
                    kinds["binary"],
                )
            )
        if kinds["categorical"]:
            encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64)
            transformers.append(
                ("categorical", Pipeline([("impute", _ApplicableModeImputer()), ("onehot", encoder)]),
                 kinds["categorical"])
            )
        ct = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False)
        ct.set_output(transform="pandas")
        prepared = self._prepare(frame, kinds)
        ct.fit(prepared)
        self.column_transformer_ = ct
        self.kinds_ = kinds
        return self

    @staticmethod
    def _prepare(frame: pd.DataFrame, kinds: dict[str, list[str]]) -> pd.DataFrame:
        """Used columns only: numeric and binary as float64, categorical as object (one block each)."""
        parts = []
        numeric = kinds["numeric"] + kinds["binary"]
        if numeric:
            block = frame[numeric]
            if not all(dtype == np.float64 for dtype in block.dtypes):
                try:
                    block = block.apply(pd.to_numeric, errors="raise")
                except (ValueError, TypeError) as exc:
                    msg = f"CohortPreprocessor: a numeric or binary column holds non-numeric values ({exc})."
                    raise FitError(msg) from exc
            parts.append(block.astype(np.float64))
        if kinds["categorical"]:
            parts.append(frame[kinds["categorical"]].astype(object))
        return pd.concat(parts, axis=1) if len(parts) > 1 else parts[0]

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
        check_is_fitted(self, "column_transformer_")
        frame = self._prepare(self._as_frame(X), self.kinds_)
        out = self.column_transformer_.transform(frame)
        out = pd.DataFrame(out, columns=self.get_feature_names_out(), index=frame.index).astype(float)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "column_transformer_")
        return np.asarray(self.column_transformer_.get_feature_names_out(), dtype=object)

    def source_columns(self) -> dict[str, str]:
        """Map each output feature name to the cohort column it came from (for aggregating explanations)."""
        check_is_fitted(self, "column_transformer_")
        mapping: dict[str, str] = {c: c for c in self.kinds_["numeric"] + self.kinds_["binary"]}
        if self.kinds_["categorical"]:
            encoder = self.column_transformer_.named_transformers_["categorical"].named_steps["onehot"]
            for col, cats in zip(self.kinds_["categorical"], encoder.categories_, strict=True):
                for cat in cats:
                    mapping[f"{col}_{cat}"] = col
        return mapping

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags
