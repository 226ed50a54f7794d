"""Table 1: per-variable summaries by group, the test used recorded per row, FDR-adjusted p-values.

Rules (those of the seed papers, made explicit)
-----------------------------------------------
Continuous variables
    Normality by Shapiro–Wilk **within each group** (groups of 3–5000 observations); the variable counts as
    normal when every group has p > ``normality_alpha`` (0.05). Normal: ``mean ± SD``; two groups → Levene
    (median-centred) p > 0.05 → Student's t, else Welch's t; three or more groups → one-way ANOVA.
    Non-normal: ``median (Q1, Q3)``; Mann–Whitney (2 groups) or Kruskal–Wallis (3+).
    Quartiles are R's default type-7 quantiles.
Categorical variables (including 0/1 and yes/no)
    ``n (%)`` per level, percentages of the group's non-missing values. Chi-square when every expected count
    is >= 5 (Yates-corrected on 2×2, R's ``chisq.test`` default), otherwise Fisher's exact test (r×c by
    enumeration); when an r×c table is too large to enumerate the chi-square p is reported and a footnote
    says so. One p-value per variable, repeated on each of its level rows.
Multiplicity
    Benjamini–Hochberg (``correction="bh"``, default), Bonferroni or Holm across the variables of the table
    (one p-value per variable), in ``pvalue_adjusted``.
Missing values
    Excluded per variable; the count is in ``n_missing``.

Table 1 p-values describe the sample; they are not evidence for a model and should not drive feature
selection.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from her2mri.exceptions import StatisticalWarning
from her2mri.stats._checks import StatsInputError, as_float_1d, as_labels, check_param
from her2mri.stats._multiplicity import CORRECTIONS, Correction, p_adjust
from her2mri.stats.hypothesis import (
    FisherTooLargeError,
    anova_oneway,
    chi_square,
    expected_counts,
    fisher_exact,
    kruskal_wallis,
    levene,
    mann_whitney,
    shapiro_wilk,
    t_test,
)
from her2mri.stats.results import Table1Result, TestResult

__all__ = ["standardized_mean_difference", "table1", "table1_by_set"]


def _is_label(value: Any) -> bool:
    """A usable column label: a hashable scalar (lists, arrays and dicts are not)."""
    try:
        hash(value)
    except TypeError:
        return False
    return np.ndim(value) == 0


def _is_categorical(series: pd.Series, max_levels: int = 10) -> bool:
    if isinstance(series.dtype, pd.CategoricalDtype) or series.dtype == object or series.dtype == bool:
        return True
    if pd.api.types.is_string_dtype(series.dtype):
        return True
    values = series.dropna().unique()
    return len(values) <= 2 and set(np.asarray(values, dtype=float)) <= {0.0, 1.0}


def _levels(series: pd.Series) -> list[Any]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [c for c in series.cat.categories if (series == c).any()]
    values = series.dropna().unique().tolist()
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def _auto_digits(values: np.ndarray, normal: bool) -> int:
    """Decimals that show the variable's spread (SD, or IQR) with two significant digits: 1 for age or size in
    mm, 2 for EER or ADC in 10⁻³ mm²/s; between 1 and 4."""
    if values.size < 2:
        return 1
    spread = float(values.std(ddof=1)) if normal else float(np.subtract(*np.quantile(values, [0.75, 0.25])))
    if not np.isfinite(spread) or spread <= 0:
        spread = float(np.max(np.abs(values))) or 1.0
    return int(np.clip(1 - np.floor(np.log10(spread)), 1, 4))


def _is_normal(samples: list[np.ndarray], alpha: float) -> bool:
    for s in samples:
        if s.size < 3 or s.size > 5000 or np.ptp(s) == 0:
            return False
        if shapiro_wilk(s).pvalue <= alpha:
            return False
    return True


def _continuous_test(samples: list[np.ndarray], normal: bool, alpha: float) -> TestResult | None:
    """The rule-chosen test; ``None`` when a group is too small or all values are identical."""
    if any(s.size < 2 for s in samples) or np.ptp(np.concatenate(samples)) == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's degenerate-data warnings → nan p-values
        try:
            if len(samples) == 2:
                if normal:
                    equal = levene(*samples).pvalue > alpha
                    return t_test(samples[0], samples[1], equal_var=equal)
                return mann_whitney(samples[0], samples[1])
            return anova_oneway(*samples) if normal else kruskal_wallis(*samples)
        except ValueError:
            return None


def _label(value: Any) -> str:
    """Level label: 1.0 → "1", strings unchanged."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _categorical_test(table: np.ndarray, footnotes: list[str], variable: str) -> TestResult | None:
    t = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(t.shape) < 2:
        return None
    if np.all(expected_counts(t) >= 5):
        return chi_square(t, correction=True)
    try:
        return fisher_exact(t)
    except FisherTooLargeError:
        note = (f"{variable}: expected counts < 5 but the table is too large for Fisher's exact test; "
                "chi-square p-value shown.")
        footnotes.append(note)
        warnings.warn(note, StatisticalWarning, stacklevel=3)
        return chi_square(t, correction=True)


