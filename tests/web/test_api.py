"""JSON API, pages, store and limits of the web app (TestClient)."""

from __future__ import annotations

import csv
import io

import pytest

from her2mri.web.db import PredictionStore


def test_health_and_version(client, web_bundle) -> None:
    assert client.get("/health").json()["status"] == "ok"
    info = client.get("/version").json()
    assert info["model"]["sha256"] == web_bundle.sha256
    assert info["model"]["hierarchy"] == "positive_first"


def test_openapi_documents_case_fields(client) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/predict" in spec["paths"]
    assert "/api/predict/batch" in spec["paths"]
    case = spec["components"]["schemas"]["CaseRequest"]
    assert case["properties"]["ki67_percent"]["anyOf"][0]["maximum"] == 100
    assert "irregular" in case["properties"]["mass_shape"]["anyOf"][0]["enum"]
    # the interactive docs load scripts from a CDN: not served
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


def test_predict_good_case_returns_probabilities_and_explanation(client, good_case, web_bundle) -> None:
    response = client.post("/api/predict", json=good_case)
    assert response.status_code == 200, response.text
    body = response.json()
    p = body["probabilities"]
    assert p["zero"] + p["low"] + p["positive"] == pytest.approx(1.0)
    expected = web_bundle.predict(
        __import__("pandas").DataFrame([{k: v for k, v in good_case.items() if k != "case_reference"}])
    )
    assert p["positive"] == pytest.approx(expected.loc[0, "p_positive"])
    assert body["call"] in {"zero", "low", "positive"}
    assert body["id"] >= 1
    assert body["model_sha256"] == web_bundle.sha256
    tasks = {t["task"]: t for t in body["tasks"]}
    assert set(tasks) == {"positive_vs_negative", "low_vs_zero"}
    assert tasks["positive_vs_negative"]["explanation_method"] == "linear"
    assert tasks["low_vs_zero"]["explanation_method"] == "tree"
    assert len(tasks["positive_vs_negative"]["contributions"]) == len(web_bundle.schema.names)
    assert body["nomograms"][0]["total_points"] > 0
    assert body["prediction_set"]
    assert "research use only" in body["research_use"].lower()


def test_predict_unknown_category_is_422_naming_field(client, good_case) -> None:
    good_case["tic_type"] = "sideways"
    response = client.post("/api/predict", json=good_case)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "tic_type"]
    assert "persistent" in detail[0]["msg"]


def test_predict_out_of_range_number_is_422(client, good_case) -> None:
    good_case["ki67_percent"] = 130
    response = client.post("/api/predict", json=good_case)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "ki67_percent"]
    assert "less than or equal to 100" in detail[0]["msg"]


def test_predict_missing_field_is_422(client, good_case) -> None:
    del good_case["age"]
    response = client.post("/api/predict", json=good_case)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "age"]
    assert detail[0]["type"] == "missing"


def test_predict_wrong_type_is_422(client, good_case) -> None:
    good_case["tumor_size_mm"] = "large"
    good_case["peritumoral_edema"] = "perhaps"
    response = client.post("/api/predict", json=good_case)
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["detail"]}
    assert ("body", "tumor_size_mm") in locs
    assert ("body", "peritumoral_edema") in locs


def test_predict_unknown_field_is_422(client, good_case) -> None:
    good_case["patient_name"] = "Jane Doe"
    response = client.post("/api/predict", json=good_case)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "patient_name"]


def test_predict_mass_descriptor_on_nme_is_422(client, good_case) -> None:
    good_case["lesion_type"] = "nme"
    good_case["mass_shape"] = "oval"
    response = client.post("/api/predict", json=good_case)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "mass_shape"]
    assert "does not apply" in detail[0]["msg"]


def test_predict_null_means_unknown_and_is_imputed(client, good_case) -> None:
    good_case["ki67_percent"] = None
    body = client.post("/api/predict", json=good_case).json()
    assert "ki67_percent" in body["imputed"]


