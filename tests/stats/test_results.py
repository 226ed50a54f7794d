"""Every result renders to JSON-safe dicts and tidy frames; results are frozen."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from her2mri import stats


@pytest.fixture(scope="module")
def results(r_csv):  # type: ignore[no-untyped-def]
    roc = r_csv("roc")
    cal = r_csv("calibration")
    surv = r_csv("survival")
    t1 = r_csv("table1")
    lg = r_csv("logistic")
    y, s1, s2 = roc["y"], roc["score1"], roc["score2"]
    return [
        stats.auc_ci(y, s1), stats.roc_curve(y, s1), stats.delong_test(y, s1, s2),
        stats.delong_test_unpaired(y[:150], s1[:150], y[150:], s2[150:]),
        stats.delong_matrix(y, {"a": s1, "b": s2}), stats.youden_threshold(y, s1),
        stats.bootstrap_ci(y, s1, n_resamples=50, random_state=0), stats.proportion_ci(3, 10),
        stats.diagnostic_metrics(y, s1, 0.25), stats.calibration(cal["y"], cal["p"]),
        stats.calibration_curve(cal["y"], cal["p"]), stats.hosmer_lemeshow(cal["y"], cal["p"]),
        stats.decision_curve(cal["y"], cal["p"]), stats.clinical_impact(cal["y"], cal["p"]),
        stats.table1(t1, group="her2"), stats.icc(r_csv("icc").to_numpy()),
        stats.cohen_kappa(r_csv("kappa")["reader1"], r_csv("kappa")["reader2"]),
        stats.logistic_regression(lg[["x1", "x2", "shape"]], lg["y"]),
        stats.kaplan_meier(surv["time"], surv["event"]), stats.logrank_test(surv["time"], surv["event"], surv["group"]),
        stats.cox_ph(surv["time"], surv["event"], surv["score"]), stats.t_test([1.0, 2, 3], [2.0, 3, 5]),
    ]


def test_results_to_dict_is_json_serialisable(results):
    for res in results:
        text = json.dumps(res.to_dict(), allow_nan=False)
        assert text.startswith("{")


def test_results_to_frame_is_dataframe(results):
    for res in results:
        frame = res.to_frame()
        assert isinstance(frame, pd.DataFrame)
        assert not frame.empty


def test_results_are_frozen(results):
    for res in results:
        field = dataclasses.fields(res)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(res, field, None)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from(["wilson", "clopper_pearson"]))
def test_proportion_ci_contains_estimate(xn, method):
    x, n = xn
    res = stats.proportion_ci(x, n, method=method)
    assert 0 <= res.ci_low <= res.estimate <= res.ci_high <= 1
    assert np.isfinite(res.ci_low)
