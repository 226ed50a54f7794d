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
from a declarative description instead of unpickling. Before anything is built, the pipeline file's
``schema.json`` is walked here (not by skops, whose own audit trusts some types by default) and every node must
use one of :data:`TRUSTED_LOADERS` and name one of :data:`TRUSTED_TYPES` exactly: the types that pipelines
written by this toolkit contain (every registry classifier, selector and preprocessing step). A module prefix
is not enough: ``numpy.`` also holds functions that execute strings. Anything else is refused with a message
naming the type. Loading checks the format version and the her2mri major version, then the SHA-256 of every
file against the manifest; every file the loader reads must be listed there. The manifest detects accidental
damage and edits of single files; it is not a signature (whoever can write the whole bundle can rewrite it),
which is why the type check does not rely on it. Load bundles only from sources you trust.

Saving is byte-for-byte reproducible: skops names array entries after memory addresses and stamps archive
entries with the current time, so the archives are rewritten here with ids numbered in order of appearance and
a fixed timestamp. The bundle's ``created`` is empty unless ``SOURCE_DATE_EPOCH`` or an explicit value sets it
(see :func:`~her2mri.bundle.build_bundle`), so no wall-clock value enters a bundle by default.
"""

from __future__ import annotations

import hashlib
import io
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

__all__ = ["TRUSTED_LOADERS", "TRUSTED_TYPES", "bundle_files", "load_bundle", "pipeline_types", "save_bundle"]

FORMAT_NAME = "her2mri-bundle"
MANIFEST = "manifest.json"
REQUIRED_FILES = ("bundle.json", "training_summary.json", "background.json", "nomograms.json")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)

TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # containers and plain values
        "builtins.dict", "builtins.list", "builtins.tuple", "builtins.set", "builtins.slice", "builtins.str",
        "builtins.int", "builtins.float", "builtins.bool", "builtins.NoneType",
        # numpy data
        "numpy.ndarray", "numpy.dtype", "numpy.random.mtrand.RandomState",
        *(f"numpy.{t}" for t in ("float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
                                  "uint16", "uint32", "uint64", "bool", "bool_", "str_", "object_")),
        # this toolkit's steps: preprocessing, harmonisation, every registry selector
        "her2mri.models.preprocess.CohortPreprocessor",
        "her2mri.models.preprocess._ApplicableModeImputer",
        "her2mri.models.combat.ComBatHarmonizer",
        "her2mri.models.recalibration.LogisticRecalibration",
        "her2mri.features.embedded.GbdtSelector",
        "her2mri.features.embedded.LassoSelector",
        "her2mri.features.embedded.RandomForestSelector",
        "her2mri.features.embedded.ShapSelector",
        "her2mri.features.group_lasso.GroupLassoSelector",
        "her2mri.features.filters.CorrelationFilter",
        "her2mri.features.filters.ReliabilityFilter",
        "her2mri.features.filters.UnivariateFilter",
        "her2mri.features.mrmr.MrmrSelector",
        "her2mri.features.stepwise.StepwiseLogisticSelector",
        # scikit-learn: pipeline and preprocessing steps
        "sklearn.pipeline.Pipeline",
        "sklearn.compose._column_transformer.ColumnTransformer",
        "sklearn.impute._base.SimpleImputer",
        "sklearn.preprocessing._data.StandardScaler",
        "sklearn.preprocessing._encoders.OneHotEncoder",
        "sklearn.preprocessing._label.LabelBinarizer",
        # scikit-learn: every registry classifier and what its fitted state holds
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.tree._classes.DecisionTreeClassifier",
        "sklearn.tree._classes.DecisionTreeRegressor",
        "sklearn.tree._tree.Tree",
        "sklearn.svm._classes.SVC",
        "sklearn.calibration.CalibratedClassifierCV",
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.neighbors._classification.KNeighborsClassifier",
        "sklearn.neighbors._kd_tree.KDTree",  # k-NN on few features keeps a KD or ball tree
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.metrics._dist_metrics.MinkowskiDistance64",
        "sklearn.metrics._dist_metrics.ManhattanDistance64",
        "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.ensemble._forest.RandomForestClassifier",
        "sklearn.ensemble._gb.GradientBoostingClassifier",
        "sklearn.dummy.DummyClassifier",
        "sklearn._loss._loss.CyHalfBinomialLoss",
        "sklearn._loss.link.Interval",
        "sklearn._loss.link.LogitLink",
        "sklearn._loss.loss.HalfBinomialLoss",
    }
)
"""Exact names of the types a pipeline file may name. Anything else (``builtins.exec``, ``os.system``,
``numpy.testing._private.utils.runstring``, arbitrary user classes) makes :func:`load_bundle` refuse the bundle
before anything is built."""

TRUSTED_LOADERS: frozenset[str] = frozenset(
    {
        "DictNode", "ListNode", "TupleNode", "SetNode", "SliceNode", "JsonNode", "TypeNode", "ObjectNode",
        "DTypeNode", "NdArrayNode", "RandomStateNode", "LossNode", "TreeNode", "CachedNode",
    }
)
"""skops node kinds a pipeline file may use. Kinds that call a named function or method while loading
(``FunctionNode``, ``ConstructorFromReduceNode``, ``MethodNode``, ``PartialNode``, ``OperatorFuncNode``) are
never needed by this toolkit's pipelines and are refused."""


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


