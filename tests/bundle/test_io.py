"""Tests of saving and loading bundles: round trip, integrity, versions, trusted types."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import her2mri
from her2mri.bundle import TaskModel, build_bundle, load_bundle, save_bundle
from her2mri.bundle import io as bundle_io
from her2mri.exceptions import BundleError


def _copy(bundle_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle_dir, target)
    return target


def test_save_bundle_writes_manifest_with_hash_of_every_file(bundle_dir: Path) -> None:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert manifest["format"] == "her2mri-bundle"
    files = {p.relative_to(bundle_dir).as_posix() for p in bundle_dir.rglob("*") if p.is_file()}
    assert set(manifest["files"]) == files - {"manifest.json"}
    assert "pipelines/positive_vs_negative.skops" in manifest["files"]
    assert "model_card.md" in manifest["files"]


def test_load_bundle_round_trip_gives_identical_predictions(bundle, bundle_dir, cases) -> None:
    loaded = load_bundle(bundle_dir)
    assert loaded.sha256 is not None
    assert loaded.schema == bundle.schema
    pd.testing.assert_frame_equal(loaded.background, bundle.background)
    pd.testing.assert_frame_equal(loaded.predict(cases), bundle.predict(cases))
    assert loaded.card == bundle.card
    assert loaded.conformal == bundle.conformal


def test_load_bundle_from_zip_round_trip(bundle, cases, tmp_path) -> None:
    path = save_bundle(bundle, tmp_path / "model.zip")
    loaded = load_bundle(path)
    pd.testing.assert_frame_equal(loaded.predict(cases), bundle.predict(cases))


@pytest.mark.parametrize("name", ["bundle.json", "pipelines/low_vs_zero.skops", "background.json"])
def test_load_bundle_tampered_file_is_refused(bundle_dir, tmp_path, name) -> None:
    target = _copy(bundle_dir, tmp_path)
    path = target / name
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01
    path.write_bytes(bytes(content))
    with pytest.raises(BundleError, match=f"integrity check failed for '{name}'"):
        load_bundle(target)


def test_load_bundle_missing_file_is_refused(bundle_dir, tmp_path) -> None:
    target = _copy(bundle_dir, tmp_path)
    (target / "nomograms.json").unlink()
    with pytest.raises(BundleError, match="'nomograms.json' listed in the manifest is missing"):
        load_bundle(target)


def test_load_bundle_incompatible_major_version_is_refused(bundle_dir, tmp_path) -> None:
    target = _copy(bundle_dir, tmp_path)
    manifest = json.loads((target / "manifest.json").read_text())
    major = int(her2mri.__version__.split(".")[0])
    manifest["her2mri_version"] = f"{major + 1}.0.0"
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=f"made by her2mri {major + 1}.0.0, an incompatible major version"):
        load_bundle(target)


def test_load_bundle_other_format_version_is_refused(bundle_dir, tmp_path) -> None:
    target = _copy(bundle_dir, tmp_path)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["format_version"] = 99
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="bundle format version 99"):
        load_bundle(target)


def test_load_bundle_not_a_bundle_is_refused(tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="manifest.json' is missing"):
        load_bundle(tmp_path / "empty")
    with pytest.raises(BundleError, match="not found"):
        load_bundle(tmp_path / "nowhere")


class Doubler(TransformerMixin, BaseEstimator):
    """A user-defined step: not on the trusted list."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) * 2


def test_load_bundle_untrusted_type_is_refused(factory, tmp_path) -> None:
    frame = factory.training_frame()
    X = frame[["ki67_percent", "age"]].fillna(30.0)
    y = (frame["her2_category"] == "positive").to_numpy().astype(int)
    pipe = Pipeline([("double", Doubler()), ("model", LogisticRegression())]).fit(X, y)
    tm = TaskModel("positive_vs_negative", "lr", pipe, 0.5, ("ki67_percent", "age"), "positive", "negative")
    b = build_bundle(task_models={tm.task: tm}, hierarchy=None, training_frame=frame.fillna({"ki67_percent": 30.0}),
                     config={}, metrics={}, background_size=10)
    path = save_bundle(b, tmp_path / "untrusted")
    with pytest.raises(BundleError, match=r"names types outside the trusted list.*Doubler"):
        load_bundle(path)


def test_trusted_types_are_exact_names_without_code_runners() -> None:
    assert "builtins.exec" not in bundle_io.TRUSTED_TYPES
    assert "builtins.eval" not in bundle_io.TRUSTED_TYPES
    assert not any(t.startswith(("os.", "posix.", "subprocess.", "numpy.testing")) for t in bundle_io.TRUSTED_TYPES)
    assert not {"FunctionNode", "ConstructorFromReduceNode", "MethodNode"} & bundle_io.TRUSTED_LOADERS
