"""Group-LASSO logistic selection: a categorical variable is kept or dropped as a whole (seed 004's LASSO step).

The plain L1 LASSO (:class:`~her2mri.features.embedded.LassoSelector`) treats every one-hot dummy on its own, so it
may keep ``t2_signal_hypo`` and drop the other T2 levels — a selection no clinical table can report. Here the
penalty is ``λ Σ_g √p_g ‖β_g‖₂`` over groups ``g`` (Yuan & Lin 2006): the dummies of one categorical variable form
one group, every other column is a group of its own; the intercept is not penalised.

Fitting: the logistic negative log-likelihood / n plus the penalty is minimised by accelerated proximal gradient
(FISTA with gradient-based adaptive restart, fixed step 4/(‖X‖² + n), block soft-thresholding), along a log-spaced λ path from ``λ_max``
(everything zero) down to ``lambda_min_ratio · λ_max`` with warm starts. λ is chosen by K-fold cross-validated
binomial deviance (patient-grouped folds when ``groups`` is passed to ``fit``): ``λ_min`` minimises the mean
deviance; ``λ_1se`` is the largest λ whose mean deviance is within one standard error of that minimum (glmnet's
convention). The coefficient path and the CV-deviance curve are kept for the report (:meth:`selection_path`).

Why written here: the maintained group-LASSO packages (``group-lasso``, ``skglm``, ``asgl``) either lack
logistic loss with CV deviance and λ_1se, pin old scikit-learn versions, or pull large dependencies; the solver is
about forty lines. One-hot groups are found from the data (binary columns with a common ``<name>_`` prefix whose
values sum to 1 on every row), or given as ``group_of={"column": "group"}``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from her2mri.exceptions import ConfigError
from her2mri.features._base import BaseSelector

__all__ = ["GroupLassoSelector", "one_hot_groups", "selection_paths"]


def one_hot_groups(X: np.ndarray, names: list[str]) -> list[str]:
    """Group label per column: the variable name for one-hot blocks, the column name otherwise."""
    labels = list(names)
    binary = np.all((X == 0) | (X == 1), axis=0)
    taken = np.zeros(len(names), dtype=bool)
    # longer prefixes first so that "mass_shape" wins over "mass"
    candidates: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        if not binary[index]:
            continue
        parts = name.split("_")
        for cut in range(1, len(parts)):
            candidates.setdefault("_".join(parts[:cut]), []).append(index)
    for prefix in sorted(candidates, key=len, reverse=True):
        members = [i for i in candidates[prefix] if not taken[i]]
        if len(members) < 2 or len(members) != len(candidates[prefix]):
            continue
        if np.allclose(X[:, members].sum(axis=1), 1.0):
            for i in members:
                labels[i] = prefix
                taken[i] = True
    return labels


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _fit_path(X: np.ndarray, y: np.ndarray, members: list[np.ndarray], weights: np.ndarray, lambdas: np.ndarray,
              max_iter: int, tol: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Coefficients (n_lambda, p), intercepts (n_lambda,) along the path (warm starts), most iterations at one λ.

    The block soft-thresholding is vectorised: columns are visited group by group (``order``), group norms come
    from ``np.add.reduceat`` and each group's shrinkage factor is repeated over its columns.
    """
    n, p = X.shape
    order = np.concatenate(members)
    sizes = np.array([len(m) for m in members])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    X = X[:, order]
    gram = X.T @ X if p <= n else X @ X.T  # ‖X‖₂² from the smaller Gram matrix
    top = float(np.linalg.eigvalsh(gram)[-1]) if p else 0.0
    step = 4.0 * n / max(top + n, 1e-12)  # 1/L of the loss incl. the intercept
    beta, b0 = np.zeros(p), float(np.log(max(y.mean(), 1e-6) / max(1 - y.mean(), 1e-6)))
    coefs, intercepts = np.zeros((len(lambdas), p)), np.zeros(len(lambdas))
    most = 0
    for k, lam in enumerate(lambdas):
        z_beta, z_b0, t = beta.copy(), b0, 1.0
        for iteration in range(1, max_iter + 1):  # noqa: B007 (read after the loop: iterations used)
            r = _sigmoid(z_b0 + X @ z_beta) - y
            g_beta, g_b0 = X.T @ r / n, float(r.mean())
            new_beta = z_beta - step * g_beta
            new_b0 = z_b0 - step * g_b0
            norms = np.sqrt(np.add.reduceat(new_beta * new_beta, starts))
            shrink = step * lam * weights
            factor = np.where(norms > shrink, 1.0 - shrink / np.maximum(norms, 1e-300), 0.0)
            new_beta = new_beta * np.repeat(factor, sizes)
            if float(np.dot(z_beta - new_beta, new_beta - beta)) + (z_b0 - new_b0) * (new_b0 - b0) > 0:
                t = 1.0  # adaptive restart (O'Donoghue & Candès 2015): drop the momentum when it points uphill
            t_next = (1 + np.sqrt(1 + 4 * t * t)) / 2
            z_beta = new_beta + (t - 1) / t_next * (new_beta - beta)
            z_b0 = new_b0 + (t - 1) / t_next * (new_b0 - b0)
            change = max(float(np.max(np.abs(new_beta - beta), initial=0.0)), abs(new_b0 - b0))
            beta, b0, t = new_beta, new_b0, t_next
            if change < tol:
                break
        most = max(most, iteration)
        coefs[k, order], intercepts[k] = beta, b0
    return coefs, intercepts, most


