"""SHAP explanations of fitted pipelines, reported on the cohort's own columns.

:func:`explain` picks the exact explainer where one exists and a bounded model-agnostic one otherwise:

* **linear** — the final estimator has ``coef_`` (logistic regression, linear SVM with probabilities …):
  interventional SHAP values of the linear predictor, ``phi_j = w_j (z_j - E[z_j])``, exact on the log-odds
  scale (what ``shap.LinearExplainer`` computes with an independent masker).
* **tree** — random forest, extra trees, decision tree, gradient boosting: ``shap.TreeExplainer`` (path
  dependent, exact) on the preprocessed matrix. Forests and single trees explain the probability of the
  positive class, gradient boosting its log-odds.
* **permutation** — anything else (SVM with an RBF kernel, k-NN, MLP …): ``shap.PermutationExplainer`` on
  the cohort columns themselves, with a background summarised to at most ``max_background`` real rows (the
  training rows closest to k-means centroids of the preprocessed background) and a time budget; rows not
  explained when the budget runs out are reported (``n_explained``) and a :class:`Her2MriWarning` is raised.

For the exact explainers the contributions are computed on the preprocessed (imputed, scaled, one-hot)
features and **summed back to the cohort column** each one came from, so a categorical descriptor gets one
value (the sum over its one-hot columns). Features removed by a selector contribute exactly 0.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from her2mri.exceptions import FitError, Her2MriWarning

__all__ = ["Explanation", "explain", "format_contributions"]

ExplainMethod = Literal["linear", "tree", "permutation"]
ExplainOutput = Literal["log_odds", "probability"]

_PERMUTATIONS = 10
"""Antithetic permutations sampled per explained row by the model-agnostic explainer."""

_TREE_CLASSES = (
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "DecisionTreeClassifier",
    "ExtraTreeClassifier",
    "GradientBoostingClassifier",
)


@dataclass(frozen=True)
class Explanation:
    """Per-lesion feature contributions on the cohort's columns.

    Attributes
    ----------
    values : ndarray (n, p)
        Contribution of each cohort column to each explained lesion (rows of ``X`` in order; only the first
        ``n_explained`` rows when a time budget ran out).
    base_value : float
        Expected model output over the background; ``base_value + values.sum(axis=1)`` is the model output.
    feature_names : tuple of str
        Cohort column names, in the order of the columns of ``values``.
    data : DataFrame (n, p)
        The original (unprocessed) values of those columns for the explained rows; index from ``X``.
    method : {"linear", "tree", "permutation"}
    output : {"log_odds", "probability"}
        Scale of ``values`` and ``base_value``.
    n_requested : int
        Number of rows asked for; ``n_explained < n_requested`` when the time budget ran out.
    """

    values: np.ndarray
    base_value: float
    feature_names: tuple[str, ...]
    data: pd.DataFrame
    method: ExplainMethod
    output: ExplainOutput
    n_requested: int
    n_background: int
    elapsed_s: float = field(default=0.0, compare=False)

    @property
    def n_explained(self) -> int:
        return int(self.values.shape[0])

    @property
    def is_complete(self) -> bool:
        return self.n_explained == self.n_requested

    def to_frame(self) -> pd.DataFrame:
        """Tidy frame: one row per lesion × feature with ``row``, ``feature``, ``value``, ``contribution``."""
        n, p = self.values.shape
        rows = np.repeat(np.asarray(self.data.index, dtype=object), p)
        values = self.data.to_numpy(dtype=object).reshape(-1) if n else np.array([], dtype=object)
        return pd.DataFrame(
            {
                "row": rows,
                "feature": np.tile(np.asarray(self.feature_names, dtype=object), n),
                "value": values,
                "contribution": self.values.reshape(-1),
                "method": self.method,
                "output": self.output,
            }
        )

    def mean_abs(self) -> pd.Series:
        """Mean absolute contribution per cohort column, largest first (a global importance)."""
        series = pd.Series(np.abs(self.values).mean(axis=0) if self.n_explained else 0.0, index=self.feature_names)
        return series.sort_values(ascending=False, kind="mergesort")

    def top_contributions(self, k: int = 5) -> tuple[tuple[tuple[str, float], ...], ...]:
        """For each explained row, the ``k`` (feature, contribution) pairs of largest absolute contribution.

        Exact zeros (unselected features, a column at its background mean) are left out.
        """
        if k < 1:
            msg = f"The 'k' parameter of top_contributions must be a positive integer. Got {k!r} instead."
            raise ValueError(msg)
        out = []
        for row in self.values:
            order = np.argsort(-np.abs(row), kind="mergesort")[:k]
            out.append(tuple((self.feature_names[j], float(row[j])) for j in order if row[j] != 0.0))
        return tuple(out)

    def describe(self, k: int = 5, digits: int = 2) -> tuple[str, ...]:
        """Per row, the top contributions as text, e.g. ``"ki67_percent +0.21; er_status −0.15"``."""
        return tuple(format_contributions(pairs, digits=digits) for pairs in self.top_contributions(k))


def format_contributions(pairs: tuple[tuple[str, float], ...] | list[tuple[str, float]], digits: int = 2) -> str:
    """Format (feature, contribution) pairs as ``"name +0.21; other −0.15"`` (true minus sign)."""
    parts = []
    for name, value in pairs:
        sign = "+" if value >= 0 else "\u2212"
        parts.append(f"{name} {sign}{abs(value):.{digits}f}")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------------------- helpers
def _split_pipeline(pipeline: Any) -> tuple[Any | None, Any]:
    """(encoder or None, final estimator) of a Pipeline; a bare estimator has no encoder."""
    steps = getattr(pipeline, "steps", None)
    if not steps:
        return None, pipeline
    final = steps[-1][1]
    if len(steps) == 1:
        return None, final
    return pipeline[:-1], final


def _unwrap(model: Any) -> Any:
    """The fitted estimator inside a search wrapper (GridSearchCV and the like)."""
    inner = getattr(model, "best_estimator_", None)
    return inner if inner is not None else model


def _input_columns(pipeline: Any, X: pd.DataFrame) -> list[str]:
    names = getattr(pipeline, "feature_names_in_", None)
    if names is None:
        return [str(c) for c in X.columns]
    return [str(c) for c in names]


def _owner(name: str, columns: list[str]) -> str | None:
    """The cohort column an encoded feature comes from (longest matching column name), or None."""
    best: str | None = None
    for col in columns:
        if (
            name == col
            or name.endswith("__" + col)
            or name.startswith(col + "_")
            or ("__" + col + "_") in name
        ) and (best is None or len(col) > len(best)):
            best = col
    return best


def _aggregation_matrix(encoded_names: list[str], columns: list[str]) -> np.ndarray | None:
    """(q, p) 0/1 matrix mapping encoded features to cohort columns; None if any feature cannot be mapped."""
    agg = np.zeros((len(encoded_names), len(columns)))
    index = {c: j for j, c in enumerate(columns)}
    for i, name in enumerate(encoded_names):
        owner = _owner(str(name), columns)
        if owner is None:
            return None
        agg[i, index[owner]] = 1.0
    return agg


def _encode(encoder: Any, X: pd.DataFrame) -> np.ndarray:
    Z = encoder.transform(X) if encoder is not None else X.to_numpy(dtype=float)
    if hasattr(Z, "toarray"):
        Z = Z.toarray()
    if isinstance(Z, pd.DataFrame):
        Z = Z.to_numpy()
    return np.asarray(Z, dtype=float)


def _encoded_names(encoder: Any, columns: list[str]) -> list[str] | None:
    if encoder is None:
        return list(columns)
    try:
        return [str(n) for n in encoder.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):
        return None


def _positive_column(model: Any) -> int:
    classes = list(getattr(model, "classes_", [0, 1]))
    if len(classes) != 2:
        msg = (
            f"explain supports binary classifiers only; the final estimator has {len(classes)} classes "
            f"({classes}). Explain each binary task of the hierarchy separately."
        )
        raise FitError(msg)
    return 1


# ------------------------------------------------------------------------------------------------ explainers
def _linear(model: Any, Z_bg: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, float]:
    coef = np.asarray(model.coef_, dtype=float).reshape(-1)
    intercept = float(np.asarray(getattr(model, "intercept_", 0.0), dtype=float).reshape(-1)[0])
    mean = Z_bg.mean(axis=0)
    with np.errstate(all="raise"):
        phi = (Z - mean) * coef
        base = intercept + float(mean @ coef)
    return phi, base


def _tree(model: Any, Z: np.ndarray) -> tuple[np.ndarray, float, ExplainOutput]:
    import shap

    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    raw = np.asarray(explainer.shap_values(Z, check_additivity=False), dtype=float)
    expected = np.asarray(explainer.expected_value, dtype=float).reshape(-1)
    if raw.ndim == 3:  # (n, q, classes)
        phi, base = raw[:, :, 1], float(expected[1] if expected.size > 1 else expected[0])
    else:
        phi, base = raw, float(expected[-1])
    output: ExplainOutput = "log_odds" if type(model).__name__ == "GradientBoostingClassifier" else "probability"
    return phi, base, output


def _summarise_background(
    encoder: Any, X_background: pd.DataFrame, max_background: int, random_state: int
) -> pd.DataFrame:
    """At most ``max_background`` real rows: the rows nearest the k-means centroids of the encoded background."""
    if len(X_background) <= max_background:
        return X_background
    from sklearn.cluster import KMeans

    try:
        Z = _encode(encoder, X_background)
    except (ValueError, TypeError):
        rng = np.random.default_rng(random_state)
        keep = np.sort(rng.choice(len(X_background), size=max_background, replace=False))
        return X_background.iloc[keep]
    Z = np.nan_to_num(Z)
    km = KMeans(n_clusters=max_background, n_init=1, random_state=random_state).fit(Z)
    distances = ((Z[:, None, :] - km.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
    chosen = sorted(set(int(i) for i in distances.argmin(axis=0)))
    return X_background.iloc[chosen]


class _CodedFrame:
    """Round-trip a mixed-type frame through a float matrix (categories as integer codes) for maskers."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.columns = list(frame.columns)
        self.levels: dict[str, list[Any]] = {}
        for col in self.columns:
            if not pd.api.types.is_numeric_dtype(frame[col]):
                self.levels[col] = sorted({str(v) for v in frame[col].dropna()})

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)))
        for j, col in enumerate(self.columns):
            if col in self.levels:
                levels = self.levels[col]
                for v in frame[col].dropna().astype(str).unique():
                    if v not in levels:
                        levels.append(v)
                lookup = {v: float(i) for i, v in enumerate(levels)}
                out[:, j] = [np.nan if pd.isna(v) else lookup[str(v)] for v in frame[col]]
            else:
                out[:, j] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        return out

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for j, col in enumerate(self.columns):
            if col in self.levels:
                levels = np.asarray(self.levels[col] + [np.nan], dtype=object)
                codes = np.where(np.isnan(matrix[:, j]), len(levels) - 1, matrix[:, j]).astype(int)
                data[col] = levels[codes]
            else:
                data[col] = matrix[:, j]
        return pd.DataFrame(data, columns=self.columns)


