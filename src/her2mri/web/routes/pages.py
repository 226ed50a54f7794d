"""HTML pages: the clinician form (GET /, POST /), the stored predictions (GET /predictions) and their CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from pydantic import ValidationError

from her2mri.bundle import RESEARCH_USE_STATEMENT, ModelBundle
from her2mri.bundle.schema import InputColumn
from her2mri.cohort.vocabulary import COLUMNS
from her2mri.exceptions import CohortError
from her2mri.web.db import StoreUnavailable
from her2mri.web.deps import (
    TOKEN_COOKIE,
    BundleDep,
    SettingsDep,
    StoreDep,
    in_worker,
    require_token,
    token_is_valid,
)
from her2mri.web.render import contribution_summary, display_value, waterfall_svg
from her2mri.web.schemas import field_name

__all__ = ["router"]

router = APIRouter(tags=["pages"], include_in_schema=False)

_VOCABULARY_ORDER = tuple(COLUMNS)
_GROUPS = (
    ("birads", "MRI — BI-RADS descriptors"),
    ("quantitative", "MRI — quantitative values"),
    ("pathology", "Clinical and pathology"),
)


def _label(spec: InputColumn) -> str:
    text = (spec.description or spec.name.replace("_", " ")).strip()
    text = text.split(";")[0].rstrip(".")
    if spec.unit:
        text = text.replace(f" in {spec.unit}", "")
    return text[:1].upper() + text[1:]


def _order(name: str) -> int:
    if name == "lesion_type":
        return -1
    try:
        return _VOCABULARY_ORDER.index(name)
    except ValueError:
        return len(_VOCABULARY_ORDER)


_LEVEL_LABELS = {
    "lesion_type": {"focus": "focus", "mass": "mass", "nme": "non-mass enhancement (NME)",
                    "mass_with_nme": "mass with non-mass enhancement"},
    "t2_signal": {"hyper": "hyperintense", "slightly_high": "slightly high", "iso": "isointense",
                  "hypo": "hypointense", "mixed": "mixed"},
}


def _field(spec: InputColumn, value: Any, derived_from: tuple[str, ...] = ()) -> dict[str, Any]:
    options: list[tuple[str, str]] = []
    if spec.kind == "categorical":
        special = _LEVEL_LABELS.get(spec.name, {})
        options = [(v, special.get(v, spec.level_label(v))) for v in spec.values]
    elif spec.kind == "binary":
        options = [("yes", "yes"), ("no", "no")]
    hint = ""
    if spec.kind == "numeric":
        if spec.plausible is not None:
            hint = f"plausible {spec.plausible[0]:g}–{spec.plausible[1]:g}" + (f" {spec.unit}" if spec.unit else "")
    if derived_from:
        sources = " / ".join(c.replace("_", " ") for c in derived_from)
        hint = (hint + "; " if hint else "") + f"if unknown, derived from {sources}"
    return {
        "name": spec.name,
        "label": _label(spec),
        "kind": spec.kind,
        "options": options,
        "unit": spec.unit or "",
        "hint": hint,
        "min": spec.plausible[0] if spec.plausible is not None else None,
        "max": spec.plausible[1] if spec.plausible is not None else None,
        "applies_to": spec.applies_to or "",
        "value": "" if value is None else str(value),
    }


def _form_groups(bundle: ModelBundle, values: dict[str, Any]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in _GROUPS}
    lesion_type = InputColumn(
        "lesion_type", "categorical", values=("focus", "mass", "nme", "mass_with_nme"),
        description="Lesion enhancement type", group="birads",
    )
    names = bundle.schema.names
    if "lesion_type" not in names and any(c.applies_to for c in bundle.schema.columns):
        groups["birads"].append(_field(lesion_type, values.get("lesion_type")) | {"not_input": True})
    for spec in sorted(bundle.schema.columns, key=lambda c: _order(c.name)):
        key = spec.group if spec.group in groups else ("pathology" if spec.group == "derived" else "quantitative")
        sources = tuple(c for c in bundle.schema.derivable(spec.name) if c in names)
        groups[key].append(_field(spec, values.get(spec.name), sources))
    return [{"title": title, "fields": groups[key]} for key, title in _GROUPS if groups[key]]


def _context(request: Request, bundle: ModelBundle, settings: Any, **extra: Any) -> dict[str, Any]:
    values = extra.pop("values", {})
    return {
        "request": request,
        "title": settings.title,
        "groups": _form_groups(bundle, values),
        "values": values,
        "needs_token": settings.token is not None,
        "research_use": RESEARCH_USE_STATEMENT,
        "bundle": bundle,
        "prediction": None,
        "errors": {},
        "general_errors": [],
        **extra,
    }


def _shown(schema: Any, feature: str, prediction: Any) -> str:
    text = display_value(schema, feature, prediction.inputs.get(feature))
    return text + " (imputed)" if feature in prediction.imputed else text


def _decision_text(bundle: ModelBundle, prediction: Any) -> str:
    """How the call was reached: at the thresholds, stage by stage (it need not be the largest probability), or —
    for a bundle whose three-class call rule is ``argmax`` — as the largest composed probability."""
    if bundle.has_three_class and bundle.call_rule == "argmax":
        return f"largest composed probability → {prediction.call}"
    tasks = {t.task: t for t in prediction.tasks}
    steps = []
    for name in bundle.stages:
        t = tasks[name]
        met = t.probability >= t.threshold
        steps.append(
            f"P({t.positive_label}) {100 * t.probability:.1f}% {'≥' if met else '<'} threshold "
            f"{100 * t.threshold:.1f}% → {t.positive_label if met else 'not ' + t.positive_label}"
        )
        if met:
            break
    return "; then ".join(steps)


@router.get("/", response_class=HTMLResponse)
async def form_page(request: Request, bundle: BundleDep, settings: SettingsDep) -> HTMLResponse:
    templates = request.app.state.templates
    return templates.TemplateResponse(request, "index.html.j2", _context(request, bundle, settings))


def _form_case(
    request: Request, bundle: ModelBundle, values: dict[str, str]
) -> tuple[dict[str, Any] | None, dict[str, str], list[str]]:
    """Validate the form's fields with the API's request model (same limits, same refusals): returns the
    case as the API would pass it on, or field errors and general errors."""
    case_model = request.app.state.case_model
    names = set(bundle.schema.names)
    ui_only = {"lesion_type"} - names
    accepted = names | {"case_reference", "lesion_id"} | ui_only
    unknown = sorted(k for k in values if k not in accepted)
    if unknown:
        shown = ", ".join(repr(k[:40]) for k in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        return None, {}, [f"Unknown form field(s) {shown}; this form accepts only its own fields."]
    data: dict[str, Any] = {k: (v if v != "" else None) for k, v in values.items() if k not in ui_only}
    for name in names:
        data.setdefault(name, None)
    try:
        model = case_model.model_validate(data)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        general: list[str] = []
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            name = next((c for c in names if field in (c, field_name(c))), field)
            if name in names:
                errors.setdefault(name, str(error["msg"]))
            else:
                general.append(f"{name.replace('_', ' ').capitalize()}: {error['msg']}.")
        return None, errors, general
    return model.model_dump(by_alias=True), {}, []


@router.post("/", response_class=HTMLResponse)
async def form_submit(request: Request, bundle: BundleDep, settings: SettingsDep, store: StoreDep) -> HTMLResponse:
    templates = request.app.state.templates
    form = await request.form()
    items = list(form.multi_items())
    values = {k: str(v).strip() for k, v in items if isinstance(v, str)}
    token = values.pop("token", "") or request.cookies.get(TOKEN_COOKIE)
    if not token_is_valid(settings, token):
        context = _context(request, bundle, settings, values=values,
                           general_errors=["Missing or wrong access token."])
        return templates.TemplateResponse(request, "index.html.j2", context, status_code=401)
    repeated = sorted({k for k, _ in items if sum(1 for j, _ in items if j == k) > 1})
    files = sorted({k for k, v in items if not isinstance(v, str)})
    if repeated or files:
        names = ", ".join(repr(k[:40]) for k in (repeated + files)[:5])
        message = f"Each form field may be sent once, as text; received {names} otherwise."
        context = _context(request, bundle, settings, values=values, general_errors=[message])
        return templates.TemplateResponse(request, "index.html.j2", context, status_code=422)
    case, errors, general = _form_case(request, bundle, values)
    if case is None:
        context = _context(request, bundle, settings, values=values, errors=errors, general_errors=general)
        return templates.TemplateResponse(request, "index.html.j2", context, status_code=422)
    try:
        predictions = await request.app.state.coalescer.submit([case], "form")
    except StoreUnavailable as exc:
        context = _context(request, bundle, settings, values=values, general_errors=[str(exc) + " Try again."])
        return templates.TemplateResponse(request, "index.html.j2", context, status_code=503)
    except CohortError as exc:
        errors = {}
        general = []
        for issue in exc.issues:
            text = issue.message + (f" (accepted: {issue.accepted})" if issue.accepted else "")
            if issue.column:
                errors[issue.column] = text
            else:
                general.append(text)
        context = _context(request, bundle, settings, values=values, errors=errors, general_errors=general)
        return templates.TemplateResponse(
            request, "index.html.j2", context, status_code=422
        )
    prediction = predictions[0]
    schema = bundle.schema
    waterfalls = {t.task: waterfall_svg(t, schema) for t in prediction.tasks}
    summaries = {t.task: contribution_summary(t.contributions) for t in prediction.tasks}
    nomogram_rows = []
    for nomo in prediction.nomograms:
        rows = sorted(nomo.points.items(), key=lambda kv: -kv[1])
        nomogram_rows.append(
            {
                "task": nomo.task,
                "model_name": nomo.model_name,
                "chosen_model": bundle.task_models[nomo.task].model_name if nomo.task in bundle.task_models else "",
                "total": nomo.total_points,
                "probability": nomo.probability,
                "rows": [(f, _shown(schema, f, prediction), p) for f, p in rows],
            }
        )
    context = _context(
        request, bundle, settings, values=values, prediction=prediction, waterfalls=waterfalls,
        summaries=summaries, nomograms=nomogram_rows, decision=_decision_text(bundle, prediction),
    )
    response = templates.TemplateResponse(request, "index.html.j2", context)
    if settings.token is not None and token:
        response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https")
    return response


@router.get("/predictions", response_class=HTMLResponse, dependencies=[Depends(require_token)])
async def predictions_page(request: Request, store: StoreDep, limit: int = 200, offset: int = 0) -> HTMLResponse:
    templates = request.app.state.templates

    def load() -> tuple[list[Any], int]:
        return store.recent(limit=min(max(limit, 1), 1000), offset=max(offset, 0)), store.count()

    try:
        records, total = await in_worker(request, load)
    except StoreUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    context = {
        "request": request,
        "title": request.app.state.settings.title,
        "records": records,
        "total": total,
        "research_use": RESEARCH_USE_STATEMENT,
    }
    return templates.TemplateResponse(request, "predictions.html.j2", context)


_CSV_COLUMNS = (
    "id", "created", "case_reference", "lesion_id", "model_version", "model_sha256", "source", "call",
    "p_zero", "p_low", "p_positive", "out_of_distribution", "inputs_json", "outputs_json",
)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula (``=…``, ``+…``, ``-…``, ``@…``, …) gets a leading
    apostrophe (OWASP's CSV-injection advice); numbers and other text are unchanged."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@router.get("/predictions.csv", dependencies=[Depends(require_token)])
def predictions_csv(store: StoreDep) -> Response:
    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(_CSV_COLUMNS)
        for record in store.iter_all():
            values = [csv_safe(getattr(record, c)) for c in _CSV_COLUMNS]
            values[1] = record.created.isoformat()
            writer.writerow(values)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)
        yield buffer.getvalue()

    return StreamingResponse(
        rows(), media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="her2mri_predictions.csv"'},
    )

