"""Every endpoint through Flask's test client, and a table of bad requests: each a 4xx with the
error body, never a 500, a stack trace or a path."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from tests.support.runs import copy_served
from volpred.model import candidate, store
from volpred.model.forecaster import load_forecaster, predict
from volpred.serving.api import create_app
from volpred.serving.api.access import endpoint_label
from volpred.serving.api.openapi import endpoint_protection
from volpred.serving.api.schemas import INPUT_RANGES, MAX_ROWS

FORECAST_KEYS = {
    "ret", "ret_lo", "ret_hi", "vol", "vol_lo", "vol_hi",
    "horizon_days", "as_of", "model_version", "synthetic_data",
    "inputs_as_of", "stale_inputs", "vol_model", "ret_model", "fallback", "return_fallback",
}  # fmt: skip


def assert_same_forecast(got: dict, want: dict) -> None:
    """Equal records: the numbers to rounding (JSON round trip), every other field exactly."""
    numbers = {k for k, v in want.items() if isinstance(v, float)}
    assert {k: got[k] for k in numbers} == pytest.approx({k: want[k] for k in numbers})
    assert {k: v for k, v in got.items() if k not in numbers} == {
        k: v for k, v in want.items() if k not in numbers
    }


@pytest.fixture(scope="module")
def forecaster(served):
    return load_forecaster(served)


def test_health_and_ready(client, served):
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready").get_json()
    card = candidate.served_card(served)
    assert ready["ready"] is True and ready["model_version"] == card.version
    assert ready["data_as_of"] == "2025-12-31" and ready["synthetic_data"] is True
    assert ready["reload_error"] is None


def test_model_card(client, served):
    """The card's JSON as saved, with its schema version."""
    version = candidate.served_card(served).version
    saved = json.loads((served.artifacts_dir / "models" / version / "model_card.json").read_text())
    answer = client.get("/model")
    assert answer.get_json() == saved and saved["schema_version"] == "1.1"


def test_a_card_saved_before_schema_versions_is_served_as_saved_plus_its_version(served, tmp_path):
    settings = copy_served(served, tmp_path)
    path = store.version_dir(settings.artifacts_dir) / store.CARD_FILE
    old = json.loads(path.read_text())
    del old["schema_version"]
    path.write_text(json.dumps(old, indent=2, sort_keys=True) + "\n")
    body = create_app(settings).test_client().get("/model").get_data()
    # byte for byte what the API sent before cards had a version (keys in the file's order,
    # sorted), plus the version
    sorted_as_saved = json.loads(json.dumps(old | {"schema_version": "1.0"}, sort_keys=True))
    assert body == orjson.dumps(sorted_as_saved)


def test_predict_latest_by_get_and_post_equal_predict(client, forecaster):
    (expected,) = predict(forecaster, dates=["latest"])
    for response in (
        client.get("/predict?date=latest"),
        client.get("/predict"),
        client.post("/predict", json={"date": "latest"}),
    ):
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["model_version"] == forecaster.version
        (got,) = body["predictions"]
        assert set(got) == FORECAST_KEYS
        assert_same_forecast(got, expected)


def test_predict_a_date_between_trading_days_uses_the_day_before(client):
    friday = client.post("/predict", json={"date": "2020-03-13"}).get_json()
    saturday = client.post("/predict", json={"date": "2020-03-14"}).get_json()
    assert saturday["predictions"] == friday["predictions"]
    assert saturday["predictions"][0]["as_of"] == "2020-03-13"


def test_what_if_features_alone_and_on_a_date(client, forecaster):
    calm = client.post("/predict", json={"features": {"vix": 12, "rv21": 0.08}}).get_json()
    stressed = client.post("/predict", json={"features": {"vix": 45, "rv21": 0.08}}).get_json()
    assert calm["predictions"][0]["as_of"] is None
    assert stressed["predictions"][0]["vol"] > calm["predictions"][0]["vol"]
    on_day = client.post(
        "/predict", json={"date": "2019-06-03", "features": {"vix": 45.0}}
    ).get_json()
    (expected,) = predict(forecaster, dates=["2019-06-03"], features={"vix": 45.0})
    assert_same_forecast(on_day["predictions"][0], expected)


def test_batch_of_rows_in_order_and_mixed_kinds(client, forecaster):
    days = ["2010-05-06", "2015-08-24", "latest"]
    body = client.post("/predict", json={"rows": [{"date": d} for d in days]}).get_json()
    expected = predict(forecaster, dates=days)
    assert len(body["predictions"]) == len(expected)
    for got, want in zip(body["predictions"], expected, strict=True):
        assert_same_forecast(got, want)
    mixed = client.post(
        "/predict", json={"rows": [{"date": "latest"}, {"features": {"vix": 30}}]}
    ).get_json()
    assert [p["as_of"] for p in mixed["predictions"]] == ["2025-12-31", None]