def table1(frame: pd.DataFrame, *, group: str, variables: Sequence[str] | None = None,
           categorical: Sequence[str] | None = None, correction: Correction = "bh",
           normality_alpha: float = 0.05, group_order: Sequence[Any] | None = None,
           digits: int = 1, continuous_digits: int | None = None) -> Table1Result:
    """Table 1 of ``variables`` compared across the levels of ``group`` (2 or more groups).

    ``categorical`` forces columns to be summarised as categories (object, category, bool and 0/1 columns are
    categorical automatically). The result frame has one row per continuous variable and one row per level
    of a categorical variable, with columns ``variable, level, <one column per group>, overall, summary,
    n_missing, test, statistic, pvalue, pvalue_adjusted``. See the module docstring for the rules.

    R equivalent: ``tableone::CreateTableOne`` with ``nonnormal`` chosen by Shapiro–Wilk and ``exact`` chosen
    by expected counts, plus ``p.adjust(method = "BH")``.

    ``digits`` are the decimals of percentages; continuous summaries use ``continuous_digits``, or by default
    as many decimals as show each variable's spread with two significant digits (0.94 (0.85, 1.06) for ADC,
    53.7 ± 10.6 for age).
    """
    where = "table1"
    check_param("correction", correction, CORRECTIONS, where)
    check_param("digits", digits, range(7), where)
    if continuous_digits is not None:
        check_param("continuous_digits", continuous_digits, range(7), where)
    if not isinstance(frame, pd.DataFrame):
        msg = f"{where}: 'frame' must be a pandas DataFrame; got {type(frame).__name__}."
        raise StatsInputError(msg)
    if not _is_label(group) or group not in frame.columns:
        msg = (f"{where}: group column {group!r} (argument 'group') not found; available: "
               f"{', '.join(map(str, frame.columns))}.")
        raise StatsInputError(msg)
    _as_series(frame[group], f"group column {group}", where)
    data = frame[frame[group].notna()]
    levels = list(group_order) if group_order is not None else _levels(data[group])
    if len(levels) < 2:
        msg = f"{where}: column {group!r} must have at least two groups; got {levels}."
        raise StatsInputError(msg)
    variables = [c for c in data.columns if c != group] if variables is None else list(variables)
    missing_cols = [v for v in variables if not _is_label(v) or v not in data.columns]
    if missing_cols:
        msg = f"{where}: 'variables' {missing_cols} not found in the frame; check the names."
        raise StatsInputError(msg)
    forced = set(categorical or ())
    names = [str(g) for g in levels]
    rows: list[dict[str, Any]] = []
    footnotes: list[str] = []
    var_p: dict[str, float] = {}
    group_masks = [(data[group] == g).to_numpy(dtype=bool) for g in levels]
    for var in variables:
        col = _as_series(data[var], f"variable {var}", where)
        n_missing = int(col.isna().sum())
        if var in forced or _is_categorical(col):
            cats = _levels(col)
            is_level = [(col == c).to_numpy(dtype=bool) for c in cats]
            table = np.array([[np.sum(in_group & at) for at in is_level] for in_group in group_masks], dtype=float)
            test = _categorical_test(table, footnotes, var) if len(cats) >= 2 else None
            totals = table.sum(axis=1)
            if not cats:  # every value missing
                rows.append({"variable": var, "level": "", "summary": "n (%)", "n_missing": n_missing,
                             **dict.fromkeys(names, "–"), "overall": "–"})
            for j, c in enumerate(cats):
                row = {"variable": var, "level": _label(c), "summary": "n (%)", "n_missing": n_missing}
                for i, g in enumerate(names):
                    pct = 100 * table[i, j] / totals[i] if totals[i] else float("nan")
                    row[g] = f"{int(table[i, j])} ({_fmt(pct, digits)}%)"
                all_n = table[:, j].sum()
                row["overall"] = f"{int(all_n)} ({_fmt(100 * all_n / table.sum(), digits)}%)"
                rows.append(row)
            first = len(rows) - max(len(cats), 1)
        else:
            values = pd.to_numeric(col, errors="coerce")
            infinite = np.flatnonzero(np.isinf(values.to_numpy(dtype=float)))
            if infinite.size:
                msg = (f"{where}: variable {var!r} has an infinite value ({values.iloc[infinite[0]]!r}) at row "
                       f"{infinite[0] + 1} of the rows with a group; accepted: finite numbers or missing values.")
                raise StatsInputError(msg)
            samples = [values[data[group] == g].dropna().to_numpy(dtype=float) for g in levels]
            normal = _is_normal(samples, normality_alpha)
            test = _continuous_test(samples, normal, normality_alpha)
            row = {"variable": var, "level": "", "summary": "mean ± SD" if normal else "median (Q1, Q3)",
                   "n_missing": n_missing}
            pooled = values.dropna().to_numpy(dtype=float)
            places = continuous_digits if continuous_digits is not None else _auto_digits(pooled, normal)
            for g, s in zip(names, samples, strict=True):
                row[g] = _describe(s, normal, places)
            row["overall"] = _describe(pooled, normal, places)
            rows.append(row)
            first = len(rows) - 1
        for r in rows[first:]:
            r["test"] = test.method if test is not None else "not tested"
            r["statistic"] = test.statistic if test is not None else float("nan")
            r["pvalue"] = test.pvalue if test is not None else float("nan")
        var_p[var] = test.pvalue if test is not None else float("nan")
    adjusted = dict(zip(var_p, p_adjust(list(var_p.values()), correction), strict=True))
    for r in rows:
        r["pvalue_adjusted"] = adjusted[r["variable"]]
    columns = ["variable", "level", *names, "overall", "summary", "n_missing", "test", "statistic", "pvalue",
               "pvalue_adjusted"]
    footnotes.append("Continuous: mean ± SD when Shapiro–Wilk p > 0.05 in every group, else median (Q1, Q3).")
    footnotes.append(f"p-values adjusted across variables ({correction}).")
    return Table1Result(table=pd.DataFrame(rows, columns=columns), group=group, groups=tuple(names),
                        footnotes=tuple(footnotes), correction=correction)


