"""Classical hypothesis tests used for Table 1, with R's conventions (stats, car).

Every function returns :class:`~her2mri.stats.results.TestResult` (``statistic, pvalue, method, df, n``),
which also unpacks as ``statistic, pvalue``. R equivalents:

=====================  ===========================================================================
``t_test``             ``t.test(x, y, var.equal = FALSE)`` (Welch, default) or ``var.equal = TRUE``
``anova_oneway``       ``summary(aov(x ~ g))``
``kruskal_wallis``     ``kruskal.test(x ~ g)`` (tie-corrected)
``chi_square``         ``chisq.test(table, correct = TRUE)`` — Yates applies to 2×2 tables only,
                       with R's ``min(0.5, |O − E|)`` guard
``fisher_exact``       ``fisher.test(table)`` — 2×2 and r×c by full enumeration (R's relative
                       tolerance 1e-7 for "as or less likely" tables)
``mann_whitney``       ``wilcox.test(x, y, exact = FALSE, correct = TRUE)`` (normal approximation
                       with tie and continuity correction)
``shapiro_wilk``       ``shapiro.test(x)`` (Royston's algorithm, 3 <= n <= 5000)
``levene``             ``car::leveneTest(x ~ g, center = median)`` (Brown–Forsythe)
``p_adjust``           ``p.adjust(p, "BH" | "bonferroni" | "holm")``
=====================  ===========================================================================
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy import stats as sps
from scipy.special import gammaln

from her2mri.exceptions import StatisticalWarning
from her2mri.stats._checks import StatsInputError, as_float_1d, as_float_array
from her2mri.stats._multiplicity import p_adjust
from her2mri.stats.results import TestResult

__all__ = [
    "anova_oneway",
    "chi_square",
    "fisher_exact",
    "kruskal_wallis",
    "levene",
    "mann_whitney",
    "p_adjust",
    "shapiro_wilk",
    "t_test",
]

#: tables with more candidate tables than this are not enumerated by :func:`fisher_exact`
FISHER_MAX_TABLES = 500_000
#: :func:`fisher_exact` refuses tables with more observations than this (use chi-square at such sizes)
FISHER_MAX_N = 1_000_000


class FisherTooLargeError(StatsInputError):
    """The r×c table has too many tables with its margins for exact enumeration."""


def _samples(groups: tuple[Any, ...], where: str, minimum: int = 2) -> list[np.ndarray]:
    if len(groups) < 2:
        msg = f"{where}: needs at least two groups; got {len(groups)}. Pass one array per group."
        raise StatsInputError(msg)
    out = [as_float_1d(g, f"group {i + 1}", where) for i, g in enumerate(groups)]
    for i, g in enumerate(out):
        if g.size < minimum:
            msg = f"{where}: group {i + 1} has {g.size} observations; at least {minimum} are needed."
            raise StatsInputError(msg)
    return out


def t_test(x: Any, y: Any, *, equal_var: bool = False) -> TestResult:
    """Two-sample t test: Welch (default) or Student (``equal_var=True``). R: ``t.test``."""
    a, b = _samples((x, y), "t_test")
    res = sps.ttest_ind(a, b, equal_var=equal_var)
    if equal_var:
        df = float(a.size + b.size - 2)
    else:
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        df = float((va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1)))
    name = "Student two-sample t test" if equal_var else "Welch two-sample t test"
    return TestResult(statistic=float(res.statistic), pvalue=float(res.pvalue), method=name, df=df,
                      n=int(a.size + b.size), estimate=float(a.mean() - b.mean()))


def anova_oneway(*groups: Any) -> TestResult:
    """One-way ANOVA F test. R: ``summary(aov(x ~ g))``."""
    samples = _samples(groups, "anova_oneway")
    res = sps.f_oneway(*samples)
    n = sum(s.size for s in samples)
    return TestResult(statistic=float(res.statistic), pvalue=float(res.pvalue), method="one-way ANOVA",
                      df=(float(len(samples) - 1), float(n - len(samples))), n=int(n))


def kruskal_wallis(*groups: Any) -> TestResult:
    """Kruskal–Wallis rank-sum test (tie-corrected). R: ``kruskal.test``."""
    samples = _samples(groups, "kruskal_wallis", minimum=1)
    res = sps.kruskal(*samples)
    return TestResult(statistic=float(res.statistic), pvalue=float(res.pvalue), method="Kruskal-Wallis",
                      df=float(len(samples) - 1), n=int(sum(s.size for s in samples)))


def mann_whitney(x: Any, y: Any, *, correct: bool = True) -> TestResult:
    """Wilcoxon–Mann–Whitney rank-sum test, normal approximation with tie and continuity correction.

    R: ``wilcox.test(x, y, exact = FALSE, correct = TRUE)``; ``statistic`` is R's W (the U of ``x``).
    """
    a, b = _samples((x, y), "mann_whitney", minimum=1)
    res = sps.mannwhitneyu(a, b, use_continuity=correct, alternative="two-sided", method="asymptotic")
    return TestResult(statistic=float(res.statistic), pvalue=float(res.pvalue),
                      method="Wilcoxon rank-sum (Mann-Whitney), normal approximation"
                      + (" with continuity correction" if correct else ""), n=int(a.size + b.size))


def shapiro_wilk(x: Any) -> TestResult:
    """Shapiro–Wilk normality test (Royston's AS R94, 3 <= n <= 5000). R: ``shapiro.test``."""
    a = as_float_1d(x, "x", "shapiro_wilk")
    if not 3 <= a.size <= 5000:
        msg = f"shapiro_wilk: needs between 3 and 5000 observations; got {a.size}."
        raise StatsInputError(msg)
    if np.ptp(a) == 0:
        msg = "shapiro_wilk: all values are identical; normality cannot be tested."
        raise StatsInputError(msg)
    res = sps.shapiro(a)
    return TestResult(statistic=float(res.statistic), pvalue=float(res.pvalue), method="Shapiro-Wilk",
                      n=int(a.size))


def levene(*groups: Any, center: str = "median") -> TestResult:
    """Levene's test of equal variances; ``center="median"`` is Brown–Forsythe, R's ``car::leveneTest`` default."""
    samples = _samples(groups, "levene")
    if center not in ("median", "mean"):
        msg = f"The 'center' parameter of levene must be 'median' or 'mean'. Got {center!r} instead."
        raise StatsInputError(msg)
    res = sps.levene(*samples, center=center)
    n = sum(s.size for s in samples)
    return TestResult(statistic=float(res.statistic), pvalue=float(res.pvalue),
                      method=f"Levene ({center}-centred)", df=(float(len(samples) - 1), float(n - len(samples))),
                      n=int(n))


def _table(table: Any, where: str) -> np.ndarray:
    t = as_float_array(table, "table", where)
    if t.ndim != 2 or min(t.shape) < 2:
        msg = f"{where}: needs an r×c contingency table with r, c >= 2; got shape {t.shape}."
        raise StatsInputError(msg)
    if not np.all(np.isfinite(t)) or np.any(t < 0) or np.any(t != np.round(t)):
        msg = f"{where}: 'table' entries must be non-negative integer counts; got {t.ravel()[:6].tolist()}..."
        raise StatsInputError(msg)
    if t.sum() > 2.0**53:
        msg = f"{where}: 'table' counts sum to {t.sum():g}, beyond exact integer arithmetic; check the table."
        raise StatsInputError(msg)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]
    if min(t.shape) < 2:
        msg = f"{where}: after dropping empty rows/columns the table is {t.shape}; nothing to compare."
        raise StatsInputError(msg)
    return t