def test_a_full_batch_of_max_rows(client):
    rows = [{"date": "latest"}] * MAX_ROWS
    response = client.post("/predict", json={"rows": rows})
    assert response.status_code == 200 and len(response.get_json()["predictions"]) == MAX_ROWS


def test_history_and_oos_tables(client, served):
    body = client.get("/history?start=2025-12-01&end=2025-12-31").get_json()
    assert body["data"]["date"][0] == "2025-12-01" and body["data"]["date"][-1] == "2025-12-31"
    assert {"spx_close", "vix", "rv21", "parkinson21", "vrp", "term_spread"} <= set(body["columns"])
    oos = client.get("/oos?start=2024-01-01").get_json()
    assert oos["data"]["date"][0] >= "2024-01-01" and "vol_selected" in oos["columns"]
    assert len(set(map(len, oos["data"].values()))) == 1


def test_data_quality(client, served):
    body = client.get("/data-quality").get_json()
    report = json.loads(served.cleaning_report_path.read_text())
    assert body["cleaning_report"]["rows_out"] == report["rows_out"]
    assert body["raw_meta"]["source"] == "sample"


@pytest.mark.parametrize("kind", ["history", "forecast", "residuals"])
def test_plot_json_and_html(client, kind):
    spec = client.get(f"/plot?kind={kind}&format=json&start=2020-01-01").get_json()
    assert spec["data"] and "layout" in spec
    html = client.get(f"/plot?kind={kind}&format=html")
    assert html.status_code == 200 and html.mimetype == "text/html"
    assert b"Plotly.newPlot" in html.data


def test_openapi_describes_every_route_and_docs_render(client, app):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    routes = {r.rule for r in app.url_map.iter_rules() if r.endpoint != "static"}
    assert routes == set(spec["paths"])
    features = spec["components"]["schemas"]["Features"]["properties"]
    assert set(features) == set(INPUT_RANGES)
    docs = client.get("/docs")
    assert docs.status_code == 200 and b"/predict" in docs.data and b"Features" in docs.data


def test_head_answers_as_get_without_a_body(client):
    get, head = client.get("/predict"), client.head("/predict")
    assert head.status_code == get.status_code == 200 and head.data == b""
    assert head.headers["Content-Length"] == get.headers["Content-Length"]