def _describe(s: np.ndarray, normal: bool, digits: int) -> str:
    if s.size == 0:
        return "–"
    if normal:
        sd = s.std(ddof=1) if s.size > 1 else float("nan")
        return f"{_fmt(s.mean(), digits)} ± {_fmt(sd, digits)}"
    q1, med, q3 = np.quantile(s, [0.25, 0.5, 0.75])
    return f"{_fmt(med, digits)} ({_fmt(q1, digits)}, {_fmt(q3, digits)})"


def _as_series(values: Any, name: str, where: str) -> pd.Series:
    """One variable's values as a Series of scalars (numbers, text, NA)."""
    if not isinstance(values, pd.Series):
        values = pd.Series(as_labels(values, name, where, "value"))
    if values.dtype == object:
        bad = [i for i, v in enumerate(values.tolist()) if np.ndim(v) != 0 or isinstance(v, dict | set)]
        if bad:
            msg = (f"{where}: {name!r} holds a non-scalar value at position {bad[0]} "
                   f"({values.iloc[bad[0]]!r}); accepted: numbers, text or missing values.")
            raise StatsInputError(msg)
    return values


def standardized_mean_difference(a: pd.Series, b: pd.Series, *, categorical: bool | None = None) -> float:
    """Standardised mean difference between two samples of one variable.

    Continuous: ``(mean_a − mean_b) / √((sd_a² + sd_b²)/2)``. Categorical: the multivariate SMD of Yang &
    Dalton (2012) over the level indicators (``√(dᵀ S⁻¹ d)`` with ``S`` the average of the two covariance
    matrices, first level dropped), which reduces to the usual binary formula for two levels (sign dropped).
    |SMD| > 0.1 is the usual flag for imbalance. R: ``tableone::ExtractSmd``.
    """
    where = "standardized_mean_difference"
    a, b = _as_series(a, "a", where), _as_series(b, "b", where)
    is_cat = _is_categorical(pd.concat([a, b])) if categorical is None else bool(categorical)
    a, b = a.dropna(), b.dropna()
    if a.empty or b.empty:
        return float("nan")
    if not is_cat:
        x = as_float_1d(a.to_numpy(dtype=object), "a", where)
        y = as_float_1d(b.to_numpy(dtype=object), "b", where)
        pooled = np.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2)
        return float((x.mean() - y.mean()) / pooled) if pooled > 0 else 0.0
    cats = _levels(pd.concat([a, b]))[1:]
    if not cats:
        return 0.0
    pa = np.array([(a == c).mean() for c in cats])
    pb = np.array([(b == c).mean() for c in cats])
    d = pa - pb
    sa = np.diag(pa) - np.outer(pa, pa)
    sb = np.diag(pb) - np.outer(pb, pb)
    s = (sa + sb) / 2
    value = float(d @ np.linalg.pinv(s) @ d)
    return float(np.sqrt(max(value, 0.0)))


