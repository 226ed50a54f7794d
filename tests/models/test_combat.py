from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import FitError, Her2MriWarning
from her2mri.models.combat import ComBatHarmonizer

DATA = Path(__file__).parent / "data"


def _input() -> pd.DataFrame:
    return pd.read_csv(DATA / "combat_input.csv")


@pytest.mark.parametrize("eb", [True, False])
def test_combat_matches_neurocombat(eb: bool) -> None:
    """Reference: neuroCombat 0.2.12 ``neuroCombat(dat, covars, batch_col, eb=eb)['data']`` (see data/README.md)."""
    frame = _input()
    expected = pd.read_csv(DATA / f"combat_neurocombat_eb_{str(eb).lower()}.csv")
    out = ComBatHarmonizer(batch_column="center", eb=eb).fit(frame).transform(frame)
    np.testing.assert_allclose(out[expected.columns].to_numpy(), expected.to_numpy(), rtol=1e-9, atol=1e-9)
    assert out["center"].tolist() == frame["center"].tolist()


def test_combat_does_not_use_labels() -> None:
    frame = _input()
    rng = np.random.default_rng(0)
    a = ComBatHarmonizer().fit(frame)
    b = ComBatHarmonizer().fit(frame, rng.integers(0, 2, len(frame)))
    c = ComBatHarmonizer().fit(frame, np.ones(len(frame)))
    for attr in ("grand_mean_", "var_pooled_", "gamma_star_", "delta_star_"):
        np.testing.assert_array_equal(getattr(a, attr), getattr(b, attr))
        np.testing.assert_array_equal(getattr(a, attr), getattr(c, attr))
    # the estimation function has no outcome argument at all
    from her2mri.models.combat import combat_estimates

    assert list(inspect.signature(combat_estimates).parameters) == ["data", "batch", "eb", "mean_only"]


def test_combat_removes_centre_shift() -> None:
    frame = _input()
    out = ComBatHarmonizer().fit(frame).transform(frame)
    before = frame.groupby("center")["t2__feature0"].mean()
    after = out.groupby("center")["t2__feature0"].mean()
    assert np.ptp(after) < 0.5 * np.ptp(before)


def test_combat_new_lesions_from_known_centre_use_training_estimates() -> None:
    frame = _input()
    train, new = frame.iloc[::2], frame.iloc[1::2]
    h = ComBatHarmonizer().fit(train)
    whole = h.transform(frame)
    np.testing.assert_allclose(h.transform(new).to_numpy(dtype=object)[:, 1:].astype(float),
                               whole.iloc[1::2].to_numpy(dtype=object)[:, 1:].astype(float))


def test_combat_unseen_centre_raises_or_passes_through() -> None:
    frame = _input()
    h = ComBatHarmonizer().fit(frame[frame.center != "center3"])
    with pytest.raises(FitError, match="not seen at fit"):
        h.transform(frame)
    h2 = ComBatHarmonizer(on_unseen="pass_through").fit(frame[frame.center != "center3"])
    with pytest.warns(Her2MriWarning, match="passed through"):
        out = h2.transform(frame)
    pd.testing.assert_frame_equal(out[frame.center == "center3"], frame[frame.center == "center3"])


def test_combat_unlabelled_external_centre_is_recorded_and_harmonised() -> None:
    frame = _input()
    train, external = frame[frame.center != "center3"], frame[frame.center == "center3"]
    h = ComBatHarmonizer().fit(train, X_unlabelled=external)
    assert h.batches_ == ("center1", "center2", "center3")
    assert h.training_batches_ == ("center1", "center2")
    assert h.unlabelled_batches_ == ("center3",)
    full = ComBatHarmonizer().fit(frame)
    np.testing.assert_allclose(h.gamma_star_, full.gamma_star_)
    h2 = ComBatHarmonizer(unlabelled_data=external).fit(train)
    np.testing.assert_allclose(h2.transform(external).iloc[:, 1:].to_numpy(float), h.transform(external).iloc[:, 1:].to_numpy(float))


def test_combat_missing_values_stay_missing() -> None:
    frame = _input()
    frame.loc[3, "t2__feature1"] = np.nan
    out = ComBatHarmonizer().fit(frame).transform(frame)
    assert np.isnan(out.loc[3, "t2__feature1"])
    assert out.drop(index=3).notna().all().all()


def test_combat_tiny_centre_raises() -> None:
    frame = _input().iloc[:21]
    with pytest.raises(FitError, match="fewer than 2"):
        ComBatHarmonizer().fit(frame)