def test_metrics_count_requests_and_errors_by_endpoint(client):
    client.get("/predict?date=latest")
    client.post("/predict", json={"date": "1800-01-01"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'volpred_api_requests_total{endpoint="predict",method="GET",status="200"}' in text
    assert 'endpoint="predict",method="POST",status="422"' in text
    assert "volpred_api_request_seconds_bucket" in text


def test_each_request_logs_one_structured_line(client, caplog):
    with caplog.at_level("INFO", logger="volpred.serving.api.access"):
        client.get("/predict?date=latest", headers={"X-Request-ID": "abc123"})
    (line,) = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("access")]
    assert line["id"] == "abc123" and line["status"] == 200 and line["endpoint"] == "predict"
    assert line["ms"] > 0


LONG = "x" * 2_000_000
BAD_REQUESTS = [
    # (method, path, body or None, expected status, field named)
    ("post", "/predict", b"{bad json", 400, None),
    ("post", "/predict", b"", 400, None),
    ("post", "/predict", b"[1, 2]", 422, None),
    ("post", "/predict", b'"latest"', 422, None),
    ("post", "/predict", {}, 422, None),
    ("post", "/predict", {"unknown": 1}, 422, "unknown"),
    ("post", "/predict", {"date": "latest", "extra": 1}, 422, "extra"),
    ("post", "/predict", {"date": 20200316}, 422, "date"),
    ("post", "/predict", {"date": None}, 422, "date"),
    ("post", "/predict", {"date": "2020-02-30"}, 422, "date"),
    ("post", "/predict", {"date": "16/03/2020"}, 422, "date"),
    ("post", "/predict", {"date": "1900-01-02"}, 422, "date"),
    ("post", "/predict", {"date": "2100-01-01"}, 422, "date"),
    ("post", "/predict", {"features": {"vixx": 20}}, 422, "features.vixx"),
    ("post", "/predict", {"features": {"vix": "20"}}, 422, "features.vix"),
    ("post", "/predict", {"features": {"vix": True}}, 422, "features.vix"),
    ("post", "/predict", {"features": {"vix": 1000}}, 422, "features.vix"),
    ("post", "/predict", {"features": {"vix": -5}}, 422, "features.vix"),
    ("post", "/predict", {"features": {"rv21": 7.5}}, 422, "features.rv21"),
    ("post", "/predict", {"features": {"drawdown": 0.5}}, 422, "features.drawdown"),
    ("post", "/predict", b'{"features": {"vix": NaN}}', 422, "features.vix"),
    ("post", "/predict", b'{"features": {"vix": Infinity}}', 422, "features.vix"),
    ("post", "/predict", b'{"features": {"vix": 1e999}}', 422, "features.vix"),
    ("post", "/predict", {"features": [20]}, 422, "features"),
    ("post", "/predict", {"features": None}, 422, "features"),
    ("post", "/predict", {"rows": []}, 422, "rows"),
    ("post", "/predict", {"rows": [{"date": "latest"}] * (MAX_ROWS + 1)}, 422, "rows"),
    ("post", "/predict", {"rows": [{}]}, 422, "rows.0"),
    (
        "post",
        "/predict",
        {"rows": [{"date": "latest"}, {"date": "1800-01-01"}]},
        422,
        "rows.1.date",
    ),
    ("post", "/predict", {"rows": [{"date": "1800-01-01"}]}, 422, "rows.0.date"),
    ("post", "/predict", {"date": "1800-01-01", "features": {"vix": 20}}, 422, "date"),
    (
        "post",
        "/predict",
        {"rows": [{"features": {"vix": 20}}, {"date": "1800-01-01", "features": {"vix": 20}}]},
        422,
        "rows.1.date",
    ),
    ("post", "/predict", {"rows": [{"date": "latest"}, {"date": 5}]}, 422, "rows.1.date"),
    ("post", "/predict", {"rows": [{"features": {"vix": "x"}}]}, 422, "rows.0.features.vix"),
    ("post", "/predict", {"rows": "latest"}, 422, "rows"),
    ("post", "/predict", {"date": "latest", "rows": [{"date": "latest"}]}, 422, None),
    ("post", "/predict", {"features": {"vix": LONG}}, 413, None),
    ("get", "/predict?date=tomorrow", None, 422, "date"),
    ("get", "/predict?date=latest&date=latest", None, 422, "date"),
    ("get", "/predict?when=latest", None, 422, "when"),
    ("get", "/plot?kind=pie", None, 422, "kind"),
    ("get", "/plot?format=pdf", None, 422, "format"),
    ("get", "/plot?start=0", None, 422, "start"),
    ("get", "/plot?start=2020-01-01&end=2019-01-01", None, 422, None),
    ("get", "/plot?start=2090-01-01", None, 422, "start"),
    ("get", "/history?end=1980-01-01", None, 422, "end"),
    ("get", "/history?start=yesterday", None, 422, "start"),
    ("get", "/oos?limit=5", None, 422, "limit"),
    ("get", "/nowhere", None, 404, None),
    ("get", "/predict/../etc/passwd", None, 404, None),
    ("delete", "/predict", None, 405, None),
    ("put", "/model", None, 405, None),
    ("post", "/health", None, 405, None),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), BAD_REQUESTS)
def test_bad_requests_get_a_clear_4xx(client, served, method, path, body, status, field):
    kwargs = {}
    if isinstance(body, bytes):
        kwargs = {"data": body, "content_type": "application/json"}
    elif body is not None:
        kwargs = {"json": body}
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    error = response.get_json()
    assert set(error) == {"error", "detail", "field"}
    assert error["error"] and error["detail"]
    assert error["field"] == field
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and str(served.data_dir.parent) not in text


def test_every_endpoint_is_either_protected_or_deliberately_public(app):
    protection = endpoint_protection(app)  # raises for a route declared without `operation`
    endpoints = {r.endpoint for r in app.url_map.iter_rules()} - {"static"}
    assert set(protection) == endpoints
    protected = {endpoint_label(e) for e, needs_key in protection.items() if needs_key}
    public = {endpoint_label(e) for e, needs_key in protection.items() if not needs_key}
    assert protected == {"predict", "plot", "history", "oos", "model", "data_quality"} | {
        "report",
        "report_pdf",
        "alerts",
    }
    assert public == {"health", "ready", "openapi", "docs", "metrics"}


def test_a_route_without_a_declaration_is_refused():
    from flask import Blueprint, Flask

    undeclared = Blueprint("extra", __name__)
    undeclared.add_url_rule("/extra", "extra", lambda: "")
    bare = Flask("bare")
    bare.register_blueprint(undeclared)
    with pytest.raises(RuntimeError, match="extra"):
        endpoint_protection(bare)


