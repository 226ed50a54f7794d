from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from her2mri.exceptions import FitError
from her2mri.models.preprocess import CohortPreprocessor


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "d", "e", "f"],
            "tumor_size_mm": [10.0, 20.0, np.nan, 40.0, 30.0, 25.0],
            "mass_shape": ["oval", "irregular", "not_applicable", np.nan, "irregular", "not_applicable"],
            "peritumoral_edema": [1.0, 0.0, np.nan, 0.0, 0.0, 1.0],
        }
    )


def _fit() -> CohortPreprocessor:
    return CohortPreprocessor(
        numeric=["tumor_size_mm"], categorical=["mass_shape"], binary=["peritumoral_edema"]
    ).fit(_frame())


def test_preprocessor_output_names_and_dataframe() -> None:
    pre = _fit()
    out = pre.transform(_frame())
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [
        "tumor_size_mm", "peritumoral_edema", "mass_shape_irregular", "mass_shape_not_applicable", "mass_shape_oval"
    ]
    assert list(pre.get_feature_names_out()) == list(out.columns)
    assert not out.isna().any().any()


def test_preprocessor_not_applicable_is_a_level_and_never_the_imputed_value() -> None:
    out = _fit().transform(_frame())
    # row 3: NaN mass_shape imputed by the applicable mode ("irregular"), not by "not_applicable"
    assert out.loc[3, "mass_shape_irregular"] == 1.0
    assert out.loc[3, "mass_shape_not_applicable"] == 0.0
    # rows 2 and 5 keep their structural level
    assert out.loc[[2, 5], "mass_shape_not_applicable"].tolist() == [1.0, 1.0]


def test_preprocessor_median_and_mode_imputation_and_scaling() -> None:
    pre = CohortPreprocessor(numeric=["tumor_size_mm"], binary=["peritumoral_edema"], scale=False).fit(_frame())
    out = pre.transform(_frame())
    assert out.loc[2, "tumor_size_mm"] == 25.0
    assert out.loc[2, "peritumoral_edema"] == 0.0
    scaled = _fit().transform(_frame())["tumor_size_mm"]
    assert scaled.mean() == pytest.approx(0.0, abs=1e-12)


def test_preprocessor_unseen_category_encodes_all_zero() -> None:
    pre = _fit()
    new = _frame().iloc[:1].copy()
    new["mass_shape"] = "round"
    out = pre.transform(new)
    assert out.filter(like="mass_shape_").to_numpy().sum() == 0.0


def test_preprocessor_missing_column_raises() -> None:
    with pytest.raises(FitError, match="not in the data"):
        CohortPreprocessor(numeric=["adc_mean"]).fit(_frame())


def test_preprocessor_source_columns_map_onehots_back() -> None:
    mapping = _fit().source_columns()
    assert mapping["mass_shape_oval"] == "mass_shape"
    assert mapping["tumor_size_mm"] == "tumor_size_mm"


def test_preprocessor_infers_kinds_when_none_given() -> None:
    frame = _frame().drop(columns="patient_id")
    pre = CohortPreprocessor().fit(frame)
    assert pre.kinds_ == {"numeric": ["tumor_size_mm"], "categorical": ["mass_shape"], "binary": ["peritumoral_edema"]}
