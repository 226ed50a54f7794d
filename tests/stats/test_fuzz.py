"""Fuzzing the public statistics API: any input gives a result or the package's own error, never a built-in one.

Every function re-exported by :mod:`her2mri.stats` is called with odd arguments — empty, NaN, ±inf, text, None,
ragged, two-dimensional, constant, of mismatched lengths, out-of-range parameters — mixed with well-formed
ones so that the calls also reach the computations. A call must return, or raise a :class:`Her2MriError`
whose message names the function or one of its arguments. Numpy's runtime warnings are not the subject here
and are silenced.

The examples are derandomised (the same on every run) and few, to keep the suite fast;
``HER2MRI_FUZZ_EXAMPLES=500`` draws 500 random examples per function to explore more of the input space.
"""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from her2mri import stats
from her2mri.exceptions import Her2MriError

ODD_SCALARS = [None, "abc", "", float("nan"), float("inf"), -1, 0, True, [1, 2], {"a": 1}]
FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
ELEMENTS = st.one_of(FLOATS, st.integers(-3, 3), st.sampled_from(["a", "1", "", None, True, pd.NA]))


def _vector(n: int, kind: str) -> st.SearchStrategy[Any]:
    """Mostly well-formed vectors of length n of the given kind, sometimes odd."""
    length = st.one_of(st.just(n), st.just(n), st.integers(0, 7))
    good = {
        "labels": length.flatmap(lambda k: st.lists(st.integers(0, 1), min_size=k, max_size=k)),
        "prob": length.flatmap(lambda k: st.lists(st.floats(0, 1), min_size=k, max_size=k)),
        "score": length.flatmap(lambda k: st.lists(st.integers(-3, 3) | st.floats(-5, 5), min_size=k, max_size=k)),
        "time": length.flatmap(lambda k: st.lists(st.integers(0, 20), min_size=k, max_size=k)),
        "group": length.flatmap(lambda k: st.lists(st.sampled_from(["a", "b", "c", None, np.nan]), min_size=k,
                                                    max_size=k)),
    }[kind]
    odd = st.one_of(
        length.flatmap(lambda k: st.lists(FLOATS, min_size=k, max_size=k)),
        length.flatmap(lambda k: st.lists(ELEMENTS, min_size=k, max_size=k)),
        length.map(lambda k: [0.5] * k),
        st.lists(st.lists(st.integers(0, 3), max_size=3), max_size=4),  # ragged or 2-D
        st.sampled_from(ODD_SCALARS),
        st.just(np.zeros((2, 3))),
    )
    return st.one_of(good, good, odd)


def _param(*accepted: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(accepted), st.sampled_from(ODD_SCALARS))


CONF = _param(0.95, 0.8)
COUNT = _param(3, 5)
DIRECTION = _param(">", "<")


def _scores_mapping(n: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.dictionaries(st.sampled_from(["m1", "m2", "m3"]), _vector(n, "score"), max_size=3),
        _vector(n, "score"),
    )


def _table() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(st.lists(st.integers(0, 9), min_size=2, max_size=3), min_size=2, max_size=3),  # maybe ragged
        st.lists(st.lists(ELEMENTS, min_size=2, max_size=2), min_size=2, max_size=2),
        st.sampled_from(ODD_SCALARS),
        st.just([[0, 0], [0, 0]]),
        st.just([]),
    )


def _frame_from(cols: dict[str, Any], n: int) -> pd.DataFrame:
    """A frame of n rows from column values of any length (cut or padded with None; arrays become None)."""
    data = {}
    for k, v in cols.items():
        cells = [c if np.ndim(c) == 0 else None for c in (v if isinstance(v, list) else [v] * n)][:n]
        data[k] = cells + [None] * (n - len(cells))
    return pd.DataFrame(data)


def _frame(n: int) -> st.SearchStrategy[pd.DataFrame]:
    return st.fixed_dictionaries({
        "y": _vector(n, "labels"), "s": _vector(n, "score"), "g": _vector(n, "group"), "x": _vector(n, "score"),
    }).map(lambda cols: _frame_from(cols, n))


def _mrmc_frame(n: int) -> st.SearchStrategy[pd.DataFrame]:
    """Long MRMC frames, usually not fully crossed or with odd cells."""
    m = 4 * max(n, 1)
    return st.fixed_dictionaries({
        "truth": _vector(m, "labels"), "rating": _vector(m, "score"),
        "reader": st.lists(st.sampled_from(["r1", "r2", None]), min_size=m, max_size=m),
        "treatment": st.lists(st.sampled_from(["A", "B"]), min_size=m, max_size=m),
        "case": st.lists(st.integers(0, max(n, 1)), min_size=m, max_size=m),
    }).map(lambda cols: _frame_from(cols, m))


