"""Reader-study analysis on simulated reads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import FitError
from her2mri.readers import run_reader_study, simulate_reads
from her2mri.stats.mrmc import or_hillis


@pytest.fixture(scope="module")
def cohort() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(5)
    n = 240
    frame = pd.DataFrame({"patient_id": [f"P{i}" for i in range(n)], "lesion_id": [f"L{i}" for i in range(n)]})
    y = (rng.random(n) < 0.35).astype(float)
    y[:6] = np.nan  # not eligible for the task
    return frame, pd.Series(y, index=frame["lesion_id"])


def test_run_reader_study_four_readers_reports_everything(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, truth = cohort
    reads = simulate_reads(frame, truth.to_numpy(), n_readers=4, seed=3)
    res = run_reader_study(reads, truth.dropna(), task="positive_vs_negative")
    assert res.readers == ("R1", "R2", "R3", "R4")
    assert len(res.per_reader) == 8
    assert len(res.comparisons) == 4
    assert res.threshold == 0.5
    assert res.score_kind == "probability"
    assert res.n_lesions == 234
    assert res.mrmc is not None
    assert res.mrmc.treatments == ("aided", "unaided")
    assert res.mrmc.ci_low < res.mrmc.estimate < res.mrmc.ci_high
    # juniors (R2, R4) gain more than seniors on average, as simulated
    gain = {c.reader_id: c.estimate for c in res.comparisons}
    assert gain["R2"] + gain["R4"] > gain["R1"] + gain["R3"]
    assert not any("reader(s): per-reader" in n for n in res.notes)
    table = res.to_frame()
    assert {"auc", "sensitivity_ci_low", "auc_change_pvalue"} <= set(table.columns)
    json.dumps(res.to_dict())


def test_run_reader_study_paired_delong_matches_frrc_delong(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    """The per-reader paired DeLong test is the FRRC reader-specific test with DeLong covariances."""
    frame, truth = cohort
    reads = simulate_reads(frame, truth.to_numpy(), n_readers=2, seed=9)
    res = run_reader_study(reads, truth.dropna(), task="t")
    data = reads.merge(truth.dropna().rename("truth").astype(int), left_on="lesion_id", right_index=True)
    mr = or_hillis(data, truth="truth", rating="score", reader="reader_id", treatment="condition",
                   case="lesion_id", treatments=("aided", "unaided"), cov_method="delong")
    for comp in res.comparisons:
        ref = [d for d in mr.analyses["frrc"].reader_differences if d.reader == comp.reader_id][0]
        assert comp.estimate == pytest.approx(ref.estimate)
        assert comp.pvalue == pytest.approx(ref.pvalue)
    assert any("2 reader(s)" in n for n in res.notes)


def test_run_reader_study_ordinal_threshold_and_calls(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, truth = cohort
    reads = simulate_reads(frame, truth.to_numpy(), n_readers=2, seed=1, score_kind="ordinal")
    res = run_reader_study(reads, truth.dropna(), task="t")
    assert res.threshold == 3.0
    by_calls = run_reader_study(reads, truth.dropna(), task="t", calls="her2_call", positive_calls=["positive"])
    assert by_calls.calls == "her2_call"
    m = by_calls.per_reader[0]
    assert m.tp + m.fn == m.n_pos


def test_run_reader_study_accepts_truth_function(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, truth = cohort
    reads = simulate_reads(frame, truth.to_numpy(), n_readers=2, seed=2)
    res = run_reader_study(reads, lambda ids: truth.reindex(ids).to_numpy(), task="t")
    assert res.n_lesions == 234


def test_run_reader_study_single_class_raises(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, truth = cohort
    reads = simulate_reads(frame, truth.to_numpy(), n_readers=2, seed=2)
    with pytest.raises(FitError, match="only one class"):
        run_reader_study(reads, pd.Series(0, index=truth.index), task="t")


def test_simulate_reads_is_reproducible(cohort: tuple[pd.DataFrame, pd.Series]) -> None:
    frame, truth = cohort
    a = simulate_reads(frame, truth.to_numpy(), n_readers=3, seed=11)
    b = simulate_reads(frame, truth.to_numpy(), n_readers=3, seed=11)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["experience"]) == {"senior", "junior"}
    assert len(a) == 3 * 2 * 234