# ------------------------------------------------------------------------------------------ skops files
def _walk_nodes(node: Any, found: list[dict[str, Any]]) -> None:
    if isinstance(node, dict):
        if "__loader__" in node:
            found.append(node)
        for value in node.values():
            _walk_nodes(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk_nodes(value, found)


def _read_skops_schema(content: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """``schema.json`` and the other entries of a skops archive, read as plain data (nothing is built)."""
    if not zipfile.is_zipfile(io.BytesIO(content)):
        msg = "not a skops archive (a zip file holding schema.json)"
        raise ValueError(msg)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        entries = {info.filename: archive.read(info) for info in archive.infolist() if not info.is_dir()}
    if "schema.json" not in entries:
        msg = "the archive holds no schema.json"
        raise ValueError(msg)
    schema = json.loads(entries.pop("schema.json").decode())
    if not isinstance(schema, dict):
        msg = "schema.json is not a JSON object"
        raise ValueError(msg)
    return schema, entries


def pipeline_types(content: bytes) -> set[tuple[str, str]]:
    """``(node kind, type name)`` of every node of a skops pipeline file, read without building anything."""
    schema, _ = _read_skops_schema(content)
    found: list[dict[str, Any]] = []
    _walk_nodes(schema, found)
    out = set()
    for node in found:
        name = f"{node.get('__module__')}.{node.get('__class__')}"
        if node.get("__loader__") == "MethodNode" and isinstance(node.get("content"), Mapping):
            name += f".{node['content'].get('func')}"
        out.add((str(node.get("__loader__")), name))
    return out


def _skops_bytes(obj: Any) -> bytes:
    """``skops.io.dumps`` made reproducible: object ids renumbered in order of appearance, entries renamed
    after them, fixed entry timestamps and order."""
    import skops.io as sio

    schema, entries = _read_skops_schema(sio.dumps(obj))
    found: list[dict[str, Any]] = []
    _walk_nodes(schema, found)
    ids: dict[Any, int] = {}
    names: dict[str, str] = {}
    for node in found:
        if "__id__" in node:
            node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
        file = node.get("file")
        if isinstance(file, str):
            if file not in names:
                names[file] = f"{len(names) + 1:05d}{Path(file).suffix}"
            node["file"] = names[file]
    unknown = sorted(set(entries) - set(names))
    if unknown:
        msg = f"skops wrote archive entries that no node refers to: {unknown}"
        raise BundleError(msg)
    out = {"schema.json": json.dumps(schema, indent=2).encode()}
    out |= {names[k]: (_zeroed_padding(v) if k.endswith(".npy") else v) for k, v in entries.items()}
    return _zip_bytes(out, compression=zipfile.ZIP_STORED)


def _zeroed_padding(npy: bytes) -> bytes:
    """Structured arrays (e.g. a fitted tree's nodes) have padding bytes holding whatever memory held; copy the
    fields into zeroed memory so the same values always give the same bytes."""
    array = np.load(io.BytesIO(npy), allow_pickle=False)
    if array.dtype.fields is None:
        return npy
    clean = np.zeros(array.shape, dtype=array.dtype)
    for field in array.dtype.names or ():
        clean[field] = array[field]
    buffer = io.BytesIO()
    np.save(buffer, clean, allow_pickle=False)
    return buffer.getvalue()


def _zip_bytes(files: Mapping[str, bytes], *, compression: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            archive.writestr(info, files[name])
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- saving
def bundle_files(bundle: ModelBundle) -> dict[str, bytes]:
    """The files of a bundle (manifest excluded), name → content."""
    files: dict[str, bytes] = {}
    tasks = {}
    for name, tm in bundle.task_models.items():
        filename = f"pipelines/{name}.skops"
        files[filename] = _skops_bytes(tm.pipeline)
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
        path.write_bytes(_zip_bytes(files, compression=zipfile.ZIP_DEFLATED))
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
    if not isinstance(manifest, dict):
        msg = f"Bundle {path}: '{MANIFEST}' is not a JSON object; this is not a her2mri model bundle."
        raise BundleError(msg)
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
        found = pipeline_types(content)
    except (ValueError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        msg = f"Bundle {path}: pipeline file '{name}' cannot be read ({exc}); nothing was loaded from it."
        raise BundleError(msg) from exc
    refused = sorted(
        f"{type_name} ({loader})" for loader, type_name in found
        if loader not in TRUSTED_LOADERS or type_name not in TRUSTED_TYPES
    )
    if refused:
        msg = (
            f"Bundle {path}: pipeline file '{name}' names types outside the trusted list and was not loaded: "
            f"{', '.join(refused)}. Trusted: the exact types of this toolkit's pipelines "
            "(her2mri.bundle.TRUSTED_TYPES, node kinds her2mri.bundle.TRUSTED_LOADERS)."
        )
        raise BundleError(msg)
    try:
        return sio.loads(content, trusted=sorted({type_name for _, type_name in found}))
    except Exception as exc:  # a damaged or foreign skops file
        msg = f"Bundle {path}: pipeline file '{name}' could not be rebuilt ({type(exc).__name__}: {exc})."
        raise BundleError(msg) from exc


class _Listed:
    """The bundle's files, readable only when the manifest lists (and so hashes) them."""

    def __init__(self, files: Mapping[str, bytes], listed: Mapping[str, Any], path: Path) -> None:
        self._files = files
        self._listed = listed
        self._path = path

    def __contains__(self, name: str) -> bool:
        return name in self._listed

    def __getitem__(self, name: str) -> bytes:
        if name not in self._listed:
            msg = (
                f"Bundle {self._path}: the loader needs '{name}' but the manifest does not list it, so its "
                "integrity cannot be checked; refusing to load the bundle."
            )
            raise BundleError(msg)
        return self._files[name]


def load_bundle(path: str | Path) -> ModelBundle:
    """Load and verify a bundle written by :func:`save_bundle` (see the module docstring for the checks).

    Raises :class:`~her2mri.exceptions.BundleError` naming the file for a missing, damaged or tampered file,
    an incompatible format or major version, or a pipeline naming untrusted types.
    """
    path = Path(path)
    raw = _read_all(path)
    manifest = _check_manifest(raw, path)
    files = _Listed(raw, manifest["files"], path)
    for required in REQUIRED_FILES:
        files[required]  # noqa: B018 - raises BundleError when the manifest does not list it
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
    conformal = _json(files, "conformal.json", path) if "conformal.json" in files else None
    card = files["model_card.md"].decode() if "model_card.md" in files else ""
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
        card=card,
        format_version=int(manifest["format_version"]),
        her2mri_version=str(manifest["her2mri_version"]),
        sha256=hashlib.sha256(raw[MANIFEST]).hexdigest(),
    )

