"""Cohort-level extraction: parallel (local processes or Dask), resumable, failure-tolerant.

:func:`extract_features` runs :func:`her2mri.imaging.casework.extract_case` for every case of a manifest (a
lesion as segmented by one reader). Each finished case is written at once to
``<out stem>.parts/<case key>.<settings hash>.json`` (features, diagnostics, provenance; floats written with
full precision) through a temporary file and an atomic rename, so an
interrupted run loses at most the cases in flight; a rerun with the same settings skips cases already done.
The final tables are assembled from the part files, sorted by patient, lesion and reader, so an interrupted
and resumed run gives exactly the table an uninterrupted run gives. A failing case is recorded (type and
message) and never stops the others.

Outputs when ``out`` is given (``<stem>`` is ``out`` without its suffix):

- ``out`` — one row per lesion for the primary reader (CSV, TSV or Parquet by suffix);
- ``<stem>.readers.<suffix>`` — the long table, one row per lesion and reader;
- ``<stem>.failures.csv`` — failed cases with error type and message (header only if none failed);
- ``<stem>.diagnostics.csv`` — PyRadiomics diagnostics and her2mri provenance (long format);
- ``<stem>.icc.csv`` — per-feature ICC between readers (when the manifest has two or more readers);
- ``<stem>.provenance.json`` — settings, versions, counts.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import platform
import signal
import tempfile
from collections.abc import Callable, Generator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from her2mri._typing import PathLike
from her2mri.exceptions import ImagingError
from her2mri.imaging.casework import QUANTITATIVE_COLUMNS, extract_case
from her2mri.imaging.manifest import CaseSpec, Manifest, read_manifest
from her2mri.imaging.settings import ExtractionSettings, load_settings

__all__ = ["ExtractionResult", "extract_features", "output_paths"]

ID_COLUMNS = ("patient_id", "lesion_id", "reader")
_META = ("_diagnostics", "_provenance", "_settings_sha256")


@dataclass(frozen=True)
class ExtractionResult:
    """Tables produced by :func:`extract_features`."""

    features: pd.DataFrame
    readers: pd.DataFrame
    failures: pd.DataFrame
    diagnostics: pd.DataFrame
    icc: pd.DataFrame | None
    primary_reader: str
    n_computed: int
    n_cached: int
    provenance: dict[str, object]


def output_paths(out: PathLike) -> dict[str, Path]:
    """Paths of every file written for the features table ``out``."""
    out = Path(out)
    suffix = "".join(out.suffixes[-1:]) or ".csv"
    stem = out.parent / out.name[: -len(suffix)] if out.name.endswith(suffix) else out
    return {
        "features": out,
        "readers": Path(f"{stem}.readers{suffix}"),
        "failures": Path(f"{stem}.failures.csv"),
        "diagnostics": Path(f"{stem}.diagnostics.csv"),
        "icc": Path(f"{stem}.icc.csv"),
        "provenance": Path(f"{stem}.provenance.json"),
        "parts": Path(f"{stem}.parts"),
    }


def _part_path(parts: Path, case: CaseSpec, settings_hash: str) -> Path:
    return parts / f"{case.key}.{settings_hash[:12]}.json"


def _process_case(
    case: CaseSpec, settings: ExtractionSettings, parts_dir: str, threads: int | None = None
) -> dict[str, str]:
    """Extract one case and write its part file; return a status record (runs in worker processes)."""
    if threads is not None:
        import SimpleITK as sitk

        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(threads)
    status = {
        "patient_id": case.patient_id,
        "lesion_id": case.lesion_id,
        "reader": case.reader,
        "case": case.key,
    }
    try:
        result = extract_case(case, settings)
    except Exception as exc:  # noqa: BLE001 - every failure is reported per case, the run goes on
        return {**status, "status": "failed", "error_type": type(exc).__name__, "message": str(exc)}
    row: dict[str, object] = {
        "patient_id": case.patient_id,
        "lesion_id": case.lesion_id,
        "reader": case.reader,
    }
    row.update(result.features)
    part = {
        "row": row,
        "_diagnostics": result.diagnostics,
        "_provenance": result.provenance,
        "_settings_sha256": settings.sha256(),
    }
    target = _part_path(Path(parts_dir), case, settings.sha256())
    handle, temp = tempfile.mkstemp(dir=parts_dir, suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(part, stream, default=str)
        os.replace(temp, target)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return {**status, "status": "done", "error_type": "", "message": ""}


def _run_serial(
    cases: list[CaseSpec], settings: ExtractionSettings, parts: str
) -> Generator[dict[str, str], None, None]:
    for case in cases:
        yield _process_case(case, settings, parts)


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group; only the parent decides what to do."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued cases and end the workers now (the cases in flight are lost; finished parts stay).

    Before Python 3.14 the workers are ended first and the executor is shut down after: its manager thread then
    sees dead workers at once and ends, instead of waiting on results that will never come while the shutdown
    (and, at exit, the interpreter's join of that thread) waits on it.
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        pool.shutdown(wait=False, cancel_futures=True)
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:  # before 3.14 the executor has no public way to stop running workers
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)
    pool.shutdown(wait=False, cancel_futures=True)


def _run_processes(
    cases: list[CaseSpec], settings: ExtractionSettings, parts: str, workers: int
) -> Generator[dict[str, str], None, None]:
    """Run cases in local worker processes.

    On an interrupt (Ctrl-C / SIGINT, or the consumer closing the generator) queued cases are cancelled and
    the workers are terminated at once, instead of the executor's default of finishing every queued case
    first. Workers ignore SIGINT so that a Ctrl-C sent to the whole process group is handled by the parent
    only; part files of finished cases are complete (atomic rename) and a rerun resumes from them.
    """
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["her2mri.imaging.extract", "radiomics.featureextractor"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_ignore_sigint)
    try:
        futures = [pool.submit(_process_case, case, settings, parts, 1) for case in cases]
        for future in as_completed(futures):
            yield future.result()
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)


def _run_dask(
    cases: list[CaseSpec], settings: ExtractionSettings, parts: str, address: str
) -> Generator[dict[str, str], None, None]:
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    with Client(address) as client:
        futures = [
            client.submit(
                _process_case, case, settings, parts, 1, key=f"her2mri-extract-{case.key}", pure=False
            )
            for case in cases
        ]
        try:
            for future in dask_completed(futures):
                yield future.result()
        except BaseException:
            client.cancel(futures)
            raise


def _read_parts(paths: list[Path]) -> pd.DataFrame:
    rows = []
    for path in paths:
        part = json.loads(path.read_text(encoding="utf-8"))
        rows.append({**part["row"], **{key: part[key] for key in _META}})
    if not rows:
        return pd.DataFrame(columns=[*ID_COLUMNS, *_META])
    return pd.DataFrame(rows)


def _order_columns(frame: pd.DataFrame) -> pd.DataFrame:
    quantitative = [c for c in QUANTITATIVE_COLUMNS if c in frame.columns]
    radiomics = sorted(c for c in frame.columns if "__" in c)
    rest = sorted(c for c in frame.columns if c not in (*ID_COLUMNS, *quantitative, *radiomics))
    ordered = frame[[*ID_COLUMNS, *quantitative, *rest, *radiomics]]
    return ordered.sort_values(list(ID_COLUMNS), kind="mergesort").reset_index(drop=True)


def _diagnostics_table(raw: pd.DataFrame) -> pd.DataFrame:
    records = []
    for row in raw[[*ID_COLUMNS, "_diagnostics", "_provenance"]].to_dict("records"):  # not the feature columns
        ids = {c: row[c] for c in ID_COLUMNS}
        for sequence, values in row["_diagnostics"].items():
            for key, value in values.items():
                records.append({**ids, "sequence": sequence, "key": key, "value": value})
        for key, value in row["_provenance"].items():
            records.append(
                {**ids, "sequence": "her2mri", "key": key, "value": json.dumps(value, sort_keys=True)}
            )
    columns = [*ID_COLUMNS, "sequence", "key", "value"]
    frame = pd.DataFrame(records, columns=columns)
    return frame.sort_values(columns[:5], kind="mergesort").reset_index(drop=True)


def _write_table(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
    elif suffix in (".tsv", ".txt"):
        frame.to_csv(path, sep="\t", index=False)
    else:
        frame.to_csv(path, index=False)


def extract_features(
    manifest: Manifest | PathLike,
    out: PathLike | None = None,
    *,
    settings: ExtractionSettings | PathLike | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    reader: str | None = None,
    work_dir: PathLike | None = None,
    progress: bool = False,
    on_case: Callable[[dict[str, str]], None] | None = None,
) -> ExtractionResult:
    """Extract quantitative and radiomics features for every case of ``manifest``.

    ``workers`` > 1 runs local processes; ``scheduler`` (a Dask scheduler address) runs on a Dask cluster.
    ``reader`` chooses the primary reader of the main table (default: the first reader in the manifest).
    Without ``out`` the per-case parts go to ``work_dir`` (default: a temporary folder removed afterwards).
    """
    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest)
    if not isinstance(settings, ExtractionSettings):
        settings = load_settings(settings)
    if workers < 1:
        msg = f"extract_features: workers must be >= 1; got {workers}."
        raise ImagingError(msg)
    primary = reader if reader is not None else manifest.readers[0]
    if primary not in manifest.readers:
        msg = f"Reader {primary!r} is not in manifest '{manifest.source}'; accepted: {', '.join(manifest.readers)}."
        raise ImagingError(msg)
    temp_dir = None
    if out is not None:
        parts = output_paths(out)["parts"]
    elif work_dir is not None:
        parts = Path(work_dir)
    else:
        temp_dir = tempfile.TemporaryDirectory(prefix="her2mri-parts-")
        parts = Path(temp_dir.name)
    try:
        return _extract(manifest, out, settings, workers, scheduler, primary, parts, progress, on_case)
    finally:
        if temp_dir is not None:
            temp_dir.cleanup()


def _extract(
    manifest: Manifest,
    out: PathLike | None,
    settings: ExtractionSettings,
    workers: int,
    scheduler: str | None,
    primary: str,
    parts: Path,
    progress: bool,
    on_case: Callable[[dict[str, str]], None] | None,
) -> ExtractionResult:
    parts.mkdir(parents=True, exist_ok=True)
    digest = settings.sha256()
    cases = list(manifest.cases)
    todo = [c for c in cases if not _part_path(parts, c, digest).exists()]
    n_cached = len(cases) - len(todo)
    if scheduler is not None:
        runner = _run_dask(todo, settings, str(parts), scheduler)
    elif workers > 1 and len(todo) > 1:
        runner = _run_processes(todo, settings, str(parts), min(workers, len(todo)))
    else:
        runner = _run_serial(todo, settings, str(parts))
    statuses: list[dict[str, str]] = []
    try:
        _consume(runner, statuses, len(todo), progress, on_case)
    finally:
        # An exception raised here rather than inside the runner (Ctrl-C while the progress bar or on_case
        # runs) must still stop the workers at once: closing the generator runs its interrupt handling.
        runner.close()
    failures = pd.DataFrame(
        [s for s in statuses if s["status"] == "failed"],
        columns=[*ID_COLUMNS, "case", "status", "error_type", "message"],
    ).drop(columns="status")
    failures = failures.sort_values(list(ID_COLUMNS), kind="mergesort").reset_index(drop=True)
    done = [p for c in cases if (p := _part_path(parts, c, digest)).exists()]
    raw = _read_parts(done)
    readers = _order_columns(raw.drop(columns=list(_META)))
    diagnostics = _diagnostics_table(raw)
    features = readers[readers["reader"] == primary].reset_index(drop=True)
    icc = None
    if len(manifest.readers) >= 2 and readers["lesion_id"].nunique() >= 2:
        from her2mri.imaging.reproducibility import feature_icc

        icc = feature_icc(readers, form=settings.reproducibility.icc_form).table
    provenance: dict[str, object] = {
        "manifest": manifest.source,
        "settings": settings.model_dump(mode="json"),
        "settings_sha256": digest,
        "primary_reader": primary,
        "readers": list(manifest.readers),
        "n_cases": len(cases),
        "n_computed": len(todo) - len(failures),
        "n_cached": n_cached,
        "n_failed": len(failures),
        "python": platform.python_version(),
        "packages": _versions(),
    }
    result = ExtractionResult(
        features=features,
        readers=readers,
        failures=failures,
        diagnostics=diagnostics,
        icc=icc,
        primary_reader=primary,
        n_computed=len(todo) - len(failures),
        n_cached=n_cached,
        provenance=provenance,
    )
    if out is not None:
        _write_outputs(result, out)
    return result


def _consume(
    runner: Generator[dict[str, str], None, None],
    statuses: list[dict[str, str]],
    n_todo: int,
    progress: bool,
    on_case: Callable[[dict[str, str]], None] | None,
) -> None:
    """Collect the status of every case, with a progress bar if asked."""
    if not (progress and n_todo):
        for status in runner:
            statuses.append(status)
            if on_case is not None:
                on_case(status)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("extracting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("cases", total=n_todo)
        for status in runner:
            statuses.append(status)
            if on_case is not None:
                on_case(status)
            bar.advance(task)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("her2mri", "pyradiomics-bhklab", "SimpleITK", "numpy", "scipy", "pandas"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def _write_outputs(result: ExtractionResult, out: PathLike) -> None:
    paths = output_paths(out)
    _write_table(result.features, paths["features"])
    _write_table(result.readers, paths["readers"])
    _write_table(result.failures, paths["failures"])
    _write_table(result.diagnostics, paths["diagnostics"])
    if result.icc is not None:
        _write_table(result.icc, paths["icc"])
    paths["provenance"].write_text(
        json.dumps(result.provenance, indent=2, sort_keys=True, default=str), encoding="utf-8"
    )
