"""Run a study as named steps: cohort → tasks → design → table1 → models → evaluation → three-class →
conformal → interpretability → survival → subgroups → harmonisation → drift → reader study → predictions →
bundle → report.

After every step the partial ``results.json`` is rewritten atomically, so a run that fails half-way keeps what
finished (``"status": "failed"`` with ``"failed_step"``) and the error names the step (:class:`StudyStepError`,
chained to the original exception). Warnings raised inside a step are recorded as footnotes in ``warnings``.
"""

from __future__ import annotations

import logging
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from her2mri.exceptions import CohortError, ConfigError, Her2MriError, TaskError
from her2mri.study import stages
from her2mri.study.config import StudyConfig, load_config
from her2mri.study.data import StudyData
from her2mri.study.designs import DesignPlan
from her2mri.study.fitting import FittedModel
from her2mri.study.provenance import now_iso, provenance_record
from her2mri.study.results import RESULTS_SCHEMA_VERSION, StudyResult, json_safe, write_json_atomic

__all__ = ["STEPS", "StudyStepError", "run_study"]

logger = logging.getLogger("her2mri.study")

#: The steps of a study, in order (names appear in run.log, results.json and StudyStepError).
STEPS: tuple[str, ...] = (
    "cohort", "tasks", "design", "table1", "models", "evaluation", "three_class", "conformal",
    "interpretability", "survival", "subgroups", "harmonisation", "drift", "reader_study", "predictions",
    "bundle", "report",
)

_INPUT_ERRORS = (ConfigError, TaskError, CohortError, FileNotFoundError)


class StudyStepError(Her2MriError, RuntimeError):
    """A study step failed; ``step`` names it and ``__cause__`` holds the original exception."""

    def __init__(self, step: str, cause: BaseException, results_path: Path | None = None) -> None:
        self.step = step
        self.results_path = results_path
        kept = f" Finished steps are kept in {results_path}." if results_path is not None else ""
        message = f"Study step '{step}' failed: {type(cause).__name__}: {cause}.{kept}"
        super().__init__(message)


@dataclass
class TaskState:
    """Everything the steps learn about one task."""

    name: str
    task: Any
    mask: np.ndarray
    labels: np.ndarray  # 0/1 for eligible rows, -1 elsewhere (length of the frame)
    models: dict[str, FittedModel] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    scores: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # model → set → score per set row
    folds: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # model → {"fold","repeat"} for cv
    thresholds: dict[str, float] = field(default_factory=dict)
    best: str | None = None


@dataclass
class StudyContext:
    """Mutable state shared by the steps of one run."""

    config: StudyConfig
    out_dir: Path | None
    progress: Any = None
    document: dict[str, Any] = field(default_factory=dict)
    data: StudyData | None = None
    plan: DesignPlan | None = None
    tasks: dict[str, TaskState] = field(default_factory=dict)
    predictions: pd.DataFrame | None = None
    extra_predictions: list[pd.DataFrame] = field(default_factory=list)
    three_class: dict[str, np.ndarray] = field(default_factory=dict)  # set → (n, 3) over the set rows
    files: dict[str, Path] = field(default_factory=dict)
    conformal: Any = None
    harmonize_off: bool = False
    scheduler: Any = None  # Dask scheduler address or Client for the models step (overrides config.scheduler)

    @property
    def frame(self) -> pd.DataFrame:
        if self.data is None:
            message = "The cohort has not been loaded yet (step 'cohort' must run first)."
            raise RuntimeError(message)
        return self.data.frame

    @property
    def design(self) -> DesignPlan:
        if self.plan is None:
            message = "The design has not been made yet (step 'design' must run first)."
            raise RuntimeError(message)
        return self.plan

    def seed_for(self, *parts: str) -> int:
        """A reproducible seed per (task, model, …), derived from the study seed."""
        key = "/".join(parts).encode("utf-8")
        return int((self.config.effective_seed + zlib.crc32(key)) % (2**31 - 1))

    def warn(self, text: str) -> None:
        self.document.setdefault("warnings", [])
        if text not in self.document["warnings"]:
            self.document["warnings"].append(text)
        logger.warning(text)