def expected_counts(table: Any) -> np.ndarray:
    """Expected cell counts under independence."""
    t = np.asarray(table, dtype=float)
    return np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()


def chi_square(table: Any, *, correction: bool = True) -> TestResult:
    """Pearson chi-square test of independence; Yates' correction on 2×2 tables when ``correction``.

    R: ``chisq.test(table, correct = correction)`` (Yates uses ``|O − E| − min(0.5, |O − E|)``).
    """
    t = _table(table, "chi_square")
    e = expected_counts(t)
    diff = np.abs(t - e)
    yates = correction and t.shape == (2, 2)
    if yates:
        diff = diff - np.minimum(0.5, diff)
    stat = float(np.sum(diff**2 / e))
    df = (t.shape[0] - 1) * (t.shape[1] - 1)
    name = "Pearson chi-square" + (" with Yates' continuity correction" if yates else "")
    return TestResult(statistic=stat, pvalue=float(sps.chi2.sf(stat, df)), method=name, df=float(df),
                      n=int(t.sum()))


def _log_prob_tables(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Log-probabilities of every table with the given margins, in lexicographic (column-major) order.

    The tables are built cell by cell, column by column, as arrays of partial tables: each step expands every
    partial table by the feasible values of the next cell (bounded by what the row can still take and by what
    the later rows of the column can still hold), the last row of a column and the last column being forced.
    Every partial table completes to at least one full table, so the arrays never hold more entries than the
    final number of tables, which is checked against ``FISHER_MAX_TABLES`` before each expansion.
    """
    n_rows = rows.size
    n = int(rows.sum())
    const = gammaln(rows + 1).sum() + gammaln(cols + 1).sum() - gammaln(n + 1)
    remaining = rows.astype(np.int64)[None, :]
    acc = np.array([const])
    for j in range(cols.size - 1):
        left = np.full(len(acc), int(cols[j]), dtype=np.int64)
        for i in range(n_rows):
            if i == n_rows - 1:
                values = left  # the last row of the column is forced (feasible by construction)
                owner = np.arange(len(acc))
            else:
                cap_after = remaining[:, i + 1:].sum(axis=1)
                low = np.maximum(0, left - cap_after)
                high = np.minimum(remaining[:, i], left)
                counts = np.maximum(high - low + 1, 0)
                total = int(counts.sum())
                if total > FISHER_MAX_TABLES:
                    msg = "too many tables"
                    raise FisherTooLargeError(msg)
                owner = np.repeat(np.arange(len(acc)), counts)
                starts = np.cumsum(counts) - counts
                values = low[owner] + (np.arange(total) - starts[owner])
            remaining = remaining[owner].copy()
            remaining[:, i] -= values
            acc = acc[owner] - gammaln(values + 1)
            left = left[owner] - values
    if len(acc) > FISHER_MAX_TABLES:
        msg = "too many tables"
        raise FisherTooLargeError(msg)
    return acc - gammaln(remaining + 1).sum(axis=1)


def fisher_exact(table: Any) -> TestResult:
    """Fisher's exact test for 2×2 and r×c tables (two-sided), by full enumeration of tables with the margins.

    The p-value sums the probabilities of all tables no more likely than the observed one, with R's relative
    tolerance ``1 + 1e-7``. R: ``fisher.test(table)`` (R uses the network algorithm for r×c; the p-value is
    the same). Raises :class:`FisherTooLargeError` when more than ``FISHER_MAX_TABLES`` tables would be
    enumerated — use :func:`chi_square` (or a Monte-Carlo p-value) instead.
    """
    t = _table(table, "fisher_exact")
    if t.shape[0] < t.shape[1]:
        t = t.T  # fewer columns → fewer nested loops
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    n = int(t.sum())
    if n > FISHER_MAX_N:
        msg = (f"fisher_exact: the table has n = {n:,} observations (more than {FISHER_MAX_N:,}); use "
               "chi_square at this size.")
        raise FisherTooLargeError(msg)
    observed = gammaln(rows + 1).sum() + gammaln(cols + 1).sum() - gammaln(n + 1) - gammaln(t + 1).sum()
    if t.shape == (2, 2):
        res = sps.fisher_exact(t.astype(np.int64))
        return TestResult(statistic=float(res.statistic), pvalue=float(res.pvalue),
                          method="Fisher's exact test (2x2)", n=n)
    try:
        logp = _log_prob_tables(rows, cols)
    except FisherTooLargeError:
        msg = (f"fisher_exact: the {t.shape[0]}x{t.shape[1]} table (n = {n}) has more than "
               f"{FISHER_MAX_TABLES:,} tables with its margins; use chi_square or a simulated p-value.")
        raise FisherTooLargeError(msg) from None
    keep = logp <= observed + np.log1p(1e-7)
    pvalue = float(min(1.0, np.exp(logp[keep]).sum()))
    return TestResult(statistic=float(np.exp(observed)), pvalue=pvalue,
                      method=f"Fisher's exact test ({t.shape[0]}x{t.shape[1]}, enumeration)", n=n)


def categorical_test(table: Any, *, correction: bool = True) -> TestResult:
    """Chi-square when every expected count is >= 5, otherwise Fisher's exact test (falling back to
    chi-square with a :class:`StatisticalWarning` when the exact enumeration is infeasible)."""
    t = _table(table, "categorical_test")
    if np.all(expected_counts(t) >= 5):
        return chi_square(t, correction=correction)
    try:
        return fisher_exact(t)
    except FisherTooLargeError:
        msg = ("categorical_test: expected counts < 5 but the table is too large for Fisher's exact test; "
               "chi-square p-value reported, interpret with caution.")
        warnings.warn(msg, StatisticalWarning, stacklevel=2)
        res = chi_square(t, correction=correction)
        return TestResult(statistic=res.statistic, pvalue=res.pvalue,
                          method=res.method + " (Fisher infeasible; expected counts < 5)", df=res.df, n=res.n)
