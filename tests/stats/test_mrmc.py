"""Obuchowski–Rockette / Hillis MRMC analysis against published R MRMCaov output on the Van Dyke data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import FitError
from her2mri.stats.mrmc import delong_covariance, or_hillis

DATA = Path(__file__).parents[1] / "readers" / "data"
TOL = 1e-6


@pytest.fixture(scope="module")
def vandyke() -> pd.DataFrame:
    return pd.read_csv(DATA / "vandyke.csv")


def test_vandyke_data_has_published_shape(vandyke: pd.DataFrame) -> None:
    assert len(vandyke) == 1140
    per_case = vandyke.groupby("case").truth.first()
    assert (per_case == 1).sum() == 45
    assert (per_case == 0).sum() == 69


def test_or_hillis_jackknife_rrrc_vandyke_matches_r(vandyke: pd.DataFrame) -> None:
    """R MRMCaov 0.1.5 README: ``summary(mrmc(empirical_auc(truth, rating), treatment, reader, case,
    data = VanDyke))`` (jackknife covariances, random readers and random cases).

    Published: Var 0.0008022883, Cov1 0.0003466137, Cov2 0.0003440748, Cov3 0.0002390284, reader
    0.0015349993, treatment:reader 0.0002004025, MS(T) 0.004796171, MS(T:R) 0.0005510306, F 4.456319,
    df2 15.25967, p 0.05166569; 1 - 2: -0.04380032, SE 0.02074862, CI (-0.0879594986, 0.0003588544);
    treatment 1: 0.8970370, SE 0.03317360, df 12.74465, CI (0.8252236, 0.9688505); treatment 2: 0.9408374,
    SE 0.02156637, df 12.71019, CI (0.8941378, 0.9875369).
    """
    res = or_hillis(vandyke)
    rrrc = res.analyses["rrrc"]
    assert res.var == pytest.approx(0.0008022883, abs=TOL * 1e-3)
    assert res.cov1 == pytest.approx(0.0003466137, abs=TOL * 1e-3)
    assert res.cov2 == pytest.approx(0.0003440748, abs=TOL * 1e-3)
    assert res.cov3 == pytest.approx(0.0002390284, abs=TOL * 1e-3)
    assert res.var_r == pytest.approx(0.0015349993, abs=TOL * 1e-3)
    assert res.var_tr == pytest.approx(0.0002004025, abs=TOL * 1e-3)
    assert res.ms_t == pytest.approx(0.004796171, abs=1e-9)
    assert res.ms_tr == pytest.approx(0.0005510306, abs=1e-10)
    assert rrrc.statistic == pytest.approx(4.456319, abs=1e-6)
    assert rrrc.df == pytest.approx(15.25967, abs=1e-5)
    assert rrrc.pvalue == pytest.approx(0.05166569, abs=1e-7)
    diff = rrrc.differences[0]
    assert diff.comparison == "1 - 2"
    assert diff.estimate == pytest.approx(-0.04380032, abs=1e-8)
    assert diff.se == pytest.approx(0.02074862, abs=1e-8)
    assert diff.ci_low == pytest.approx(-0.0879594986, abs=1e-9)
    assert diff.ci_high == pytest.approx(0.0003588544, abs=1e-9)
    assert res.estimate == diff.estimate
    assert res.pvalue == rrrc.pvalue
    t1, t2 = rrrc.treatments
    assert (t1.estimate, t1.se, t1.df) == pytest.approx((0.8970370, 0.03317360, 12.74465), abs=1e-5)
    assert (t1.ci_low, t1.ci_high) == pytest.approx((0.8252236, 0.9688505), abs=1e-7)
    assert (t2.estimate, t2.se, t2.df) == pytest.approx((0.9408374, 0.02156637, 12.71019), abs=1e-5)
    assert (t2.ci_low, t2.ci_high) == pytest.approx((0.8941378, 0.9875369), abs=1e-7)


def test_or_hillis_delong_rrrc_vandyke_matches_r(vandyke: pd.DataFrame) -> None:
    """R MRMCaov JSS draft (docs/jss/MRMCaov.tex): ``mrmc(empirical_auc(truth, rating), treatment, reader,
    case, data = VanDyke, cov = DeLong)``: Error 0.0007921325, Cov1 0.0003420090, Cov2 0.0003395265,
    Cov3 0.0002358497, F 4.484854, df2 15.06611, p 0.05123303, CI (-0.0878671960, 0.0002665519)."""
    res = or_hillis(vandyke, cov_method="delong")
    rrrc = res.analyses["rrrc"]
    assert (res.var, res.cov1, res.cov2, res.cov3) == pytest.approx(
        (0.0007921325, 0.0003420090, 0.0003395265, 0.0002358497), abs=1e-10)
    assert (rrrc.statistic, rrrc.df, rrrc.pvalue) == pytest.approx((4.484854, 15.06611, 0.05123303), abs=1e-5)
    assert (res.ci_low, res.ci_high) == pytest.approx((-0.0878671960, 0.0002665519), abs=1e-9)
    t1, t2 = rrrc.treatments
    assert (t1.se, t1.df) == pytest.approx((0.03307642, 12.59597), abs=1e-5)
    assert (t2.se, t2.df) == pytest.approx((0.02150464, 12.56530), abs=1e-5)


def test_or_hillis_frrc_vandyke_matches_r(vandyke: pd.DataFrame) -> None:
    """R MRMCaov JSS draft: ``mrmc(..., fixed(reader), case, data = VanDyke)`` (jackknife): X2 5.475953,
    p 0.01927984, SE 0.01871748, CI (-0.08048591, -0.00711473); reader 5: -0.10016103, SE 0.04405746,
    p 0.02300099; single-reader AUCs 0.9196457 … 0.9299517."""
    res = or_hillis(vandyke)
    frrc = res.analyses["frrc"]
    assert frrc.statistic == pytest.approx(5.475953, abs=1e-6)
    assert frrc.pvalue == pytest.approx(0.01927984, abs=1e-8)
    d = frrc.differences[0]
    assert (d.se, d.ci_low, d.ci_high) == pytest.approx((0.01871748, -0.08048591, -0.00711473), abs=1e-8)
    r5 = [r for r in frrc.reader_differences if r.reader == "5"][0]
    assert (r5.estimate, r5.se, r5.pvalue) == pytest.approx((-0.10016103, 0.04405746, 0.02300099), abs=1e-8)
    t1, t2 = frrc.treatments
    assert (t1.se, t1.ci_low, t1.ci_high) == pytest.approx((0.02428971, 0.8494301, 0.9446440), abs=1e-7)
    assert res.foms.loc["1"].to_numpy() == pytest.approx(
        [0.9196457, 0.8587762, 0.9038647, 0.9731079, 0.8297907], abs=1e-7)
    assert res.foms.loc["2"].to_numpy() == pytest.approx(
        [0.9478261, 0.9053140, 0.9217391, 0.9993559, 0.9299517], abs=1e-7)


def test_or_hillis_rrfc_vandyke_matches_r(vandyke: pd.DataFrame) -> None:
    """R MRMCaov JSS draft: ``mrmc(..., reader, fixed(case), data = VanDyke)``: F 8.704 on (1, 4),
    p 0.04195875, SE 0.01484629, CI (-0.08502022, -0.00258042)."""
    rrfc = or_hillis(vandyke).analyses["rrfc"]
    assert (rrfc.statistic, rrfc.df1, rrfc.df, rrfc.pvalue) == pytest.approx((8.704, 1, 4, 0.04195875), abs=1e-7)
    d = rrfc.differences[0]
    assert (d.se, d.ci_low, d.ci_high) == pytest.approx((0.01484629, -0.08502022, -0.00258042), abs=1e-8)


def test_or_hillis_array_input_equals_frame_input(vandyke: pd.DataFrame) -> None:
    wide = vandyke.pivot_table(index="case", columns=["treatment", "reader"], values="rating")
    scores = wide.to_numpy().T.reshape(2, 5, 114)
    y = vandyke.groupby("case").truth.first().to_numpy()
    res = or_hillis(scores, y, treatments=["1", "2"], readers=list("12345"))
    assert res.analyses["rrrc"].statistic == pytest.approx(4.456319, abs=1e-6)


def test_or_hillis_treatment_order_flips_difference(vandyke: pd.DataFrame) -> None:
    res = or_hillis(vandyke, treatments=["2", "1"])
    assert res.estimate == pytest.approx(0.04380032, abs=1e-8)
    assert res.treatments == ("2", "1")


def test_or_hillis_two_readers_adds_note(vandyke: pd.DataFrame) -> None:
    res = or_hillis(vandyke[vandyke.reader.isin([1, 2])])
    assert any("Only 2 readers" in n for n in res.notes)
    assert res.analyses["rrrc"].df > 0


def test_or_hillis_to_dict_is_json_safe(vandyke: pd.DataFrame) -> None:
    import json

    res = or_hillis(vandyke)
    text = json.dumps(res.to_dict())
    assert "rrrc" in text
    frame = res.to_frame()
    assert {"design", "kind", "term", "estimate", "pvalue"} <= set(frame.columns)


def test_or_hillis_incomplete_design_raises(vandyke: pd.DataFrame) -> None:
    with pytest.raises(FitError, match="not fully crossed"):
        or_hillis(vandyke.iloc[1:])


def test_or_hillis_bad_conf_level_raises(vandyke: pd.DataFrame) -> None:
    with pytest.raises(FitError, match="conf_level"):
        or_hillis(vandyke, conf_level=95)


def test_delong_covariance_matches_mann_whitney(rng: np.random.Generator) -> None:
    y = np.r_[np.ones(30), np.zeros(40)]
    s = rng.normal(size=70) + y
    from scipy.stats import mannwhitneyu

    u = mannwhitneyu(s[y == 1], s[y == 0]).statistic
    dc = delong_covariance(y, s)
    assert dc.aucs[0] == pytest.approx(u / (30 * 40))
    assert dc.covariance.shape == (1, 1)