def _setup_log(out_dir: Path | None) -> logging.Handler | None:
    if out_dir is None:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(out_dir / "run.log", mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler


def _initial_document(config: StudyConfig, config_path: Path | None) -> dict[str, Any]:
    import her2mri

    dump = json_safe(config.model_dump(mode="json"))
    inputs = {"cohort": config.cohort.path}
    if config.cohort.features is not None:
        inputs["features"] = config.cohort.features.path
    if config.reader_study is not None:
        inputs["reader_study"] = config.reader_study.reads
    if config_path is not None:
        inputs["config"] = config_path
    return {
        "schema_version": RESULTS_SCHEMA_VERSION,
        "her2mri_version": her2mri.__version__,
        "created": now_iso(),
        "status": "running",
        "failed_step": None,
        "error": None,
        "steps": {},
        "config": dump,
        "provenance": provenance_record(
            config_dump=dump, seed=config.effective_seed, cohort_sha256=None, inputs=inputs
        ),
        "cohort": {},
        "design": {},
        "tasks": {},
        "three_class": None,
        "conformal": None,
        "reader_study": None,
        "harmonisation": None,
        "drift": None,
        "warnings": [],
    }


def _save(context: StudyContext, *, final: bool = False) -> None:
    """Rewrite results.json: compact after each step, indented once the run has ended."""
    if context.out_dir is not None:
        write_json_atomic(context.document, context.out_dir / "results.json", indent=2 if final else None)


def _run_step(context: StudyContext, name: str, function: Callable[[StudyContext], str | None]) -> None:
    start = time.perf_counter()
    logger.info("step %s: start", name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # pandas' internal fragmentation warnings say nothing about the study's data or methods
        warnings.filterwarnings("ignore", category=pd.errors.PerformanceWarning)
        try:
            outcome = function(context)
        except Exception as exc:
            elapsed = time.perf_counter() - start
            context.document["status"] = "failed"
            context.document["failed_step"] = name
            context.document["error"] = f"{type(exc).__name__}: {exc}"
            context.document["steps"][name] = {"status": "failed"}
            context.document["provenance"].setdefault("durations_s", {})[name] = round(elapsed, 3)
            context.document["provenance"]["finished"] = now_iso()
            for item in caught:
                context.warn(f"[{name}] {item.category.__name__}: {item.message}")
            _save(context, final=True)
            logger.error("step %s failed: %s: %s", name, type(exc).__name__, exc)
            results_path = context.out_dir / "results.json" if context.out_dir is not None else None
            if isinstance(exc, _INPUT_ERRORS):
                raise
            raise StudyStepError(name, exc, results_path) from exc
    for item in caught:
        if issubclass(item.category, DeprecationWarning | PendingDeprecationWarning | FutureWarning):
            continue
        context.warn(f"[{name}] {item.category.__name__}: {item.message}")
    elapsed = time.perf_counter() - start
    context.document["steps"][name] = {"status": outcome or "done"}
    context.document["provenance"].setdefault("durations_s", {})[name] = round(elapsed, 3)
    logger.info("step %s: %s in %.2f s", name, outcome or "done", elapsed)
    _save(context)


class _Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM during a run."""


def _install_sigterm() -> Any:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        message = f"terminated by signal {signum}"
        raise _Terminated(message)

    try:
        return signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover - platform without SIGTERM handling
        return None


def _restore_sigterm(previous: Any) -> None:
    import signal

    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def _mark_interrupted(context: StudyContext, step: str, exc: BaseException) -> None:
    """Record that the run was stopped from outside (not failed, not running) and keep what finished."""
    document = context.document
    document["status"] = "interrupted"
    document["failed_step"] = step
    document["error"] = f"{type(exc).__name__}: interrupted during step '{step}'" if isinstance(
        exc, KeyboardInterrupt) else f"interrupted during step '{step}' ({exc})"
    document["steps"].setdefault(step, {"status": "interrupted"})
    document["provenance"]["finished"] = now_iso()
    logger.error("run interrupted during step %s", step)
    try:
        _save(context, final=True)
    except OSError:  # pragma: no cover - nothing more can be done while exiting
        pass


def run_study(
    config: StudyConfig | str | Path,
    out_dir: str | Path | None = None,
    *,
    progress: bool = False,
    stop_after: str | None = None,
    scheduler: Any = None,
) -> StudyResult:
    """Run the study described by ``config`` (a :class:`StudyConfig` or a YAML path) and write ``out_dir``.

    ``progress=True`` shows rich progress bars with the time left (the CLI sets it). ``stop_after`` ends the run
    after the named step (the document is then marked ``"status": "partial"``). ``scheduler`` (a Dask scheduler
    address or ``dask.distributed.Client``) runs the models step's fold × model fits on that cluster.

    A run ended from outside (Ctrl-C, ``SIGTERM`` from a job scheduler) is not left ``"running"``: results.json
    is rewritten with ``"status": "interrupted"`` and the step it was in.
    """
    config_path = None
    if not isinstance(config, StudyConfig):
        config_path = Path(config)
        config = load_config(config_path)
    if stop_after is not None and stop_after not in STEPS:
        message = f"stop_after must be one of the study steps {list(STEPS)}; got {stop_after!r}."
        raise ConfigError(message)
    out = Path(out_dir) if out_dir is not None else None
    handler = _setup_log(out)
    context = StudyContext(config=config, out_dir=out, scheduler=scheduler)
    context.document = _initial_document(config, config_path)
    bar = None
    current = [STEPS[0]]
    previous_handler = _install_sigterm()
    try:
        if progress:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), transient=False)
            bar.start()
            context.progress = bar
            overall = bar.add_task("study", total=len(STEPS))
        for name in STEPS:
            current[0] = name
            if bar is not None:
                bar.update(overall, description=f"study: {name}")
            _run_step(context, name, getattr(stages, f"step_{name}"))
            if bar is not None:
                bar.advance(overall)
            if name == stop_after:
                context.document["status"] = "partial"
                break
        else:
            context.document["status"] = "complete"
    except (KeyboardInterrupt, _Terminated) as exc:
        _mark_interrupted(context, current[0], exc)
        raise
    finally:
        _restore_sigterm(previous_handler)
        if bar is not None:
            bar.stop()
        if handler is not None:
            logger.removeHandler(handler)
            handler.close()
    context.document["provenance"]["finished"] = now_iso()
    _save(context, final=True)
    predictions = context.predictions if context.predictions is not None else pd.DataFrame()
    return StudyResult(document=json_safe(context.document), predictions=predictions, out_dir=out, files=context.files)
