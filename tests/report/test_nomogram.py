"""Nomogram points reproduce the logistic model's linear predictor and probability (rms::nomogram logic)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from her2mri.exceptions import FitError
from her2mri.report.nomogram import build_nomogram, draw_nomogram

SPEC = {
    "intercept": -1.5,
    "terms": [
        {"feature": "tumor_size_mm", "kind": "numeric", "coef": 0.04, "range": [5, 80]},
        {"feature": "adc_mean", "kind": "numeric", "coef": -2.6, "range": [0.6, 1.5]},
        {"feature": "ki67_status", "kind": "categorical", "levels": {"low": 0.0, "high": 0.85}},
        {"feature": "mass_shape", "kind": "categorical",
         "levels": [{"level": "oval", "coef": 0.0}, {"level": "irregular", "coef": 0.9}, {"level": "not_applicable", "coef": -0.4}]},
    ],
}


def test_nomogram_widest_term_spans_100_points() -> None:
    nomo = build_nomogram(SPEC)
    # tumour size has the widest effect: 0.04 × 75 = 3.0 log-odds
    assert nomo.scale == pytest.approx(100 / 3.0)
    assert nomo.term_points(nomo.terms[0], 80) == pytest.approx(100)
    assert nomo.term_points(nomo.terms[0], 5) == pytest.approx(0)
    # negative coefficient: the lowest ADC scores the most points
    assert nomo.term_points(nomo.terms[1], 0.6) == pytest.approx(2.6 * 0.9 * 100 / 3.0)
    assert nomo.term_points(nomo.terms[1], 1.5) == pytest.approx(0)


def test_nomogram_total_points_reproduce_linear_predictor(rng: np.random.Generator) -> None:
    nomo = build_nomogram(SPEC)
    for _ in range(50):
        values = {"tumor_size_mm": rng.uniform(5, 80), "adc_mean": rng.uniform(0.6, 1.5),
                  "ki67_status": rng.choice(["low", "high"]), "mass_shape": rng.choice(["oval", "irregular", "not_applicable"])}
        lp = (SPEC["intercept"] + 0.04 * values["tumor_size_mm"] - 2.6 * values["adc_mean"]
              + (0.85 if values["ki67_status"] == "high" else 0.0)
              + {"oval": 0.0, "irregular": 0.9, "not_applicable": -0.4}[values["mass_shape"]])
        total = nomo.total_points(values)
        assert nomo.linear_predictor(values) == pytest.approx(lp, rel=1e-12)
        assert nomo.lp_from_points(total) == pytest.approx(lp, rel=1e-12, abs=1e-12)
        assert nomo.probability_from_points(total) == pytest.approx(1 / (1 + math.exp(-lp)), rel=1e-12)


def test_nomogram_probability_axis_inverts_points() -> None:
    nomo = build_nomogram(SPEC)
    for p in (0.05, 0.2, 0.5, 0.8, 0.95):
        assert nomo.probability_from_points(nomo.points_for_probability(p)) == pytest.approx(p, rel=1e-12)


def test_nomogram_unknown_level_raises_with_accepted_levels() -> None:
    nomo = build_nomogram(SPEC)
    with pytest.raises(FitError, match="accepted: low, high"):
        nomo.points({"tumor_size_mm": 20, "adc_mean": 1.0, "ki67_status": "medium", "mass_shape": "oval"})


def test_build_nomogram_bad_kind_raises() -> None:
    with pytest.raises(FitError, match="accepted: 'numeric', 'categorical'"):
        build_nomogram({"intercept": 0, "terms": [{"feature": "x", "kind": "spline"}]})


def test_build_nomogram_all_zero_coefficients_raises() -> None:
    with pytest.raises(FitError, match="non-zero"):
        build_nomogram({"intercept": 0, "terms": [{"feature": "x", "kind": "numeric", "coef": 0.0, "range": [0, 1]}]})


def test_draw_nomogram_returns_svg_data_uri() -> None:
    uri = draw_nomogram(build_nomogram(SPEC), title="test")
    assert uri.startswith("data:image/svg+xml;base64,")
