"""Minimum-redundancy maximum-relevance (mRMR) selection (Peng, Long & Ding, IEEE TPAMI 2005).

Greedy forward selection of ``k`` features. Relevance of feature j to the outcome: the ANOVA F-statistic
(``relevance="f"``) or the mutual information (``"mi"``, sklearn's k-NN estimator, seeded). Redundancy: the mean
absolute Pearson correlation of j with the features already selected. At each step the feature maximising
``relevance − redundancy`` (``scheme="difference"``, MID; relevance rescaled to [0, 1] first, so both terms are
comparable) or ``relevance / redundancy`` (``"quotient"``, MIQ) is added. The first pick is the most relevant.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.feature_selection import mutual_info_classif

from her2mri.exceptions import FitError
from her2mri.features._base import BaseSelector, _safe_f

__all__ = ["MrmrSelector"]


class MrmrSelector(BaseSelector):
    """Greedy mRMR: keep ``k`` features. ``scores_`` = relevance; ``ranking_`` = selection order (column indices)."""

    def __init__(
        self,
        k: int = 10,
        relevance: Literal["f", "mi"] = "f",
        scheme: Literal["difference", "quotient"] = "difference",
        random_state: int | None = None,
    ) -> None:
        self.k = k
        self.relevance = relevance
        self.scheme = scheme
        self.random_state = random_state

    def _select(self, X: np.ndarray, y: np.ndarray | None, **fit_params: Any) -> tuple[np.ndarray, np.ndarray]:
        if self.relevance == "f":
            rel = _safe_f(X, y)[0]
        elif self.relevance == "mi":
            rel = mutual_info_classif(X, y, random_state=self.random_state)
        else:
            msg = f"The 'relevance' parameter of MrmrSelector must be 'f' or 'mi'. Got {self.relevance!r} instead."
            raise FitError(msg)
        if self.scheme not in ("difference", "quotient"):
            msg = f"The 'scheme' parameter of MrmrSelector must be 'difference' or 'quotient'. Got {self.scheme!r} instead."
            raise FitError(msg)
        rel = np.nan_to_num(np.asarray(rel, dtype=float), nan=0.0)
        top = rel.max() if rel.size and rel.max() > 0 else 1.0
        rel_scaled = rel / top
        n, p = X.shape
        sd = X.std(axis=0)
        z = np.where(sd > 0, (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1), 0.0)
        k = int(min(max(self.k, 0), p))
        chosen: list[int] = []
        redundancy_sum = np.zeros(p)
        available = np.ones(p, dtype=bool)
        for step in range(k):
            if step == 0:
                crit = rel_scaled.copy()
            else:
                red = redundancy_sum / step
                if self.scheme == "difference":
                    crit = rel_scaled - red
                else:
                    crit = rel_scaled / np.maximum(red, 1e-12)
            crit = np.where(available, crit, -np.inf)
            j = int(np.argmax(crit))
            chosen.append(j)
            available[j] = False
            redundancy_sum += np.abs(z.T @ z[:, j] / n)
        self.ranking_ = np.asarray(chosen, dtype=np.int64)
        mask = np.zeros(p, dtype=bool)
        mask[chosen] = True
        return rel, mask