def _mrmc_array(n: int) -> st.SearchStrategy[Any]:
    cell = st.floats(-3, 3) | FLOATS | st.sampled_from(["a", None])
    return st.integers(1, 2).flatmap(lambda t: st.integers(1, 2).flatmap(
        lambda r: st.lists(st.lists(st.lists(cell, min_size=n, max_size=n), min_size=r, max_size=r),
                           min_size=t, max_size=t)))


# name → (function to call, strategy of (args, kwargs) given n)
Spec = Callable[[int], st.SearchStrategy[tuple[tuple[Any, ...], dict[str, Any]]]]


def _call(*args: st.SearchStrategy[Any], **kwargs: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.tuples(st.tuples(*args), st.fixed_dictionaries(kwargs))


SPECS: dict[str, Spec] = {
    "auc": lambda n: _call(_vector(n, "labels"), _vector(n, "score"), direction=DIRECTION),
    "auc_ci": lambda n: _call(_vector(n, "labels"), _vector(n, "score"), conf_level=CONF, direction=DIRECTION),
    "roc_curve": lambda n: _call(_vector(n, "labels"), _vector(n, "score"), direction=DIRECTION),
    "youden_threshold": lambda n: _call(_vector(n, "labels"), _vector(n, "score"), direction=DIRECTION),
    "delong_test": lambda n: _call(_vector(n, "labels"), _vector(n, "score"), _vector(n, "score"),
                                   conf_level=CONF, direction=DIRECTION),
    "delong_test_unpaired": lambda n: _call(_vector(n, "labels"), _vector(n, "score"), _vector(n, "labels"),
                                            _vector(n, "score"), conf_level=CONF),
    "delong_covariance": lambda n: _call(_vector(n, "labels"), _scores_mapping(n), direction=DIRECTION),
    "delong_matrix": lambda n: _call(_vector(n, "labels"), _scores_mapping(n),
                                     correction=_param("none", "holm", "bh")),
    "bootstrap_ci": lambda n: _call(_vector(n, "labels"), _vector(n, "score"), n_resamples=COUNT, conf_level=CONF,
                                    groups=st.none() | _vector(n, "group"), stratify=st.booleans(),
                                    random_state=_param(0, 1), ci_method=_param("percentile", "bca"),
                                    direction=DIRECTION),
    "resample_counts": lambda n: _call(_vector(n, "labels"), n_resamples=COUNT,
                                       groups=st.none() | _vector(n, "group"), random_state=_param(0)),
    "diagnostic_metrics": lambda n: _call(_vector(n, "labels"), _vector(n, "score"),
                                          _param(0.5, 0.0, float("-inf"), float("inf")),
                                          ci_method=_param("wilson", "clopper_pearson"), conf_level=CONF,
                                          n_resamples=_param(0, 3), groups=st.none() | _vector(n, "group"),
                                          random_state=_param(0), direction=DIRECTION),
    "proportion_ci": lambda n: _call(_param(0, 1, 3, 5, 2.5), _param(1, 5, 10, 0),
                                     method=_param("wilson", "clopper_pearson"), conf_level=CONF),
    "calibration": lambda n: _call(_vector(n, "labels"), _vector(n, "prob"), concordance=_param("exact", "lrm")),
    "calibration_curve": lambda n: _call(_vector(n, "labels"), _vector(n, "prob"), method=_param("binned", "loess"),
                                         n_bins=COUNT, strategy=_param("quantile", "uniform"), conf_level=CONF),
    "hosmer_lemeshow": lambda n: _call(_vector(n, "labels"), _vector(n, "prob"), _param(3, 4, 10),
                                       grouping=_param("quantile", "equal_count")),
    "logistic_recalibration": lambda n: _call(_vector(n, "labels"), _vector(n, "prob")),
    "net_benefit": lambda n: _call(_vector(n, "labels"), _vector(n, "prob"), st.none() | _vector(3, "prob")),
    "decision_curve": lambda n: _call(_vector(n, "labels"), _vector(n, "prob"),
                                      thresholds=st.none() | _vector(3, "prob"), n_resamples=_param(0, 3),
                                      conf_level=CONF, groups=st.none() | _vector(n, "group"),
                                      random_state=_param(0),
                                      optimal_rule=_param("max_advantage", "max_net_benefit")),
    "clinical_impact": lambda n: _call(_vector(n, "labels"), _vector(n, "prob"),
                                       thresholds=st.none() | _vector(3, "prob"), population=_param(1000, 100)),
    "optimal_threshold": lambda n: _call(_vector(3, "prob"), _vector(3, "score"), _vector(3, "score"),
                                         rule=_param("max_advantage", "max_net_benefit")),
    "cohen_kappa": lambda n: _call(_vector(n, "labels"), _vector(n, "labels"),
                                   weights=_param(None, "linear", "quadratic"), conf_level=CONF,
                                   categories=st.none() | _vector(3, "labels"),
                                   se_method=_param("fleiss_cohen_everitt", "psych")),
    "icc": lambda n: _call(st.one_of(st.lists(_vector(3, "score"), max_size=5), _table()), conf_level=CONF),
    "t_test": lambda n: _call(_vector(n, "score"), _vector(n, "score"), equal_var=st.booleans()),
    "mann_whitney": lambda n: _call(_vector(n, "score"), _vector(n, "score"), correct=st.booleans()),
    "anova_oneway": lambda n: _call(_vector(n, "score"), _vector(n, "score"), _vector(n, "score")),
    "kruskal_wallis": lambda n: _call(_vector(n, "score"), _vector(n, "score")),
    "levene": lambda n: _call(_vector(n, "score"), _vector(n, "score"), center=_param("median", "mean")),
    "shapiro_wilk": lambda n: _call(_vector(n, "score")),
    "chi_square": lambda n: _call(_table(), correction=st.booleans()),
    "fisher_exact": lambda n: _call(_table()),
    "categorical_test": lambda n: _call(_table(), correction=st.booleans()),
    "p_adjust": lambda n: _call(_vector(n, "prob"), _param("bh", "holm", "bonferroni", "none")),
    "kaplan_meier": lambda n: _call(_vector(n, "time"), _vector(n, "labels"), conf_level=CONF),
    "logrank_test": lambda n: _call(_vector(n, "time"), _vector(n, "labels"), _vector(n, "group")),
    "cox_ph": lambda n: _call(_vector(n, "time"), _vector(n, "labels"), _vector(n, "score"), conf_level=CONF),
    "concordance_index": lambda n: _call(_vector(n, "time"), _vector(n, "labels"), _vector(n, "score")),
    "score_cutoff": lambda n: _call(_vector(n, "score"), method=_param("median", "youden"),
                                    y_train=st.none() | _vector(n, "labels")),
    "stratify_by_score": lambda n: _call(_vector(n, "score"), _param(0.0, 1.5)),
    "standardized_mean_difference": lambda n: _call(_vector(n, "score").map(_series), _vector(n, "score").map(_series),
                                                    categorical=st.sampled_from([None, True, False])),
    "table1": lambda n: _call(_frame(n), group=_param("g", "y", "missing"),
                              variables=st.none() | st.just(["x", "s"]), digits=_param(1, 2)),
    "feature_drift": lambda n: _call(_frame(n), _frame(n), st.none() | st.just(["x", "s"])),
    "subgroup_metrics": lambda n: _call(_frame(n), _param("y", "nope"), _param("s"), _param(0.5, 0.0), st.just(("g",)),
                                        conf_level=CONF, min_per_class=_param(1, 2)),
    "logistic_regression": lambda n: _call(_frame(n).map(lambda f: f[["x", "s"]]), _vector(n, "labels"),
                                           conf_level=CONF),
    "design_matrix": lambda n: _call(_frame(n), categorical=st.none() | st.just(["g"])),
    "table1_by_set": lambda n: _call(st.one_of(st.dictionaries(st.sampled_from(["train", "test"]), _frame(n),
                                                               max_size=2), st.sampled_from(ODD_SCALARS)),
                                     variables=st.none() | st.just(["x", "s"]), group=_param(None, "g", "nope"),
                                     reference=_param(None, "train", "other")),
    "or_hillis": lambda n: _call(st.one_of(_mrmc_frame(n), _mrmc_array(n), st.sampled_from(ODD_SCALARS)),
                                 st.none() | _vector(n, "labels"), cov_method=_param("jackknife", "delong"),
                                 conf_level=CONF),
    "optimism_corrected": lambda n: _call(st.just(LogisticRegression()), _vector(n, "score").map(_column),
                                          _vector(n, "labels"), n_resamples=_param(2, 3),
                                          groups=st.none() | _vector(n, "group"), random_state=_param(0),
                                          stratify=st.booleans()),
}


def _series(values: Any) -> Any:
    try:
        return pd.Series(values)
    except (TypeError, ValueError):
        return values


def _column(values: Any) -> Any:
    try:
        return np.asarray(values, dtype=object).reshape(-1, 1)
    except (TypeError, ValueError):
        return values


#: HER2MRI_FUZZ_EXAMPLES=<n>: n random (not derandomised) examples per function instead of the fixed 15
_EXPLORE = os.environ.get("HER2MRI_FUZZ_EXAMPLES")

FUNCTIONS = sorted(n for n in stats.__all__ if callable(getattr(stats, n)) and not isinstance(getattr(stats, n), type))


def test_every_public_function_is_fuzzed():
    assert set(FUNCTIONS) == set(SPECS), sorted(set(FUNCTIONS) ^ set(SPECS))


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(max_examples=int(_EXPLORE or 15), deadline=None, derandomize=not _EXPLORE, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_public_function_gives_result_or_package_error(name, data):
    n = data.draw(st.integers(0, 12), label="n")
    args, kwargs = data.draw(SPECS[name](n), label="call")
    func = getattr(stats, name)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            func(*args, **kwargs)
    except Her2MriError as exc:
        message = str(exc)
        params = [p for p in inspect.signature(func).parameters if len(p) > 1]
        assert name in message or any(p in message for p in params), message
