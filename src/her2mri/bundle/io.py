"""Saving and loading model bundles without executing code from the bundle.

Layout (a directory, or the same files in a ``.zip``)::

    manifest.json            format, format_version, her2mri_version, created, sha256 of every other file
    bundle.json              hierarchy, task metadata (model, threshold, inputs, labels, metrics), config,
                             metrics, versions, input schema
    training_summary.json    training distribution for out-of-distribution checks
    background.json          background sample for explanations (canonical values)
    nomograms.json           nomograms of logistic models
    conformal.json           conformal state (only when present)
    model_card.md            the model card
    pipelines/<task>.skops   fitted pipelines, skops format

Trust boundary: JSON and Markdown are data. Pipelines are stored with :mod:`skops.io`, which rebuilds objects
from a declarative description instead of unpickling; before loading, every type a pipeline file names is
checked against :data:`TRUSTED_MODULE_PREFIXES` and a bundle naming anything else is refused. Loading first
checks the format version and the her2mri major version, then the SHA-256 of every file against the manifest.
The manifest detects accidental damage and edits of single files; it is not a signature (whoever can write the
whole bundle can rewrite the manifest), so load bundles only from sources you trust.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from her2mri import __version__
from her2mri.bundle.bundle import BUNDLE_FORMAT_VERSION, ModelBundle, TaskModel
from her2mri.bundle.nomogram import Nomogram
from her2mri.bundle.ood import TrainingSummary
from her2mri.bundle.schema import InputSchema
from her2mri.exceptions import BundleError

__all__ = ["TRUSTED_MODULE_PREFIXES", "bundle_files", "load_bundle", "save_bundle"]

FORMAT_NAME = "her2mri-bundle"
MANIFEST = "manifest.json"
TRUSTED_MODULE_PREFIXES: tuple[str, ...] = (
    "sklearn.",
    "numpy.",
    "scipy.sparse.",
    "her2mri.models.",
    "her2mri.features.",
)
"""Module prefixes of the types a pipeline file may name. Anything else (``builtins.eval``, ``os.system``,
arbitrary user classes) makes :func:`load_bundle` refuse the bundle."""


# ------------------------------------------------------------------------------------------------- JSON
def _clean(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(_clean(data), indent=2, sort_keys=False, allow_nan=False, ensure_ascii=False) + "\n").encode()


def _background_to_json(frame: pd.DataFrame, schema: InputSchema) -> dict[str, Any]:
    kinds = {c: (schema.get(c).kind if c in schema else "numeric") for c in frame.columns}
    rows = [[None if pd.isna(v) else v for v in row] for row in frame.itertuples(index=False)]
    return {"columns": list(frame.columns), "kinds": kinds, "rows": rows}


def _background_from_json(data: Mapping[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(data["rows"], columns=data["columns"])
    for column, kind in data["kinds"].items():
        if kind == "categorical":
            frame[column] = frame[column].astype(object).where(frame[column].notna(), np.nan)
        else:
            frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


# ---------------------------------------------------------------------------------------------- saving
def bundle_files(bundle: ModelBundle) -> dict[str, bytes]:
    """The files of a bundle (manifest excluded), name → content."""
    import skops.io as sio

    files: dict[str, bytes] = {}
    tasks = {}
    for name, tm in bundle.task_models.items():
        filename = f"pipelines/{name}.skops"
        files[filename] = sio.dumps(tm.pipeline)
        tasks[name] = tm.meta() | {"pipeline": filename}
    meta = bundle.meta() | {"tasks": tasks, "schema": bundle.schema.to_dict()}
    meta.pop("sha256", None)
    files["bundle.json"] = _json_bytes(meta)
    files["training_summary.json"] = _json_bytes(bundle.training_summary.to_dict())
    files["background.json"] = _json_bytes(_background_to_json(bundle.background, bundle.schema))
    files["nomograms.json"] = _json_bytes({k: v.to_dict() for k, v in bundle.nomograms.items()})
    if bundle.conformal is not None:
        files["conformal.json"] = _json_bytes(dict(bundle.conformal))
    files["model_card.md"] = bundle.card.encode()
    return files


def save_bundle(bundle: ModelBundle, path: str | Path) -> Path:
    """Write ``bundle`` to the directory ``path`` (created; existing bundle files overwritten), or to a zip
    archive when ``path`` ends in ``.zip``. Returns the path written."""
    path = Path(path)
    files = bundle_files(bundle)
    manifest = {
        "format": FORMAT_NAME,
        "format_version": bundle.format_version,
        "her2mri_version": bundle.her2mri_version,
        "created": bundle.created,
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in sorted(files.items())},
    }
    files[MANIFEST] = _json_bytes(manifest)
    if path.suffix == ".zip":
        path.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, content in sorted(files.items()):
                archive.writestr(name, content)
        return path
    if path.exists() and not path.is_dir():
        msg = f"Cannot save a bundle to {path}: it exists and is not a directory; choose a directory or a .zip."
        raise BundleError(msg)
    for name, content in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return path


# --------------------------------------------------------------------------------------------- loading
def _read_all(path: Path) -> dict[str, bytes]:
    if not path.exists():
        msg = f"Model bundle not found: {path}. Pass the directory (or .zip) written by save_bundle / study run."
        raise BundleError(msg)
    if path.is_dir():
        return {
            p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
        }
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    msg = f"{path} is neither a bundle directory nor a zip archive."
    raise BundleError(msg)


def _json(files: Mapping[str, bytes], name: str, path: Path) -> Any:
    try:
        return json.loads(files[name].decode())
    except (KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        msg = f"Bundle {path}: file '{name}' is missing or not valid JSON ({exc})."
        raise BundleError(msg) from exc


def _major(text: str) -> int | None:
    try:
        return int(str(text).split(".")[0])
    except ValueError:
        return None


def _check_manifest(files: Mapping[str, bytes], path: Path) -> dict[str, Any]:
    if MANIFEST not in files:
        msg = f"Bundle {path}: '{MANIFEST}' is missing; this is not a her2mri model bundle (or it is damaged)."
        raise BundleError(msg)
    manifest = _json(files, MANIFEST, path)
    if manifest.get("format") != FORMAT_NAME:
        msg = f"Bundle {path}: manifest format is {manifest.get('format')!r}; expected {FORMAT_NAME!r}."
        raise BundleError(msg)
    fmt = manifest.get("format_version")
    if fmt != BUNDLE_FORMAT_VERSION:
        msg = (
            f"Bundle {path} has bundle format version {fmt!r}; this her2mri ({__version__}) reads format "
            f"version {BUNDLE_FORMAT_VERSION}. Re-create the bundle with this version (her2mri study run) or "
            "install the her2mri version that made it."
        )
        raise BundleError(msg)
    made_by = str(manifest.get("her2mri_version"))
    if _major(made_by) != _major(__version__):
        msg = (
            f"Bundle {path} was made by her2mri {made_by}, an incompatible major version; this is her2mri "
            f"{__version__}. Re-create the bundle with this version or install her2mri {made_by}."
        )
        raise BundleError(msg)
    listed = manifest.get("files")
    if not isinstance(listed, Mapping) or not listed:
        msg = f"Bundle {path}: manifest lists no files."
        raise BundleError(msg)
    for name, expected in listed.items():
        if name not in files:
            msg = f"Bundle {path}: file '{name}' listed in the manifest is missing."
            raise BundleError(msg)
        actual = hashlib.sha256(files[name]).hexdigest()
        if actual != expected:
            msg = (
                f"Bundle {path}: integrity check failed for '{name}' (SHA-256 {actual[:12]}… does not match "
                f"the manifest's {str(expected)[:12]}…). The file was modified or damaged; refusing to load it."
            )
            raise BundleError(msg)
    return manifest


def _load_pipeline(content: bytes, name: str, path: Path) -> Any:
    import skops.io as sio

    try:
        types = sio.get_untrusted_types(data=content)
    except Exception as exc:  # skops raises several exception types on malformed input
        msg = f"Bundle {path}: pipeline file '{name}' cannot be read ({type(exc).__name__}: {exc})."
        raise BundleError(msg) from exc
    refused = sorted(t for t in types if not t.startswith(TRUSTED_MODULE_PREFIXES))
    if refused:
        msg = (
            f"Bundle {path}: pipeline file '{name}' names types outside the trusted list and was not loaded: "
            f"{', '.join(refused)}. Trusted module prefixes: {', '.join(TRUSTED_MODULE_PREFIXES)}."
        )
        raise BundleError(msg)
    try:
        return sio.loads(content, trusted=list(types))
    except Exception as exc:  # a damaged or foreign skops file
        msg = f"Bundle {path}: pipeline file '{name}' could not be rebuilt ({type(exc).__name__}: {exc})."
        raise BundleError(msg) from exc


def load_bundle(path: str | Path) -> ModelBundle:
    """Load and verify a bundle written by :func:`save_bundle` (see the module docstring for the checks).

    Raises :class:`~her2mri.exceptions.BundleError` naming the file for a missing, damaged or tampered file,
    an incompatible format or major version, or a pipeline naming untrusted types.
    """
    path = Path(path)
    files = _read_all(path)
    manifest = _check_manifest(files, path)
    meta = _json(files, "bundle.json", path)
    try:
        schema = InputSchema.from_dict(meta["schema"])
        task_models = {}
        for name, info in meta["tasks"].items():
            task_models[name] = TaskModel(
                task=info["task"],
                model_name=info["model_name"],
                pipeline=_load_pipeline(files[info["pipeline"]], info["pipeline"], path),
                threshold=float(info["threshold"]),
                input_columns=tuple(info["input_columns"]),
                positive_label=info["positive_label"],
                negative_label=info["negative_label"],
                metrics=info.get("metrics", {}),
            )
        summary = TrainingSummary.from_dict(_json(files, "training_summary.json", path))
        background = _background_from_json(_json(files, "background.json", path))
        nomograms = {k: Nomogram.from_dict(v) for k, v in _json(files, "nomograms.json", path).items()}
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, BundleError):
            raise
        msg = f"Bundle {path}: content is incomplete or malformed ({type(exc).__name__}: {exc})."
        raise BundleError(msg) from exc
    conformal = _json(files, "conformal.json", path) if "conformal.json" in manifest["files"] else None
    return ModelBundle(
        task_models=task_models,
        hierarchy=meta.get("hierarchy"),
        schema=schema,
        training_summary=summary,
        background=background,
        config=meta.get("config", {}),
        metrics=meta.get("metrics", {}),
        conformal=conformal,
        nomograms=nomograms,
        versions=meta.get("versions", {}),
        created=str(meta.get("created", manifest.get("created", ""))),
        card=files["model_card.md"].decode() if "model_card.md" in files else "",
        format_version=int(manifest["format_version"]),
        her2mri_version=str(manifest["her2mri_version"]),
        sha256=hashlib.sha256(files[MANIFEST]).hexdigest(),
    )