def _permutation(
    pipeline: Any,
    background: pd.DataFrame,
    X: pd.DataFrame,
    time_budget_s: float,
    random_state: int,
) -> tuple[np.ndarray, float, int]:
    import shap

    coder = _CodedFrame(pd.concat([background, X], axis=0))
    bg = coder.encode(background)
    target = coder.encode(X)

    def f(matrix: np.ndarray) -> np.ndarray:
        return np.asarray(pipeline.predict_proba(coder.decode(matrix))[:, 1], dtype=float)

    masker = shap.maskers.Independent(bg, max_samples=len(bg))
    explainer = shap.PermutationExplainer(f, masker, seed=random_state)
    p = target.shape[1]
    start = time.perf_counter()
    rows: list[np.ndarray] = []
    for i in range(target.shape[0]):
        if rows and time.perf_counter() - start > time_budget_s:
            break
        result = explainer(target[i : i + 1], max_evals=_PERMUTATIONS * (2 * p + 1), silent=True)
        rows.append(np.asarray(result.values, dtype=float).reshape(-1))
    base = float(f(bg).mean())
    values = np.vstack(rows) if rows else np.empty((0, p))
    return values, base, len(rows)


# ----------------------------------------------------------------------------------------------------- main
def explain(
    pipeline: Any,
    X_background: pd.DataFrame,
    X: pd.DataFrame,
    *,
    time_budget_s: float = 30,
    random_state: int = 0,
    max_background: int = 50,
) -> Explanation:
    """SHAP contributions of each cohort column to each lesion's predicted score.

    Parameters
    ----------
    pipeline : fitted sklearn Pipeline (or classifier) taking a DataFrame of canonical cohort columns
        and exposing ``predict_proba`` for a binary task.
    X_background : DataFrame
        Reference lesions (typically the training set, or the bundle's background sample) defining the
        expected output ``base_value``.
    X : DataFrame
        Lesions to explain, one row per lesion.
    time_budget_s : float
        Wall-clock budget of the model-agnostic explainer; the exact explainers ignore it.
    random_state : int
        Seed of the background summary and of the permutations.
    max_background : int
        Cap on the background rows of the model-agnostic explainer (k-means summary of real rows).

    Returns
    -------
    Explanation
        ``values`` (n, p) on the cohort columns the pipeline takes as input.
    """
    if not isinstance(X, pd.DataFrame) or not isinstance(X_background, pd.DataFrame):
        msg = "explain needs pandas DataFrames of cohort columns for X_background and X."
        raise TypeError(msg)
    if len(X_background) == 0:
        msg = "The 'X_background' parameter of explain must have at least one row. Got an empty frame instead."
        raise ValueError(msg)
    if time_budget_s <= 0:
        msg = f"The 'time_budget_s' parameter of explain must be > 0. Got {time_budget_s!r} instead."
        raise ValueError(msg)
    columns = _input_columns(pipeline, X)
    missing = [c for c in columns if c not in X.columns or c not in X_background.columns]
    if missing:
        msg = f"explain: columns the pipeline needs are missing from X or X_background: {missing}."
        raise ValueError(msg)
    X = X[columns]
    X_background = X_background[columns]
    encoder, final = _split_pipeline(pipeline)
    model = _unwrap(final)
    _positive_column(model)
    start = time.perf_counter()

    names = _encoded_names(encoder, columns)
    agg = _aggregation_matrix(names, columns) if names is not None else None
    method: ExplainMethod
    output: ExplainOutput
    if agg is not None and hasattr(model, "coef_") and np.asarray(model.coef_).ndim <= 2:
        Z_bg, Z = _encode(encoder, X_background), _encode(encoder, X)
        phi, base = _linear(model, Z_bg, Z)
        values, method, output, n_bg = phi @ agg, "linear", "log_odds", len(X_background)
    elif agg is not None and type(model).__name__ in _TREE_CLASSES:
        phi, base, output = _tree(model, _encode(encoder, X))
        values, method, n_bg = phi @ agg, "tree", len(X_background)
    else:
        background = _summarise_background(encoder, X_background, max_background, random_state)
        values, base, n_done = _permutation(pipeline, background, X, time_budget_s, random_state)
        method, output, n_bg = "permutation", "probability", len(background)
        if n_done < len(X):
            text = (
                f"explain: the time budget of {time_budget_s:g} s ran out after {n_done} of {len(X)} rows; "
                "the explanation covers those rows only. Raise time_budget_s or explain fewer rows."
            )
            warnings.warn(text, Her2MriWarning, stacklevel=2)
    values = np.asarray(values, dtype=float)
    return Explanation(
        values=values,
        base_value=float(base),
        feature_names=tuple(columns),
        data=X.iloc[: values.shape[0]].copy(),
        method=method,
        output=output,
        n_requested=len(X),
        n_background=int(n_bg),
        elapsed_s=time.perf_counter() - start,
    )
