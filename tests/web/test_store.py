"""The prediction store on SQLite and on a real PostgreSQL: round trip, all-or-nothing writes, 503 on failure,
field limits, concurrent writers."""

from __future__ import annotations

import datetime as _dt
import json
import threading

import pytest
import sqlalchemy

from her2mri.web.db import PredictionRecord, PredictionStore, StoreUnavailable


def _record(reference: str | None = "ref", **overrides) -> PredictionRecord:
    values = dict(
        created=_dt.datetime.now(_dt.UTC), case_reference=reference, lesion_id="L1", model_version="0.1.0",
        model_sha256="0" * 64, call="low", p_zero=0.2, p_low=0.5, p_positive=0.3, out_of_distribution=False,
        source="api", inputs_json=json.dumps({"age": 50.0}), outputs_json=json.dumps({"call": "low"}),
    )
    return PredictionRecord(**(values | overrides))


def _refuse_boom(url: str) -> None:
    """A database-side refusal of rows with case reference 'boom' (as a full disk or a lost server would)."""
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:
        if url.startswith("sqlite"):
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON predictions WHEN NEW.case_reference = 'boom' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN IF NEW.case_reference = 'boom' THEN "
                "RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse BEFORE INSERT ON predictions FOR EACH ROW EXECUTE FUNCTION refuse()"
            )
    engine.dispose()


def test_store_round_trip(store_url) -> None:
    store = PredictionStore(store_url)
    try:
        ids = store.add([_record("a"), _record("b")])
        assert len(ids) == 2
        assert store.count() == 2
        assert [r.case_reference for r in store.recent()] == ["b", "a"]
        assert store.get(ids[0]).inputs == {"age": 50.0}
        assert [r.case_reference for r in store.iter_all()] == ["a", "b"]
    finally:
        store.dispose()


def test_store_write_is_all_or_nothing(store_url) -> None:
    store = PredictionStore(store_url)
    try:
        with pytest.raises(StoreUnavailable, match="nothing was stored") as info:
            store.add([_record("fine"), _record("x" * 201)])
        assert "x" * 20 not in str(info.value)  # values never in the message
        assert store.count() == 0
        store.add([_record("y" * 200)])
        assert store.count() == 1
    finally:
        store.dispose()


def test_store_concurrent_writers_all_stored(store_url) -> None:
    store = PredictionStore(store_url, pool_size=4)
    try:
        threads = [threading.Thread(target=store.add, args=([_record(f"t{i}")],)) for i in range(24)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {r.case_reference for r in store.recent(limit=100)} == {f"t{i}" for i in range(24)}
    finally:
        store.dispose()


def test_app_store_failure_is_503_and_nothing_half_written(make_client, good_case, store_url) -> None:
    client = make_client(database_url=store_url)
    _refuse_boom(store_url)
    batch = {"cases": [dict(good_case, case_reference="ok-1"), dict(good_case, case_reference="boom")]}
    response = client.post("/api/predict/batch", json=batch)
    assert response.status_code == 503
    assert "nothing was stored" in response.json()["detail"]
    assert client.post("/api/predict", json=dict(good_case, case_reference="boom")).status_code == 503
    form = {k: ("" if v is None else ("yes" if v is True else "no" if v is False else str(v)))
            for k, v in dict(good_case, case_reference="boom").items()}
    page = client.post("/", data=form)
    assert page.status_code == 503
    assert "nothing was stored" in page.text
    store = PredictionStore(store_url)
    try:
        assert store.count() == 0
    finally:
        store.dispose()
    assert client.post("/api/predict/batch", json={"cases": [good_case, good_case]}).status_code == 200


def test_app_overlong_form_reference_is_422_not_lost(make_client, good_case, store_url) -> None:
    client = make_client(database_url=store_url)
    form = {k: ("" if v is None else ("yes" if v is True else "no" if v is False else str(v)))
            for k, v in dict(good_case, case_reference="r" * 250).items()}
    assert client.post("/", data=form).status_code == 422
    assert client.post("/", data=form | {"case_reference": "r" * 200}).status_code == 200
    rows = client.get("/predictions.csv").text.splitlines()
    assert len(rows) == 2
    assert "r" * 200 in rows[1]


def _coalesce(web_bundle, store, jobs, monkeypatch):
    """Submit ``jobs`` [(cases, source)] at once to a one-worker coalescer; returns outcomes and bundle calls."""
    import asyncio

    from her2mri.web.service import PredictionCoalescer

    calls = []
    original = type(web_bundle).predict_cases

    def counting(self, frame, **kwargs):
        calls.append(len(frame))
        return original(self, frame, **kwargs)

    monkeypatch.setattr(type(web_bundle), "predict_cases", counting)
    coalescer = PredictionCoalescer(web_bundle, store, top_k=3, explain_time_budget_s=5.0, workers=1, max_cases=64)

    async def run():
        return await asyncio.gather(*(coalescer.submit(c, s) for c, s in jobs), return_exceptions=True)

    return asyncio.run(run()), calls


def test_coalesced_requests_keep_their_own_errors(web_bundle, good_case, tmp_path, monkeypatch) -> None:
    from her2mri.exceptions import CohortError

    store = PredictionStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    bad = dict(good_case, case_reference="bad", lesion_type="nme", mass_shape="oval")
    jobs = [([dict(good_case, case_reference=f"ok-{i}")], "api") for i in range(5)]
    jobs.insert(2, ([dict(good_case, case_reference="ok-b"), bad], "api-batch"))
    try:
        outcomes, calls = _coalesce(web_bundle, store, jobs, monkeypatch)
        assert calls[0] == 7  # the first call held every waiting case
        assert isinstance(outcomes[2], CohortError)
        assert outcomes[2].issues[0].row == 2
        assert outcomes[2].issues[0].column == "mass_shape"
        assert [o[0].case_reference for i, o in enumerate(outcomes) if i != 2] == [f"ok-{i}" for i in range(5)]
        assert {r.case_reference for r in store.recent()} == {f"ok-{i}" for i in range(5)}
        assert all(o[0].id is not None for i, o in enumerate(outcomes) if i != 2)
    finally:
        store.dispose()


def test_coalesced_store_refusal_fails_only_its_request(web_bundle, good_case, store_url, monkeypatch) -> None:
    store = PredictionStore(store_url)
    _refuse_boom(store_url)
    jobs = [([dict(good_case, case_reference=r)], "api") for r in ("a", "b", "boom", "c")]
    try:
        outcomes, calls = _coalesce(web_bundle, store, jobs, monkeypatch)
        assert calls == [4]
        assert isinstance(outcomes[2], StoreUnavailable)
        assert [o[0].case_reference for i, o in enumerate(outcomes) if i != 2] == ["a", "b", "c"]
        assert sorted(r.case_reference for r in store.recent()) == ["a", "b", "c"]
    finally:
        store.dispose()


def test_coalescer_takes_fewer_cases_per_call_when_cases_are_slow(web_bundle, tmp_path) -> None:
    from her2mri.web.service import PredictionCoalescer

    store = PredictionStore(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        coalescer = PredictionCoalescer(web_bundle, store, top_k=3, explain_time_budget_s=5.0, workers=2,
                                        max_cases=16, target_s=1.0)
        assert coalescer.case_limit == 16  # nothing measured yet
        coalescer.observe(2.5, 1)  # a model-agnostic explainer: seconds per case
        assert coalescer.case_limit == 1
        for _ in range(20):
            coalescer.observe(0.4, 20)  # an exact explainer: milliseconds per case
        assert coalescer.case_limit == 16
    finally:
        store.dispose()
