"""Private input checks shared by the statistics modules (one message template, sklearn wording)."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from her2mri.exceptions import Her2MriError


class StatsInputError(Her2MriError, ValueError):
    """Invalid input to a statistic (wrong shape, values, or parameter)."""


def _same_kind(value: Any, accepted: Any) -> bool:
    if isinstance(value, bool | np.bool_) or isinstance(accepted, bool):
        return isinstance(value, bool | np.bool_) and isinstance(accepted, bool)
    if isinstance(accepted, str):
        return isinstance(value, str)
    if isinstance(accepted, numbers.Integral):
        return isinstance(value, numbers.Integral)
    return type(value) is type(accepted)


def check_param(name: str, value: Any, accepted: Sequence[Any], where: str) -> None:
    """Raise when ``value`` is not one of ``accepted`` (compared by type and value: 1 is not True, "1" not 1)."""
    try:
        ok = any(value is a or (_same_kind(value, a) and bool(value == a)) for a in accepted)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        options = ", ".join(repr(a) for a in accepted)
        msg = f"The {name!r} parameter of {where} must be one of {options}. Got {value!r} instead."
        raise StatsInputError(msg)


def _to_float(value: Any) -> float:
    """``float(value)`` for real numbers (bool excluded); NaN for anything else, so callers report it."""
    if isinstance(value, bool | np.bool_) or isinstance(value, str | bytes):
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def check_conf_level(conf_level: float, where: str) -> float:
    c = _to_float(conf_level)
    if not 0.0 < c < 1.0:
        msg = (f"The 'conf_level' parameter of {where} must be strictly between 0 and 1 (e.g. 0.95). "
               f"Got {conf_level!r} instead.")
        raise StatsInputError(msg)
    return c


def check_count(value: Any, name: str, where: str, *, minimum: int = 1) -> int:
    """An integer parameter (resample count, bins, groups) ``>= minimum``; 2.7, True, "5" or NaN are errors."""
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not ok and isinstance(value, float | np.floating) and np.isfinite(value) and float(value).is_integer():
        ok = True
    if not ok or int(value) < minimum:
        msg = (f"The {name!r} parameter of {where} must be an integer >= {minimum}. Got {value!r} instead.")
        raise StatsInputError(msg)
    return int(value)


def as_float_scalar(value: Any, name: str, where: str, *, allow_inf: bool = True) -> float:
    """A real number parameter (``threshold``, ``cutoff``); ``allow_inf`` admits ±inf, never NaN."""
    x = _to_float(value)
    if np.isnan(x) or (not allow_inf and np.isinf(x)):
        accepted = "a real number (±inf allowed)" if allow_inf else "a finite real number"
        msg = f"The {name!r} parameter of {where} must be {accepted}. Got {value!r} instead."
        raise StatsInputError(msg)
    return x


def as_float_array(values: Any, name: str, where: str) -> np.ndarray:
    """``np.asarray(values, dtype=float)`` with the package's error for text, ragged or non-numeric input."""
    if isinstance(values, str | bytes):
        msg = f"{where}: {name!r} must be an array of numbers; got a string {values[:40]!r}."
        raise StatsInputError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        msg = (f"{where}: {name!r} must be an array of numbers of one shape; got values numpy cannot read as "
               f"numbers ({exc}). Convert text to numbers and pass rows of equal length.")
        raise StatsInputError(msg) from None
    return arr


def as_float_1d(values: Any, name: str, where: str, *, allow_nan: bool = False) -> np.ndarray:
    arr = as_float_array(values, name, where)
    if arr.ndim != 1:
        msg = f"{where}: {name!r} must be one-dimensional; got shape {arr.shape}. Pass a 1-D array of numbers."
        raise StatsInputError(msg)
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        msg = (f"{where}: {name!r} contains a non-finite value at position {bad} ({arr[bad]!r}); "
               "accepted: finite numbers. Drop or impute missing values first.")
        raise StatsInputError(msg)
    return arr


