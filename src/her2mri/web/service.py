"""Prediction service of the web app: validate cases with the bundle, predict, explain, store, and shape the
public response. Shared by the JSON API and the form page.

Requests that arrive while predictions are running are coalesced (:class:`PredictionCoalescer`): the cases
waiting in line are predicted and explained in one call of the bundle and stored in one transaction, because
most of the cost of a prediction is per call (pipeline and explainer set-up), not per case. A request whose
cases are invalid, or whose rows the store refuses, is then redone on its own, so one request's error never
reaches another and nothing is half-written.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as _dt
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
import pandas as pd

from her2mri.bundle import RESEARCH_USE_STATEMENT, ModelBundle
from her2mri.models.tasks import TASKS
from her2mri.web.db import PredictionRecord, PredictionStore, StoreUnavailable
from her2mri.web.schemas import (
    ContributionPublic,
    NomogramPublic,
    PredictionPublic,
    ProbabilitiesPublic,
    TaskPublic,
)

__all__ = ["PredictionCoalescer", "predict_public", "run_predictions"]

logger = logging.getLogger("her2mri.web")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _set_members(text: str | None) -> list[str] | None:
    if text is None:
        return None
    inner = text.strip().strip("{}")
    return [m.strip() for m in inner.split(",") if m.strip()]


def _tasks(bundle: ModelBundle, result: Any, i: int) -> list[TaskPublic]:
    row = result.table.iloc[i]
    out = []
    for name, tm in bundle.task_models.items():
        exp = result.explanations[name]
        contributions: list[ContributionPublic] = []
        if i < exp.n_explained:
            values = exp.values[i]
            order = np.argsort(-np.abs(values), kind="mergesort")
            contributions = [
                ContributionPublic(
                    feature=exp.feature_names[j],
                    value=_plain(exp.data.iloc[i, j]),
                    contribution=float(values[j]),
                )
                for j in order
            ]
        out.append(
            TaskPublic(
                task=name,
                title=TASKS[name].title if name in TASKS else name,
                model_name=tm.model_name,
                probability=float(row[f"p_{name}"]),
                threshold=float(tm.threshold),
                call=str(row[f"call_{name}"]),
                positive_label=tm.positive_label,
                negative_label=tm.negative_label,
                explanation_method=exp.method if contributions else None,
                explanation_scale=exp.output if contributions else None,
                base_value=float(exp.base_value) if contributions else None,
                contributions=contributions,
            )
        )
    return out


def predict_public(
    bundle: ModelBundle,
    cases: Sequence[Mapping[str, Any]],
    *,
    top_k: int,
    explain_time_budget_s: float,
    sources: Sequence[str],
) -> tuple[list[PredictionPublic], list[PredictionRecord]]:
    """Predict and explain ``cases`` in one bundle call (not stored): the public responses and the records
    to store. Raises :class:`~her2mri.exceptions.CohortError` for invalid cases."""
    frame = pd.DataFrame([dict(c) for c in cases])
    for column in bundle.schema.names:
        if column not in frame.columns:
            frame[column] = None
    result = bundle.predict_cases(
        frame, top_k=top_k, explain_time_budget_s=explain_time_budget_s, source="request"
    )
    created = _dt.datetime.now(_dt.UTC)
    sha = str(bundle.sha256 or "")
    public: list[PredictionPublic] = []
    records: list[PredictionRecord] = []
    for i in range(len(result.table)):
        row = result.table.iloc[i]
        nomograms = [
            NomogramPublic(
                task=task,
                model_name=bundle.nomograms[task].model_name,
                total_points=float(score["total_points"]),
                probability=float(score["probability"]),
                points={k: float(v) for k, v in score["points"].items()},
            )
            for task, score in result.nomogram[i].items()
        ]
        case = cases[i]
        inputs = {c: _plain(result.cases.iloc[i][c]) for c in bundle.schema.names}
        prediction = PredictionPublic(
            created=created,
            case_reference=case.get("case_reference"),
            lesion_id=case.get("lesion_id"),
            model_version=bundle.her2mri_version,
            model_sha256=sha,
            inputs=inputs,
            probabilities=ProbabilitiesPublic(
                zero=_num(row["p_zero"]), low=_num(row["p_low"]), positive=_num(row["p_positive"])
            ),
            call=str(row["call"]),
            prediction_set=_set_members(row["prediction_set"]),
            tasks=_tasks(bundle, result, i),
            nomograms=nomograms,
            out_of_distribution=bool(row["out_of_distribution"]),
            ood_reasons=list(result.ood[i]),
            imputed=[c for c in str(row["imputed"]).split(", ") if c],
            research_use=RESEARCH_USE_STATEMENT,
        )
        outputs = prediction.model_dump(
            mode="json", exclude={"id", "created", "case_reference", "lesion_id", "inputs"}
        )
        records.append(
            PredictionRecord(
                created=created,
                case_reference=case.get("case_reference"),
                lesion_id=case.get("lesion_id"),
                model_version=bundle.her2mri_version,
                model_sha256=sha,
                call=prediction.call,
                p_zero=prediction.probabilities.zero,
                p_low=prediction.probabilities.low,
                p_positive=prediction.probabilities.positive,
                out_of_distribution=prediction.out_of_distribution,
                source=sources[i],
                inputs_json=json.dumps(inputs),
                outputs_json=json.dumps(outputs),
            )
        )
        public.append(prediction)
    return public, records


def _store(store: PredictionStore, public: list[PredictionPublic], records: list[PredictionRecord]) -> None:
    ids = store.add(records)
    for prediction, identifier in zip(public, ids, strict=True):
        prediction.id = identifier
    logger.info("stored predictions %s", ",".join(str(i) for i in ids))


def run_predictions(
    bundle: ModelBundle,
    store: PredictionStore,
    cases: Sequence[Mapping[str, Any]],
    *,
    top_k: int,
    explain_time_budget_s: float,
    source: str,
) -> list[PredictionPublic]:
    """Predict and store each case (one transaction); raises :class:`~her2mri.exceptions.CohortError` for
    invalid cases and :class:`~her2mri.web.db.StoreUnavailable` when nothing could be stored."""
    public, records = predict_public(
        bundle, cases, top_k=top_k, explain_time_budget_s=explain_time_budget_s, sources=[source] * len(cases)
    )
    _store(store, public, records)
    return public


def _fresh(record: PredictionRecord) -> PredictionRecord:
    """A new, unsaved copy of a record whose transaction was rolled back."""
    columns = [c.key for c in PredictionRecord.__table__.columns if c.key != "id"]
    return PredictionRecord(**{c: getattr(record, c) for c in columns})


@dataclass
class _Job:
    cases: list[dict[str, Any]]
    source: str
    future: asyncio.Future[list[PredictionPublic]]
    outcome: list[PredictionPublic] | BaseException | None = None


class PredictionCoalescer:
    """Runs prediction requests in at most ``workers`` threads; requests queued meanwhile are coalesced into
    one bundle call (see the module docstring).

    A call holds at most ``max_cases`` cases, and no more than fit in about ``target_s`` seconds at the
    seconds per case measured so far: with a fast explainer many waiting requests share one call; with a slow
    (model-agnostic) one, whose cost is per case, requests are served one after another, so early requests
    are not held back until a large call ends.
    """

    def __init__(
        self, bundle: ModelBundle, store: PredictionStore, *, top_k: int, explain_time_budget_s: float,
        workers: int, max_cases: int, target_s: float = 1.0,
    ) -> None:
        self.bundle = bundle
        self.store = store
        self.top_k = top_k
        self.budget = explain_time_budget_s
        self.workers = workers
        self.max_cases = max_cases
        self.target_s = target_s
        self._pending: collections.deque[_Job] = collections.deque()
        self._active = 0
        self._seconds_per_case: float | None = None

    @property
    def case_limit(self) -> int:
        """Most cases the next call takes."""
        if self._seconds_per_case is None or self._seconds_per_case <= 0:
            return self.max_cases
        return max(1, min(self.max_cases, int(self.target_s / self._seconds_per_case)))

    def observe(self, seconds: float, n_cases: int) -> None:
        """Record that a call of ``n_cases`` cases took ``seconds`` (moving average per case)."""
        per_case = seconds / max(n_cases, 1)
        previous = self._seconds_per_case
        self._seconds_per_case = per_case if previous is None else 0.7 * previous + 0.3 * per_case

    async def submit(self, cases: Sequence[Mapping[str, Any]], source: str) -> list[PredictionPublic]:
        """Predict, explain and store ``cases``; raises what :func:`run_predictions` raises."""
        job = _Job([dict(c) for c in cases], source, asyncio.get_running_loop().create_future())
        self._pending.append(job)
        if self._active < self.workers:
            self._active += 1
            asyncio.get_running_loop().create_task(self._drain())
        return await job.future

    def _take(self) -> list[_Job]:
        jobs = [self._pending.popleft()]
        n = len(jobs[0].cases)
        limit = self.case_limit
        while self._pending and n + len(self._pending[0].cases) <= limit:
            job = self._pending.popleft()
            jobs.append(job)
            n += len(job.cases)
        return jobs

    async def _drain(self) -> None:
        try:
            while self._pending:
                jobs = self._take()
                try:
                    await anyio.to_thread.run_sync(self._run, jobs)
                except BaseException as exc:  # noqa: BLE001 - handed to the waiting requests
                    for job in jobs:
                        if job.outcome is None:
                            job.outcome = exc
                for job in jobs:
                    if job.future.done():
                        continue
                    if isinstance(job.outcome, BaseException):
                        job.future.set_exception(job.outcome)
                    else:
                        job.future.set_result(job.outcome or [])
        finally:
            self._active -= 1

    def _predict(self, jobs: list[_Job]) -> tuple[list[PredictionPublic], list[PredictionRecord]]:
        cases = [c for job in jobs for c in job.cases]
        sources = [job.source for job in jobs for _ in job.cases]
        return predict_public(self.bundle, cases, top_k=self.top_k,
                              explain_time_budget_s=self.budget * len(jobs), sources=sources)

    def _run(self, jobs: list[_Job]) -> None:
        start = time.perf_counter()
        try:
            public, records = self._predict(jobs)
            self.observe(time.perf_counter() - start, len(public))
        except Exception as exc:  # noqa: BLE001 - invalid cases (CohortError) or an unexpected failure
            if len(jobs) == 1:
                jobs[0].outcome = exc
                return
            for job in jobs:  # find whose cases failed: each request on its own
                self._run([job])
            return
        try:
            _store(self.store, public, records)
        except StoreUnavailable as exc:
            if len(jobs) == 1:
                jobs[0].outcome = exc
                return
            results = iter(public)
            pairs = iter(records)
            for job in jobs:  # one transaction per request, so only the refused request fails
                mine = [next(results) for _ in job.cases]
                rows = [_fresh(next(pairs)) for _ in job.cases]
                try:
                    _store(self.store, mine, rows)
                    job.outcome = mine
                except StoreUnavailable as single:
                    job.outcome = single
            return
        start = 0
        for job in jobs:
            job.outcome = public[start:start + len(job.cases)]
            start += len(job.cases)
