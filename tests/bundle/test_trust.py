"""The bundle trust boundary: exact-type allow-list (gadgets refused, no code run), manifest completeness,
byte-identical saves, and the allow-list covering every pipeline this toolkit writes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio

from her2mri.bundle import io as bundle_io
from her2mri.bundle import load_bundle, save_bundle
from her2mri.exceptions import BundleError

PIPELINE = "pipelines/positive_vs_negative.skops"


def _rehash(target: Path) -> None:
    """What anyone able to write the folder can do: recompute the manifest after editing files."""
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"] = {
        name: hashlib.sha256((target / name).read_bytes()).hexdigest() for name in manifest["files"]
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))


def _copy(bundle_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle_dir, target)
    return target


def _skops_archive(root: dict) -> bytes:
    root = root | {"protocol": 2, "_skops_version": sio.__dict__.get("__version__", "0")}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(root))
    return buffer.getvalue()


def _call_gadget(module: str, name: str, *args) -> bytes:
    """A skops file whose root node calls ``module.name(*args)`` when built (ConstructorFromReduceNode)."""
    with zipfile.ZipFile(io.BytesIO(sio.dumps(tuple(args)))) as archive:
        content = json.loads(archive.read("schema.json"))
    content.pop("protocol", None)
    content.pop("_skops_version", None)
    node = {"__class__": name, "__module__": module, "__loader__": "ConstructorFromReduceNode", "content": content}
    return _skops_archive(node)


class _System:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _gadgets(marker: Path) -> dict[str, bytes]:
    code = f"open({str(marker)!r}, 'w').write('ran')"
    return {
        "numpy-runstring": _call_gadget("numpy.testing._private.utils", "runstring", code, {}),
        "builtins-exec": _call_gadget("builtins", "exec", code),
        "pickle-os-system": pickle.dumps(_System(f"touch {marker}")),
    }


def test_gadgets_are_live_against_plain_skops(tmp_path) -> None:
    """The skops gadgets really run code when their types are trusted (so the refusals below mean something)."""
    marker = tmp_path / "ran"
    gadgets = _gadgets(marker)
    for key in ("numpy-runstring", "builtins-exec"):
        data = gadgets[key]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sio.loads(data, trusted=sio.get_untrusted_types(data=data))
        assert marker.exists(), key
        marker.unlink()


@pytest.mark.parametrize(
    ("gadget", "named"),
    [
        ("numpy-runstring", "numpy.testing._private.utils.runstring"),
        ("builtins-exec", "builtins.exec"),
        ("pickle-os-system", "not a skops archive"),
    ],
)
def test_load_bundle_refuses_gadget_with_rehashed_manifest_and_runs_nothing(
    bundle_dir, tmp_path, gadget, named
) -> None:
    marker = tmp_path / "ran"
    target = _copy(bundle_dir, tmp_path)
    (target / PIPELINE).write_bytes(_gadgets(marker)[gadget])
    _rehash(target)
    with pytest.raises(BundleError, match=f"'{PIPELINE}'.*{named}") as info:
        load_bundle(target)
    assert not marker.exists()
    if gadget != "pickle-os-system":
        assert "was not loaded" in str(info.value)


def test_load_bundle_refuses_gadget_inside_a_real_pipeline(bundle_dir, tmp_path) -> None:
    """A code-running node hidden deep inside an otherwise genuine pipeline file is found too."""
    marker = tmp_path / "ran"
    target = _copy(bundle_dir, tmp_path)
    path = target / PIPELINE
    with zipfile.ZipFile(path) as archive:
        entries = {i.filename: archive.read(i) for i in archive.infolist()}
    schema = json.loads(entries["schema.json"])
    gadget = json.loads(zipfile.ZipFile(io.BytesIO(_gadgets(marker)["builtins-exec"])).read("schema.json"))
    schema["content"]["content"]["memory"] = gadget  # Pipeline attrs: memory=None becomes the gadget
    entries["schema.json"] = json.dumps(schema).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    path.write_bytes(buffer.getvalue())
    _rehash(target)
    with pytest.raises(BundleError, match="builtins.exec"):
        load_bundle(target)
    assert not marker.exists()


@pytest.mark.parametrize("omitted", ["bundle.json", "training_summary.json", "background.json", "nomograms.json",
                                     PIPELINE, "conformal.json"])
def test_load_bundle_refuses_file_the_manifest_omits(bundle_dir, tmp_path, omitted) -> None:
    target = _copy(bundle_dir, tmp_path)
    manifest = json.loads((target / "manifest.json").read_text())
    del manifest["files"][omitted]
    (target / "manifest.json").write_text(json.dumps(manifest))
    if omitted == "conformal.json":
        # an optional file the manifest does not list is not read at all
        assert load_bundle(target).conformal is None
        return
    with pytest.raises(BundleError, match=f"needs '{omitted}' but the manifest does not list it"):
        load_bundle(target)


def test_load_bundle_refuses_manifest_listing_only_the_card(bundle_dir, tmp_path) -> None:
    target = _copy(bundle_dir, tmp_path)
    meta = json.loads((target / "bundle.json").read_text())
    meta["tasks"]["positive_vs_negative"]["threshold"] = 0.0
    (target / "bundle.json").write_text(json.dumps(meta))
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"] = {"model_card.md": manifest["files"]["model_card.md"]}
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="manifest does not list it"):
        load_bundle(target)


def test_same_seed_gives_byte_identical_bundles(factory, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    first = save_bundle(factory.build_test_bundle(), tmp_path / "a")
    second = save_bundle(factory.build_test_bundle(), tmp_path / "b")
    names = sorted(p.relative_to(first).as_posix() for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second).as_posix() for p in second.rglob("*") if p.is_file())
    assert PIPELINE in names
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    zip_a = save_bundle(load_bundle(first), tmp_path / "a.zip").read_bytes()
    zip_b = save_bundle(load_bundle(second), tmp_path / "b.zip").read_bytes()
    assert zip_a == zip_b
    assert load_bundle(first).created == "2026-01-01T00:00:00+00:00"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    third = save_bundle(factory.build_test_bundle(), tmp_path / "c")
    fourth = save_bundle(factory.build_test_bundle(), tmp_path / "d")
    for name in names:  # without SOURCE_DATE_EPOCH no wall-clock value enters the bundle
        assert (third / name).read_bytes() == (fourth / name).read_bytes(), name
    assert load_bundle(third).created == ""


def test_allow_list_covers_every_registry_model_selector_and_harmonizer(factory) -> None:
    from her2mri.models.pipeline import build_pipeline
    from her2mri.models.registry import MODELS
    from her2mri.models.tasks import TASKS

    frame = factory.training_frame()
    mask, y = TASKS["positive_vs_negative"].labels(frame)
    X = frame[mask].reset_index(drop=True).iloc[:240]
    y = y[:240]
    kinds = {"numeric": factory.NUMERIC, "categorical": factory.CATEGORICAL, "binary": factory.BINARY}
    pipelines = [build_pipeline(**kinds, model=name, random_state=0) for name in MODELS]
    for pipe in pipelines:  # fewer trees: the types are the same, the fit is quicker
        if "n_estimators" in pipe.named_steps["model"].get_params():
            pipe.set_params(model__n_estimators=10)
    selectors = [("correlation", {}), ("univariate", {}), ("univariate", {"level": "variable", "alpha": 0.5}),
                 ("lasso", {}), ("stepwise", {}), ("mrmr", {"k": 8}),
                 ("random_forest", {"k": 6, "n_estimators": 20}), ("gbdt", {"k": 5}),
                 ("shap", {"k": 4, "n_estimators": 10, "max_samples": 100}), ("group_lasso", {})]
    pipelines.append(build_pipeline(**kinds, selectors=selectors, model="lr", random_state=0))
    pipelines.append(build_pipeline(**kinds, harmonize={"batch_column": "center"}, model="lr", random_state=0))
    # k-NN on few selected features keeps a KD tree (many features: brute force, no tree)
    pipelines.append(build_pipeline(**kinds, selectors=[("mrmr", {"k": 4})], model="knn", random_state=0))
    seen: set[tuple[str, str]] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for pipe in pipelines:
            columns = factory.INPUTS + (["center"] if "harmonize" in pipe.named_steps else [])
            pipe.fit(X[columns], y)
            seen |= bundle_io.pipeline_types(bundle_io._skops_bytes(pipe))
        # a wide model's recalibrated classifier (the study wraps every family but LR and SVM this way)
        from her2mri.models.recalibration import LogisticRecalibration

        forest = build_pipeline(**kinds, model="rf", random_state=0).set_params(model__n_estimators=10)
        forest.fit(X[factory.INPUTS], y)
        oof = np.clip(forest.predict_proba(X[factory.INPUTS])[:, 1] * 0.8 + 0.1, 0.01, 0.99)
        forest.steps[-1] = ("model", LogisticRecalibration.from_out_of_fold(forest.steps[-1][1], y, oof))
        seen |= bundle_io.pipeline_types(bundle_io._skops_bytes(forest))
    assert "her2mri.models.recalibration.LogisticRecalibration" in {t for _, t in seen}
    assert "sklearn.neighbors._kd_tree.KDTree" in {t for _, t in seen}
    assert {t for _, t in seen} <= bundle_io.TRUSTED_TYPES
    assert {k for k, _ in seen} <= bundle_io.TRUSTED_LOADERS
    from her2mri.features.registry import SELECTORS

    for cls in SELECTORS.values():  # every registered selector is trusted, whether or not it is fitted above
        assert f"{cls.__module__}.{cls.__qualname__}" in bundle_io.TRUSTED_TYPES, cls