def as_binary(y: Any, where: str, name: str = "y_true") -> np.ndarray:
    """0/1 integer labels (bool or {0,1} numbers); 1 = positive class."""
    if isinstance(y, str | bytes):
        msg = f"{where}: {name!r} must be an array of 0/1 labels; got a string {y[:40]!r}."
        raise StatsInputError(msg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(y)
    except (TypeError, ValueError) as exc:
        msg = f"{where}: {name!r} must be a 1-D array of 0/1 labels; got input numpy cannot read ({exc})."
        raise StatsInputError(msg) from None
    if arr.ndim != 1:
        msg = f"{where}: {name!r} must be one-dimensional; got shape {arr.shape}."
        raise StatsInputError(msg)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    try:
        num = arr.astype(float)
    except (TypeError, ValueError, OverflowError):
        num = np.array([np.nan])
    if num.size == 0 or not np.all(np.isin(num, (0.0, 1.0))):
        found = sorted({str(v) for v in arr.tolist()})[:6]
        msg = (f"{where}: {name!r} must hold only 0 (negative) and 1 (positive); got values {found}. "
               "Encode the positive class as 1 (e.g. Task.labels()).")
        raise StatsInputError(msg)
    return num.astype(np.int64)


def check_same_length(where: str, **arrays: np.ndarray) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        got = ", ".join(f"{k}={v}" for k, v in lengths.items())
        msg = f"{where}: inputs must have the same length; got {got}. Pass aligned arrays (one entry per case)."
        raise StatsInputError(msg)
    return next(iter(lengths.values()))


def check_both_classes(y: np.ndarray, where: str) -> tuple[int, int]:
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        msg = (f"{where}: needs at least one positive (1) and one negative (0) case; got {n_pos} positive and "
               f"{n_neg} negative. Check the label encoding or the subset passed.")
        raise StatsInputError(msg)
    return n_pos, n_neg


def check_direction(direction: str, where: str) -> None:
    check_param("direction", direction, (">", "<"), where)


def oriented(score: np.ndarray, direction: str) -> np.ndarray:
    """Scores oriented so that larger always means 'more likely positive'."""
    return score if direction == ">" else -score


def as_labels(values: Any, name: str, where: str, unit: str) -> np.ndarray:
    """One label per case (patient ids, group labels, ratings) as a 1-D object array; ``unit`` names one label
    in the messages. A single string, unreadable or multi-dimensional input is the package's error."""
    if isinstance(values, str | bytes):
        msg = f"{where}: {name!r} must hold one {unit} per case; got a single string {values[:40]!r}."
        raise StatsInputError(msg)
    try:
        arr = np.asarray(values, dtype=object)
    except (TypeError, ValueError) as exc:
        msg = f"{where}: {name!r} must be a 1-D sequence of {unit}s; got input that cannot be read ({exc})."
        raise StatsInputError(msg) from None
    if arr.ndim != 1:
        msg = f"{where}: {name!r} must be one-dimensional (one {unit} per case); got shape {arr.shape}."
        raise StatsInputError(msg)
    return arr


def as_groups(groups: Any, n: int, where: str, name: str = "groups") -> np.ndarray:
    """Patient ids as strings, one per case; a missing id (None, NaN, NA) is an error, not a shared patient."""
    import pandas as pd

    series = pd.Series(as_labels(groups, name, where, "patient id"), dtype=object)
    if len(series) != n:
        msg = f"{where}: inputs must have the same length; got y_true={n}, {name}={len(series)}."
        raise StatsInputError(msg)
    missing = series.isna().to_numpy()
    if missing.any():
        bad = int(np.flatnonzero(missing)[0])
        msg = (f"{where}: {name!r} has a missing patient id at position {bad} ({series.iloc[bad]!r}); "
               "accepted: one non-missing id per case. Fill in the ids or drop those cases.")
        raise StatsInputError(msg)
    return series.map(str).to_numpy(dtype=str)
