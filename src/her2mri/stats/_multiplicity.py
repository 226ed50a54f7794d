"""Multiplicity adjustment of p-values (R ``p.adjust``), shared by roc, hypothesis and table1."""

from __future__ import annotations

from typing import Literal

import numpy as np

from her2mri.stats._checks import StatsInputError, as_float_array, check_param

Correction = Literal["none", "holm", "bonferroni", "bh"]
CORRECTIONS: tuple[str, ...] = ("none", "holm", "bonferroni", "bh")


def p_adjust(pvalues: object, method: Correction = "bh") -> np.ndarray:
    """Adjust p-values for multiple comparisons, exactly as R's ``p.adjust``.

    ``method``: ``"bh"`` (Benjamini–Hochberg FDR, R ``"BH"``/``"fdr"``), ``"bonferroni"``, ``"holm"`` or
    ``"none"``. ``nan`` entries are left as ``nan`` and do not count towards the number of tests (R's
    ``n = length(p[!is.na(p)])``). Adjusted values are capped at 1.
    """
    check_param("method", method, CORRECTIONS, "p_adjust")
    p = as_float_array(pvalues, "pvalues", "p_adjust")
    shape = p.shape
    flat = p.ravel()
    out = np.full(flat.shape, np.nan)
    ok = ~np.isnan(flat)
    q = flat[ok]
    if np.any((q < 0) | (q > 1)):
        msg = (f"p_adjust: 'pvalues' must lie in [0, 1] (nan allowed); got {q[(q < 0) | (q > 1)][:5].tolist()}. "
               "Pass raw p-values.")
        raise StatsInputError(msg)
    m = q.size
    if m == 0:
        return out.reshape(shape)
    if method == "none":
        adj = q.copy()
    elif method == "bonferroni":
        adj = np.minimum(1.0, q * m)
    elif method == "holm":
        order = np.argsort(q, kind="mergesort")
        stepped = np.maximum.accumulate((m - np.arange(m)) * q[order])
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, stepped)
    else:  # bh
        order = np.argsort(q, kind="mergesort")[::-1]
        ranks = np.arange(m, 0, -1)
        stepped = np.minimum.accumulate(m / ranks * q[order])
        adj = np.empty(m)
        adj[order] = np.minimum(1.0, stepped)
    out[ok] = adj
    return out.reshape(shape)