def test_predict_out_of_training_range_warns(client, good_case, web_bundle) -> None:
    top = web_bundle.training_summary.numeric["tumor_size_mm"].max
    good_case["tumor_size_mm"] = min(top + 30, 250)
    body = client.post("/api/predict", json=good_case).json()
    assert body["out_of_distribution"] is True
    assert "tumor_size_mm" in body["ood_reasons"][0]


def test_batch_predicts_every_case_and_locates_errors(client, good_case) -> None:
    second = dict(good_case, case_reference="case-B", age=70.0)
    response = client.post("/api/predict/batch", json={"cases": [good_case, second]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["n"] == 2
    assert [p["case_reference"] for p in body["predictions"]] == ["case-A", "case-B"]
    bad = dict(good_case, tic_type="sideways")
    response = client.post("/api/predict/batch", json={"cases": [good_case, bad]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "cases", 1, "tic_type"]


def test_batch_over_limit_is_413(make_client, good_case) -> None:
    client = make_client(max_batch=2)
    response = client.post("/api/predict/batch", json={"cases": [good_case] * 3})
    assert response.status_code == 413
    assert "limit of 2" in response.json()["detail"]


def test_body_over_size_limit_is_413(make_client, good_case) -> None:
    client = make_client(max_body_bytes=2048)
    response = client.post("/api/predict/batch", json={"cases": [good_case] * 10})
    assert response.status_code == 413
    chunks = (b"x" * 1024 for _ in range(4))
    response = client.post("/api/predict", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_token_required_when_configured(make_client, good_case) -> None:
    client = make_client(token="s3cret")
    assert client.post("/api/predict", json=good_case).status_code == 401
    wrong = client.post("/api/predict", json=good_case, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = client.post("/api/predict", json=good_case, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    assert client.get("/predictions.csv").status_code == 401
    assert client.get("/predictions.csv", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/health").status_code == 200


def test_form_with_token(make_client, good_case) -> None:
    client = make_client(token="s3cret")
    form = {k: ("" if v is None else ("yes" if v is True else "no" if v is False else str(v)))
            for k, v in good_case.items()}
    assert client.post("/", data=form).status_code == 401
    response = client.post("/", data=form | {"token": "s3cret"})
    assert response.status_code == 200
    assert "her2mri_token" in response.cookies


def test_store_keeps_every_prediction_and_exports_csv(client, good_case, tmp_path) -> None:
    for i in range(3):
        assert client.post("/api/predict", json=dict(good_case, case_reference=f"ref-{i}")).status_code == 200
    store = PredictionStore(f"sqlite:///{tmp_path / 'store.sqlite'}")
    assert store.count() == 3
    record = store.recent(1)[0]
    assert record.case_reference == "ref-2"
    assert record.inputs["tic_type"] == good_case["tic_type"]
    assert record.outputs["call"] == record.call
    store.dispose()
    page = client.get("/predictions")
    assert page.status_code == 200
    assert "ref-1" in page.text
    export = client.get("/predictions.csv")
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert [r["case_reference"] for r in rows] == ["ref-0", "ref-1", "ref-2"]
    assert float(rows[0]["p_zero"]) > 0


def test_form_page_lists_lexicon_controls(client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    text = page.text
    assert 'data-applies-to="mass"' in text
    assert 'data-applies-to="nme"' in text
    assert "Non-mass enhancement distribution" in text
    assert "×10⁻³ mm²/s" in text
    assert "Research use only" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")


def test_form_submit_shows_result_and_errors(client, good_case) -> None:
    form = {k: ("" if v is None else ("yes" if v is True else "no" if v is False else str(v)))
            for k, v in good_case.items()}
    page = client.post("/", data=form)
    assert page.status_code == 200
    assert 'id="probabilities"' in page.text
    assert "<svg" in page.text
    bad = client.post("/", data=form | {"ki67_percent": "250"})
    assert bad.status_code == 422
    assert "less than or equal to 100" in bad.text  # the API's limit, word for word