def table1_by_set(frames: Mapping[str, pd.DataFrame], *, variables: Sequence[str] | None = None,
                  categorical: Sequence[str] | None = None, group: str | None = None,
                  correction: Correction = "bh", reference: str | None = None, digits: int = 1,
                  continuous_digits: int | None = None) -> Table1Result:
    """Training / internal / external sets side by side.

    Without ``group``: one column per set (summaries over the whole set), a test comparing the sets (rules of
    :func:`table1`, with the set as the group) and ``smd_<set>`` columns: standardised mean difference of each
    set against ``reference`` (default: the first set, normally training). With ``group`` (e.g. HER2 class):
    the per-set group columns are ``<set>: <group level>`` and per-set p-values ``pvalue (<set>)`` /
    ``pvalue_adjusted (<set>)``; SMD columns compare the whole sets as before.
    """
    where = "table1_by_set"
    if not isinstance(frames, Mapping) or len(frames) < 2:
        msg = (f"{where}: 'frames' must be a mapping of at least two set names to frames (e.g. train, internal, "
               f"external); got {type(frames).__name__}.")
        raise StatsInputError(msg)
    not_frames = [str(k) for k, f in frames.items() if not isinstance(f, pd.DataFrame)]
    if not_frames:
        msg = f"{where}: 'frames' entries {not_frames} are not pandas DataFrames."
        raise StatsInputError(msg)
    names = list(frames)
    reference = names[0] if reference is None else reference
    if not _is_label(reference) or reference not in frames:
        msg = f"{where}: 'reference' set {reference!r} not among {names}."
        raise StatsInputError(msg)
    if variables is None:
        variables = [c for c in frames[names[0]].columns if c != group]
    variables = [variables] if isinstance(variables, str) else list(variables)
    absent = [(n, v) for n, f in frames.items() for v in variables if not _is_label(v) or v not in f.columns]
    if absent:
        msg = f"{where}: 'variables' missing from a set: {absent[:5]} (set, variable); check the names."
        raise StatsInputError(msg)
    key = "__set__"
    stacked = pd.concat([f.assign(**{key: n}) for n, f in frames.items()], ignore_index=True)
    stacked[key] = pd.Categorical(stacked[key], categories=names)
    base = table1(stacked, group=key, variables=variables, categorical=categorical, correction=correction,
                  group_order=names, digits=digits, continuous_digits=continuous_digits)
    table = base.to_frame()
    cats = set(categorical or ())
    for n in names:
        if n == reference:
            continue
        smd = {}
        for var in variables:
            is_cat = var in cats or _is_categorical(stacked[var])
            smd[var] = standardized_mean_difference(frames[n][var], frames[reference][var], categorical=is_cat)
        table[f"smd_{n}"] = table["variable"].map(smd)
    footnotes = list(base.footnotes)
    footnotes.append(f"smd_<set>: standardised mean difference against the {reference!r} set.")
    if group is not None:
        for n in names:
            sub = table1(frames[n], group=group, variables=variables, categorical=categorical,
                         correction=correction, digits=digits, continuous_digits=continuous_digits).to_frame()
            groups = [c for c in sub.columns if c not in ("variable", "level", "overall", "summary", "n_missing",
                                                           "test", "statistic", "pvalue", "pvalue_adjusted")]
            sub = sub.rename(columns={g: f"{n}: {g}" for g in groups})
            sub = sub.rename(columns={"pvalue": f"pvalue ({n})", "pvalue_adjusted": f"pvalue_adjusted ({n})",
                                      "test": f"test ({n})"})
            keep = ["variable", "level", *[f"{n}: {g}" for g in groups], f"test ({n})", f"pvalue ({n})",
                    f"pvalue_adjusted ({n})"]
            table = table.merge(sub[keep], on=["variable", "level"], how="left")
    return Table1Result(table=table, group=group or "set", groups=tuple(names), footnotes=tuple(footnotes),
                        correction=correction)
