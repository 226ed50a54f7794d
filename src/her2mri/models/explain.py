"""SHAP explanations of fitted pipelines, reported on the cohort's own columns.

:func:`explain` explains every requested lesion. It encodes the lesions and the background **once** with the
fitted pipeline's preprocessing (everything before the final estimator: ComBat, imputation, scaling, one-hot
encoding, selectors) and explains the final estimator on that encoded matrix, with the exact method where one
exists:

* **linear** — the final estimator has ``coef_`` (logistic regression, linear SVM …): interventional SHAP
  values of the linear predictor, ``phi_j = w_j (z_j - E[z_j])`` over the whole background, exact on the
  log-odds scale (what ``shap.LinearExplainer`` computes with an independent masker).
* **tree** — random forest, extra trees, decision tree, gradient boosting: ``shap.TreeExplainer``, path
  dependent (exact Shapley values of the game "expected tree output given the known inputs", the expectation
  taken with the training cover of each node, so it needs no background; forests and single trees on the
  probability of the positive class, gradient boosting on its log-odds). shap's *interventional* tree
  algorithm was not used: on this package's forests it broke additivity by up to about 1e-2 for single
  background rows, and its combinatorial weights are float32.
* **exact** — any other classifier (SVM with an RBF kernel, k-NN, MLP …) with at most
  :data:`EXACT_MAX_PLAYERS` input variables: interventional Shapley values over all coalitions, evaluated in
  a few batched ``predict_proba`` calls (:mod:`her2mri.models.explain_agnostic`).
* **permutation** — the same classifiers with more inputs: antithetic permutation sampling stratified over
  the background rows (``n_pairs`` random orders and their reverses per lesion and background row), batched
  the same way; unbiased, additive by construction, same seed → same values.

**Background rule**: the linear explainer uses the whole ``X_background``, the tree explainer none (see
above); the model-agnostic ones every row when it has at most ``max_background`` rows, otherwise a uniform
random subsample of ``max_background`` rows without replacement, drawn with ``random_state`` (equal weights).
``base_value`` is the mean model output over that background, and ``base_value + values.sum(axis=1)`` is the
model output of each lesion (to floating-point rounding for every method).

**Players**: the contributions are reported per **cohort column**. For the model-agnostic methods each cohort
column (all of its one-hot columns together) is one player of the game, so a categorical descriptor gets its
own Shapley value; for the linear and tree explainers the per-column values are summed back to the cohort
column (for a linear model the two coincide). Columns removed by a selector contribute exactly 0.

A wall-clock budget (``time_budget_s``) is optional and off by default; when given and reached, the lesions
explained so far are returned (``n_explained < n_requested``) and a :class:`Her2MriWarning` says so.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from her2mri.exceptions import FitError, Her2MriWarning
from her2mri.models.explain_agnostic import exact_shapley, permutation_shapley
from her2mri.models.explain_scorers import fast_scorer

__all__ = ["EXACT_MAX_PLAYERS", "ROWS_PER_LESION", "Explanation", "background_rows", "explain", "format_contributions"]

ExplainMethod = Literal["linear", "tree", "exact", "permutation"]
ExplainOutput = Literal["log_odds", "probability"]
AgnosticChoice = Literal["auto", "exact", "permutation"]

EXACT_MAX_PLAYERS = 6
"""Model-agnostic explanations enumerate every coalition up to this many input variables (64 coalitions)."""

ROWS_PER_LESION = 2048
"""Default permutation effort: coalitions scored per lesion (before unchanged ones are skipped)."""

_CHECK_ROWS = 50
"""Lesions (with the background rows) on which a fast scorer is checked against ``predict_proba``."""

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
    method : {"linear", "tree", "exact", "permutation"}
    output : {"log_odds", "probability"}
        Scale of ``values`` and ``base_value``.
    n_requested : int
        Number of rows asked for; ``n_explained < n_requested`` when an optional time budget ran out.
    n_background : int
        Background rows defining ``base_value`` (0 for the tree explainer, which uses the training cover).
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


def _source_map(encoder: Any) -> dict[str, str]:
    """Encoded name → cohort column, from a :class:`CohortPreprocessor` step of the encoder when there is one."""
    out: dict[str, str] = {}
    for _, step in getattr(encoder, "steps", []) or []:
        source = getattr(step, "source_columns", None)
        if callable(source):
            try:
                out.update(source())
            except (AttributeError, ValueError, TypeError):
                continue
    return out


def _column_owners(encoded_names: list[str], columns: list[str], encoder: Any) -> np.ndarray | None:
    """Index into ``columns`` of the cohort column each encoded feature comes from; None if one is unknown."""
    index = {c: j for j, c in enumerate(columns)}
    known = _source_map(encoder)
    owners = np.empty(len(encoded_names), dtype=np.int64)
    for i, name in enumerate(encoded_names):
        owner = known.get(str(name))
        if owner not in index:
            owner = _owner(str(name), columns)
        if owner is None:
            return None
        owners[i] = index[owner]
    return owners


def _aggregation_matrix(owners: np.ndarray, p: int) -> np.ndarray:
    """(q, p) 0/1 matrix mapping encoded features to cohort columns."""
    agg = np.zeros((owners.size, p))
    agg[np.arange(owners.size), owners] = 1.0
    return agg


def _encode(encoder: Any, X: pd.DataFrame) -> np.ndarray:
    Z = encoder.transform(X) if encoder is not None else X.to_numpy(dtype=float)
    if hasattr(Z, "toarray"):
        Z = Z.toarray()
    if isinstance(Z, pd.DataFrame):
        Z = Z.to_numpy()
    return np.asarray(Z, dtype=float)


_BACKGROUND_CACHE: dict[tuple[int, str], tuple[Any, np.ndarray]] = {}
_BACKGROUND_CACHE_SIZE = 16


def _encoded_background(owner: Any, encoder: Any, background: pd.DataFrame) -> np.ndarray:
    """The encoded background rows, cached per (fitted pipeline ``owner``, background content): a web request
    explaining one lesion then encodes only that lesion."""
    if encoder is None:
        return _encode(encoder, background)
    content = pd.util.hash_pandas_object(background, index=False).to_numpy()
    key = (id(owner), hashlib.blake2b(content.tobytes() + str(list(background.columns)).encode(),
                                        digest_size=16).hexdigest())
    cached = _BACKGROUND_CACHE.get(key)
    if cached is not None and cached[0] is owner:
        return cached[1]
    encoded = _encode(encoder, background)
    encoded.setflags(write=False)
    if len(_BACKGROUND_CACHE) >= _BACKGROUND_CACHE_SIZE:
        _BACKGROUND_CACHE.pop(next(iter(_BACKGROUND_CACHE)), None)
    _BACKGROUND_CACHE[key] = (owner, encoded)
    return encoded


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


def _scorer(model: Any, names: list[str] | None) -> Any:
    """``f(matrix) -> P(positive)`` of the final estimator on encoded rows (named columns when it was fitted so)."""
    fitted_names = getattr(model, "feature_names_in_", None)
    use_names = fitted_names is not None and names is not None and len(fitted_names) == len(names)

    def f(matrix: np.ndarray) -> np.ndarray:
        data: Any = pd.DataFrame(matrix, columns=list(fitted_names), copy=False) if use_names else matrix
        return np.asarray(model.predict_proba(data)[:, 1], dtype=float)

    return f


def background_rows(n_rows: int, max_background: int, random_state: int) -> np.ndarray:
    """Positions of the background rows the model-agnostic explainers use (the documented rule).

    All rows when there are at most ``max_background``; otherwise a uniform random subsample of
    ``max_background`` rows without replacement, drawn with ``random_state``, in their original order.
    """
    if n_rows <= max_background:
        return np.arange(n_rows)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, size=max_background, replace=False))


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
    """Path-dependent TreeSHAP (exact for the tree's own conditional expectations; no background needed)."""
    import shap

    # sklearn trees compare float32 inputs with their thresholds; give shap the same float32-rounded rows so the
    # paths it follows are the paths the model follows
    Z = Z.astype(np.float32).astype(float)
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    raw = np.asarray(explainer.shap_values(Z, check_additivity=False), dtype=float)
    expected = np.asarray(explainer.expected_value, dtype=float).reshape(-1)
    if raw.ndim == 3:  # (n, q, classes)
        phi, base = raw[:, :, 1], float(expected[1] if expected.size > 1 else expected[0])
    else:
        phi, base = raw, float(expected[-1])
    output: ExplainOutput = "log_odds" if type(model).__name__ == "GradientBoostingClassifier" else "probability"
    return phi, base, output


class _CodedFrame:
    """Round-trip a mixed-type frame through a float matrix (categories as integer codes).

    Used only when the encoded features of a pipeline cannot be traced back to cohort columns: the
    model-agnostic explainer then runs on the cohort columns themselves (one pipeline call per batch).
    """

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


def _agnostic(
    f: Any,
    Z: np.ndarray,
    B: np.ndarray,
    column_owner: np.ndarray,
    p: int,
    *,
    choice: AgnosticChoice,
    n_pairs: int | None,
    random_state: int,
    deadline: float | None,
) -> tuple[np.ndarray, float, int, ExplainMethod]:
    """Model-agnostic values on cohort columns: players are the cohort columns that reach the model."""
    players = np.unique(column_owner)
    column_player = np.searchsorted(players, column_owner)
    M = players.size
    weights = np.full(B.shape[0], 1.0 / B.shape[0])
    exact = M <= EXACT_MAX_PLAYERS if choice == "auto" else choice == "exact"
    if exact:
        result = exact_shapley(f, Z, B, weights, column_player, M, deadline=deadline)
    else:
        if n_pairs is None:
            n_pairs = max(1, -(-ROWS_PER_LESION // (2 * B.shape[0] * max(M - 1, 1))))
        result = permutation_shapley(
            f, Z, B, weights, column_player, M, n_pairs=int(n_pairs), random_state=random_state, deadline=deadline
        )
    values = np.zeros((result.n_done, p))
    values[:, players] = result.values
    return values, result.base_value, result.n_done, "exact" if exact else "permutation"


# ----------------------------------------------------------------------------------------------------- main
def explain(
    pipeline: Any,
    X_background: pd.DataFrame,
    X: pd.DataFrame,
    *,
    time_budget_s: float | None = None,
    random_state: int = 0,
    max_background: int = 50,
    agnostic: AgnosticChoice = "auto",
    n_pairs: int | None = None,
) -> Explanation:
    """SHAP contributions of each cohort column to each lesion's predicted score (every lesion of ``X``).

    Parameters
    ----------
    pipeline : fitted sklearn Pipeline (or classifier) taking a DataFrame of canonical cohort columns
        and exposing ``predict_proba`` for a binary task.
    X_background : DataFrame
        Reference lesions (typically the training set, or the bundle's background sample) defining the
        expected output ``base_value``.
    X : DataFrame
        Lesions to explain, one row per lesion.
    time_budget_s : float or None
        Optional wall-clock budget (seconds) of the model-agnostic explainers, checked between
        batches of lesions; ``None`` (default) explains every lesion. When it runs out, the first
        ``n_explained`` lesions are returned and a :class:`Her2MriWarning` is raised.
    random_state : int
        Seed of the background subsample and of the permutations.
    max_background : int
        Cap on the background rows of the model-agnostic explainers (see the module docstring).
    agnostic : {"auto", "exact", "permutation"}
        Model-agnostic method: ``auto`` enumerates all coalitions up to :data:`EXACT_MAX_PLAYERS` inputs and
        samples permutations beyond.
    n_pairs : int or None
        Antithetic permutation pairs per lesion and background row (permutation method); ``None`` picks
        the smallest number giving at least :data:`ROWS_PER_LESION` coalitions per lesion (one pair on a
        study's 30-40 inputs, more on fewer inputs, where each pair is cheaper).

    Returns
    -------
    Explanation
        ``values`` (n, p) on the cohort columns the pipeline takes as input.
    """
    if not isinstance(X, pd.DataFrame) or not isinstance(X_background, pd.DataFrame):
        msg = (
            "explain needs pandas DataFrames of cohort columns for X_background and X. "
            f"Got {type(X_background).__name__} and {type(X).__name__} instead."
        )
        raise TypeError(msg)
    if len(X_background) == 0:
        msg = "The 'X_background' parameter of explain must have at least one row. Got an empty frame instead."
        raise ValueError(msg)
    if time_budget_s is not None and not time_budget_s > 0:
        msg = f"The 'time_budget_s' parameter of explain must be > 0 or None. Got {time_budget_s!r} instead."
        raise ValueError(msg)
    if isinstance(max_background, bool) or not isinstance(max_background, int | np.integer) or max_background < 1:
        msg = f"The 'max_background' parameter of explain must be a positive integer. Got {max_background!r} instead."
        raise ValueError(msg)
    if agnostic not in ("auto", "exact", "permutation"):
        msg = f"The 'agnostic' parameter of explain must be 'auto', 'exact' or 'permutation'. Got {agnostic!r} instead."
        raise ValueError(msg)
    if n_pairs is not None and (isinstance(n_pairs, bool) or not isinstance(n_pairs, int | np.integer) or n_pairs < 1):
        msg = f"The 'n_pairs' parameter of explain must be a positive integer. Got {n_pairs!r} instead."
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
    deadline = None if time_budget_s is None else start + float(time_budget_s)
    p = len(columns)
    keep = background_rows(len(X_background), int(max_background), random_state)

    names = _encoded_names(encoder, columns)
    owners = _column_owners(names, columns, encoder) if names is not None else None
    method: ExplainMethod
    output: ExplainOutput
    if owners is not None and hasattr(model, "coef_") and np.asarray(model.coef_).ndim <= 2:
        Z_bg, Z = _encode(encoder, X_background), _encode(encoder, X)
        phi, base = _linear(model, Z_bg, Z)
        values, method, output, n_bg = phi @ _aggregation_matrix(owners, p), "linear", "log_odds", len(X_background)
    elif owners is not None and type(model).__name__ in _TREE_CLASSES:
        phi, base, output = _tree(model, _encode(encoder, X))
        values, method, n_bg = phi @ _aggregation_matrix(owners, p), "tree", 0
    elif owners is not None:
        B, Z = _encoded_background(pipeline, encoder, X_background.iloc[keep]), _encode(encoder, X)
        scorer = fast_scorer(model, np.vstack([B, Z[:_CHECK_ROWS]]), _scorer(model, names))
        values, base, _, method = _agnostic(
            scorer, Z, B, owners, p,
            choice=agnostic, n_pairs=n_pairs, random_state=random_state, deadline=deadline,
        )
        output, n_bg = "probability", len(keep)
    else:  # encoded features not traceable to cohort columns: explain the whole pipeline on coded columns
        coder = _CodedFrame(pd.concat([X_background, X], axis=0))

        def f(matrix: np.ndarray) -> np.ndarray:
            return np.asarray(pipeline.predict_proba(coder.decode(matrix))[:, 1], dtype=float)

        values, base, _, method = _agnostic(
            f, coder.encode(X), coder.encode(X_background.iloc[keep]), np.arange(p), p,
            choice=agnostic, n_pairs=n_pairs, random_state=random_state, deadline=deadline,
        )
        output, n_bg = "probability", len(keep)
    values = np.asarray(values, dtype=float)
    if values.shape[0] < len(X):
        text = (
            f"explain: the time budget of {time_budget_s:g} s ran out after {values.shape[0]} of {len(X)} rows; "
            "the explanation covers those rows only. Raise time_budget_s or leave it unset to explain every row."
        )
        warnings.warn(text, Her2MriWarning, stacklevel=2)
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