@pytest.mark.parametrize("api_key", [None, "s3cret"])
def test_the_served_description_is_valid_openapi_3_1(served, api_key):
    client = create_app(served.with_overrides(api_key=api_key)).test_client()
    spec = client.get("/openapi.json").get_json()
    errors = [e.message for e in OpenAPIV31SpecValidator(spec).iter_errors()]
    assert errors == []
    post = spec["paths"]["/predict"]["post"]
    assert ("401" in post["responses"]) == bool(post.get("security")) == (api_key is not None)
    assert spec["servers"] == [{"url": served.api_url}]


def test_api_key_required_on_data_endpoints_when_set(served):
    client = create_app(served.with_overrides(api_key="s3cret")).test_client()
    assert client.get("/health").status_code == 200 and client.get("/ready").status_code == 200
    for path in ("/predict?date=latest", "/plot", "/model", "/history", "/oos", "/data-quality"):
        missing = client.get(path)
        assert missing.status_code == 401 and missing.get_json()["error"] == "unauthorized"
        assert client.get(path, headers={"X-API-Key": "wrong"}).status_code == 401
    assert client.get("/predict", headers={"X-API-Key": "s3cret"}).status_code == 200
    bearer = client.get("/predict", headers={"Authorization": "Bearer s3cret"})
    assert bearer.status_code == 200
    spec = client.get("/openapi.json").get_json()
    assert spec["paths"]["/predict"]["post"]["security"]


def test_no_model_yet_is_503_everywhere_that_needs_one(tmp_path, settings):
    client = create_app(settings).test_client()
    ready = client.get("/ready")
    assert ready.status_code == 503 and "no model is served yet" in ready.get_json()["error"]
    response = client.post("/predict", json={"date": "latest"})
    assert response.status_code == 503 and response.get_json()["error"] == "not ready"
    assert client.get("/health").status_code == 200


def test_a_new_version_is_served_without_restart(tmp_path, served):
    settings = copy_served(served, tmp_path)
    client = create_app(settings).test_client()
    old = client.get("/ready").get_json()["model_version"]
    saved = candidate.promote(settings)
    app_served = client.application.extensions["volpred"]
    assert app_served.refresh() is True  # what the watcher thread does every second
    assert client.get("/ready").get_json()["model_version"] == saved.version != old
    assert client.get("/predict").get_json()["model_version"] == saved.version


@pytest.mark.parametrize("damage", ["truncate", "flip", "dangling"])
def test_a_damaged_new_version_keeps_the_old_model_serving(tmp_path, served, damage, caplog):
    settings = copy_served(served, tmp_path)
    client = create_app(settings).test_client()
    old = client.get("/ready").get_json()["model_version"]
    saved = candidate.promote(settings)
    model_file = saved.version_dir / store.MODEL_FILE
    if damage == "truncate":
        model_file.write_bytes(model_file.read_bytes()[:1000])
    elif damage == "flip":
        data = bytearray(model_file.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model_file.write_bytes(bytes(data))
    else:
        (settings.artifacts_dir / store.LATEST).write_text("20990101T000000Z\n")
    with caplog.at_level("ERROR", logger="volpred.serving.api"):
        assert client.application.extensions["volpred"].refresh() is False
    ready = client.get("/ready").get_json()
    assert ready["ready"] is True and ready["model_version"] == old
    assert ready["reload_error"] and str(tmp_path) not in ready["reload_error"]
    assert client.get("/predict").status_code == 200
    named = saved.version if damage != "dangling" else "20990101T000000Z"
    assert any(named in r.getMessage() for r in caplog.records)


def test_precomputed_path_matches_a_fresh_model_call(forecaster):
    (latest,) = predict(forecaster, dates=["latest"])
    fresh = forecaster.model.predict(forecaster.X[-1:])
    assert latest["vol"] == pytest.approx(float(np.asarray(fresh["vol"])[0]))


@pytest.mark.integration  # starts Chromium
def test_plot_png_and_svg_through_kaleido(client):
    png = client.get("/plot?kind=forecast&format=png&start=2024-01-01")
    assert png.status_code == 200 and png.mimetype == "image/png"
    assert png.data[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.get("/plot?kind=residuals&format=svg")
    assert svg.status_code == 200 and b"<svg" in svg.data[:500]


def test_plot_export_without_a_browser_is_503_not_500(served, tmp_path):
    from volpred.report import chart_export

    chart_export.shutdown()
    settings = served.with_overrides(chromium_path=tmp_path / "no-such-chromium")
    response = create_app(settings).test_client().get("/plot?format=png")
    assert response.status_code == 503
    assert response.get_json()["error"] == "figure export unavailable"
    assert str(tmp_path) not in response.get_data(as_text=True)
