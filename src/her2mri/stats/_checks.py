"""Private input checks shared by the statistics modules (one message template, sklearn wording)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from her2mri.exceptions import Her2MriError


class StatsInputError(Her2MriError, ValueError):
    """Invalid input to a statistic (wrong shape, values, or parameter)."""


def check_param(name: str, value: Any, accepted: Sequence[Any], where: str) -> None:
    """Raise when ``value`` is not one of ``accepted``."""
    if value not in accepted:
        options = ", ".join(repr(a) for a in accepted)
        msg = f"The {name!r} parameter of {where} must be one of {options}. Got {value!r} instead."
        raise StatsInputError(msg)


def check_conf_level(conf_level: float, where: str) -> float:
    c = float(conf_level)
    if not 0.0 < c < 1.0:
        msg = (f"The 'conf_level' parameter of {where} must be strictly between 0 and 1 (e.g. 0.95). "
               f"Got {conf_level!r} instead.")
        raise StatsInputError(msg)
    return c


def as_float_1d(values: Any, name: str, where: str, *, allow_nan: bool = False) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
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
    arr = np.asarray(y)
    if arr.ndim != 1:
        msg = f"{where}: {name!r} must be one-dimensional; got shape {arr.shape}."
        raise StatsInputError(msg)
    if arr.dtype == bool:
        return arr.astype(np.int64)
    try:
        num = arr.astype(float)
    except (TypeError, ValueError):
        num = np.array([np.nan])
    if num.size == 0 or not np.all(np.isin(num, (0.0, 1.0))):
        found = sorted({str(v) for v in np.unique(arr.astype(str))})[:6]
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