def _deviance(y: np.ndarray, eta: np.ndarray) -> float:
    p = np.clip(_sigmoid(eta), 1e-12, 1 - 1e-12)
    return float(-2 * np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


class GroupLassoSelector(BaseSelector):
    """Group-LASSO logistic selection with a CV-deviance choice of λ (``rule``: ``"1se"`` or ``"min"``).

    Learned: ``groups_`` (group label per column), ``lambdas_``, ``coef_path_`` (n_lambda × n_features),
    ``cv_deviance_`` / ``cv_deviance_se_`` (per λ), ``lambda_min_``, ``lambda_1se_``, ``lambda_``, ``coef_``,
    ``selected_groups_``; plus the :class:`~her2mri.features._base.BaseSelector` attributes.
    """

    _accepts_groups = True

    def __init__(self, n_lambdas: int = 30, lambda_min_ratio: float = 0.01, cv: int = 5, rule: str = "1se",
                 group_of: dict[str, str] | None = None, max_iter: int = 500, tol: float = 1e-4,
                 random_state: int | None = 0) -> None:
        self.n_lambdas = n_lambdas
        self.lambda_min_ratio = lambda_min_ratio
        self.cv = cv
        self.rule = rule
        self.group_of = group_of
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _check(self) -> None:
        if self.rule not in ("1se", "min"):
            message = f"GroupLassoSelector rule: got {self.rule!r}; accepted: '1se', 'min'."
            raise ConfigError(message)
        if not (isinstance(self.n_lambdas, int) and self.n_lambdas >= 2):
            message = f"GroupLassoSelector n_lambdas: got {self.n_lambdas!r}; accepted: an integer >= 2."
            raise ConfigError(message)
        if not 0 < float(self.lambda_min_ratio) < 1:
            message = f"GroupLassoSelector lambda_min_ratio: got {self.lambda_min_ratio!r}; accepted: 0 < value < 1."
            raise ConfigError(message)
        if not (isinstance(self.cv, int) and self.cv >= 2):
            message = f"GroupLassoSelector cv: got {self.cv!r}; accepted: an integer >= 2."
            raise ConfigError(message)

    def _select(self, X: np.ndarray, y: np.ndarray | None, groups: Any = None) -> tuple[np.ndarray, np.ndarray]:
        self._check()
        classes = np.unique(y)
        yb = (y == classes[-1]).astype(float)  # binary tasks; with more classes: the last class vs the rest
        names = [str(n) for n in getattr(self, "feature_names_in_", [f"x{i}" for i in range(X.shape[1])])]
        labels = [self.group_of.get(n, n) for n in names] if self.group_of else one_hot_groups(X, names)
        order = list(dict.fromkeys(labels))
        members = [np.array([i for i, lab in enumerate(labels) if lab == g]) for g in order]
        weights = np.array([np.sqrt(len(m)) for m in members])
        n = X.shape[0]
        centred = yb - yb.mean()
        lam_max = max(float(np.linalg.norm(X[:, m].T @ centred)) / n / w for m, w in zip(members, weights, strict=True))
        lam_max = max(lam_max, 1e-8)
        lambdas = lam_max * np.logspace(0, np.log10(self.lambda_min_ratio), self.n_lambdas)
        coefs, intercepts, self.n_iter_ = _fit_path(X, yb, members, weights, lambdas, self.max_iter, self.tol)
        n_splits = int(min(self.cv, np.bincount(yb.astype(int)).min()))
        if groups is not None and np.unique(groups).size >= n_splits >= 2:
            splitter: Any = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=self.random_state)
            splits = list(splitter.split(X, yb, groups))
        else:
            splitter = StratifiedKFold(n_splits=max(n_splits, 2), shuffle=True, random_state=self.random_state)
            splits = list(splitter.split(X, yb))
        deviance = np.zeros((len(splits), len(lambdas)))
        for f, (train, test) in enumerate(splits):
            c, b, _ = _fit_path(X[train], yb[train], members, weights, lambdas, self.max_iter, self.tol)
            for k in range(len(lambdas)):
                deviance[f, k] = _deviance(yb[test], b[k] + X[test] @ c[k])
        mean = deviance.mean(axis=0)
        se = deviance.std(axis=0, ddof=1) / np.sqrt(len(splits))
        k_min = int(np.argmin(mean))
        k_1se = int(np.flatnonzero(mean <= mean[k_min] + se[k_min])[0])  # lambdas decrease: first = largest λ
        k = k_1se if self.rule == "1se" else k_min
        self.groups_ = labels
        self.lambdas_ = lambdas
        self.coef_path_ = coefs
        self.intercept_path_ = intercepts
        self.cv_deviance_, self.cv_deviance_se_ = mean, se
        self.lambda_min_, self.lambda_1se_ = float(lambdas[k_min]), float(lambdas[k_1se])
        self.lambda_ = float(lambdas[k])
        self.coef_ = coefs[k]
        norms = {g: float(np.linalg.norm(coefs[k][m])) for g, m in zip(order, members, strict=True)}
        self.selected_groups_ = [g for g in order if norms[g] > 0]
        mask = np.array([norms[lab] > 0 for lab in labels])
        # score: how early (largest λ) a column's group enters the path, so the fallback keeps the strongest
        entered = np.array([next((len(lambdas) - i for i in range(len(lambdas)) if abs(coefs[i, j]) > 0), 0)
                            for j in range(X.shape[1])], dtype=float)
        return entered, mask

    def selection_path(self) -> dict[str, Any]:
        """The coefficient path and CV-deviance curve (JSON-ready) for the report."""
        names = [str(n) for n in getattr(self, "feature_names_in_", [f"x{i}" for i in range(len(self.coef_))])]
        return {
            "method": "group_lasso", "rule": self.rule, "lambdas": self.lambdas_.tolist(),
            "lambda_min": self.lambda_min_, "lambda_1se": self.lambda_1se_, "lambda": self.lambda_,
            "cv_deviance": self.cv_deviance_.tolist(), "cv_deviance_se": self.cv_deviance_se_.tolist(),
            "features": names, "groups": list(self.groups_), "coef_path": self.coef_path_.T.tolist(),
            "selected_groups": list(self.selected_groups_),
        }


def selection_paths(pipeline: Any) -> list[dict[str, Any]]:
    """The path / CV-deviance records of every fitted selector in ``pipeline`` that keeps one (results.json)."""
    out = []
    for name, step in getattr(pipeline, "steps", []):
        path = getattr(step, "selection_path", None)
        if callable(path) and hasattr(step, "lambdas_"):
            out.append({"step": name, **path()})
    return out
