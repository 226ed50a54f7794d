"""Vectorised stratified / patient-grouped bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from sklearn.metrics import roc_auc_score

from her2mri.exceptions import StatisticalWarning
from her2mri.stats import auc, bootstrap_ci, resample_counts


def _data(rng, n=200):  # type: ignore[no-untyped-def]
    y = rng.integers(0, 2, n)
    s = np.round(y + rng.normal(size=n), 1)
    return y, s


def test_bootstrap_ci_vectorised_auc_equals_callable_loop(rng):
    y, s = _data(rng)
    fast = bootstrap_ci(y, s, n_resamples=300, random_state=5)
    slow = bootstrap_ci(y, s, metric=roc_auc_score, n_resamples=300, random_state=5)
    assert_allclose(fast.distribution, slow.distribution, rtol=1e-12)
    assert fast.estimate == pytest.approx(auc(y, s))


def test_bootstrap_ci_grouped_vectorised_equals_callable_loop(rng):
    y, s = _data(rng)
    groups = np.repeat(np.arange(100), 2)
    fast = bootstrap_ci(y, s, n_resamples=200, groups=groups, random_state=2)
    slow = bootstrap_ci(y, s, metric=roc_auc_score, n_resamples=200, groups=groups, random_state=2)
    assert_allclose(fast.distribution, slow.distribution, rtol=1e-12)


def test_resample_counts_stratified_keeps_class_sizes(rng):
    y, _ = _data(rng)
    w = resample_counts(y, n_resamples=50, random_state=1)
    assert np.all(w[:, y == 1].sum(axis=1) == (y == 1).sum())
    assert np.all(w[:, y == 0].sum(axis=1) == (y == 0).sum())


def test_resample_counts_grouped_keeps_patients_whole(rng):
    y, _ = _data(rng)
    groups = np.repeat(np.arange(100), 2)
    w = resample_counts(y, n_resamples=50, groups=groups, random_state=1)
    assert np.array_equal(w[:, 0::2], w[:, 1::2])


def test_bootstrap_ci_bca_brackets_estimate(rng):
    y, s = _data(rng)
    res = bootstrap_ci(y, s, n_resamples=500, random_state=3, ci_method="bca")
    assert res.ci_low < res.estimate < res.ci_high
    grouped = bootstrap_ci(y, s, n_resamples=200, random_state=3, ci_method="bca",
                           groups=np.repeat(np.arange(100), 2))
    assert grouped.ci_low < grouped.estimate < grouped.ci_high


def test_bootstrap_ci_unstratified_small_sample_warns_on_single_class():
    y = np.array([1, 0, 0, 0, 0, 0])
    s = np.arange(6.0)
    with pytest.warns(StatisticalWarning, match="dropped"):
        bootstrap_ci(y, s, n_resamples=100, stratify=False, random_state=0)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_bootstrap_ci_same_seed_identical(seed):
    rng = np.random.default_rng(seed)
    y, s = _data(rng, 60)
    a = bootstrap_ci(y, s, n_resamples=100, random_state=seed)
    b = bootstrap_ci(y, s, n_resamples=100, random_state=seed)
    assert np.array_equal(a.distribution, b.distribution)
    assert a.to_dict() == b.to_dict()
    assert a.ci_low <= a.ci_high


def test_bootstrap_ci_chunked_auc_equals_unchunked(rng, monkeypatch):
    import her2mri.stats.bootstrap as boot

    y, s = _data(rng)
    whole = bootstrap_ci(y, s, n_resamples=120, random_state=9)
    monkeypatch.setattr(boot, "_CHUNK_CELLS", 1000)
    chunked = bootstrap_ci(y, s, n_resamples=120, random_state=9)
    assert np.array_equal(whole.distribution, chunked.distribution)
