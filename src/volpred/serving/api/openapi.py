"""The OpenAPI 3.1 description, generated from the pydantic models that validate requests, and
a docs page rendered from it (offline: no script from a CDN)."""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from volpred.config import Settings
from volpred.serving.api.schemas import (
    Columns,
    DataQuality,
    DateRange,
    ErrorBody,
    Health,
    PlotQuery,
    PredictQuery,
    PredictRequest,
    PredictResponse,
    Ready,
)

REF = "#/components/schemas/{model}"
ERRORS = {
    "400": "the body is not valid JSON",
    "401": "the API key is missing or wrong (when one is configured)",
    "404": "no such resource",
    "405": "method not allowed",
    "413": "the body is larger than the limit",
    "422": "a field is missing, unknown, of the wrong type or out of range, or a date is "
    "outside the data",
    "503": "no model can be served yet",
}


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "description": prop.get("description", ""),
            "schema": {k: v for k, v in prop.items() if k not in ("description", "title")},
        }
        for name, prop in schema["properties"].items()
    ]


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=ref)}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {c: {"description": ERRORS[c], "content": _json("ErrorBody")} for c in codes}


def _ok(description: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"200": {"description": description, "content": content}}


def openapi_spec(settings: Settings) -> dict[str, Any]:
    _, defs = models_json_schema(
        [
            (m, "validation" if m in (PredictRequest,) else "serialization")
            for m in (
                PredictRequest,
                PredictResponse,
                Ready,
                Health,
                Columns,
                DataQuality,
                ErrorBody,
            )
        ],
        ref_template=REF,
    )
    secured = [{"ApiKey": []}, {"Bearer": []}] if settings.api_key else []
    common = ("405",)
    guarded = ("401", *common) if settings.api_key else common
    figure = {
        "application/json": {"schema": {"type": "object", "description": "plotly figure spec"}},
        "text/html": {"schema": {"type": "string"}},
        "image/png": {"schema": {"type": "string", "contentMediaType": "image/png"}},
        "image/svg+xml": {"schema": {"type": "string"}},
    }
    dated = {"parameters": _query_parameters(DateRange), "security": secured}
    paths: dict[str, Any] = {
        "/health": {
            "get": {
                "summary": "Liveness",
                "responses": _ok("alive", _json("Health")) | _errors(*common),
            }
        },
        "/ready": {
            "get": {
                "summary": "Readiness: the served model's version and data as-of date",
                "responses": _ok("ready", _json("Ready"))
                | {"503": {"description": "nothing can be served yet", "content": _json("Ready")}}
                | _errors(*common),
            }
        },
        "/model": {
            "get": {
                "summary": "The served model's card (metrics, hyperparameters, data)",
                "security": secured,
                "responses": _ok(
                    "the model card", {"application/json": {"schema": {"type": "object"}}}
                )
                | _errors(*guarded, "503"),
            }
        },
        "/predict": {
            "get": {
                "summary": "Forecast for a date ('latest' by default)",
                "parameters": _query_parameters(PredictQuery),
                "security": secured,
                "responses": _ok("forecasts", _json("PredictResponse"))
                | _errors(*guarded, "422", "503"),
            },
            "post": {
                "summary": "Forecasts for a date, what-if inputs, a date's inputs changed by "
                "what-if inputs, or a batch of up to 1,000 of these",
                "security": secured,
                "requestBody": {"required": True, "content": _json("PredictRequest")},
                "responses": _ok("forecasts, in the order asked", _json("PredictResponse"))
                | _errors(*guarded, "400", "413", "422", "503"),
            },
        },
        "/plot": {
            "get": {
                "summary": "A figure: market history, walk-forward forecasts, or residuals",
                "parameters": _query_parameters(PlotQuery),
                "security": secured,
                "responses": _ok("the figure in the format asked", figure)
                | _errors(*guarded, "404", "422", "503"),
            }
        },
        "/history": {
            "get": {
                "summary": "The cleaned market data and features, column by column",
                **dated,
                "responses": _ok("the table", _json("Columns")) | _errors(*guarded, "422", "503"),
            }
        },
        "/oos": {
            "get": {
                "summary": "The served model's walk-forward out-of-sample predictions",
                **dated,
                "responses": _ok("the table", _json("Columns"))
                | _errors(*guarded, "404", "422", "503"),
            }
        },
        "/data-quality": {
            "get": {
                "summary": "The cleaning report and the raw data's source metadata",
                "security": secured,
                "responses": _ok("reports", _json("DataQuality")) | _errors(*guarded, "503"),
            }
        },
        "/metrics": {
            "get": {
                "summary": "Request counts, errors and latency by endpoint (Prometheus text)",
                "responses": _ok("metrics", {"text/plain": {"schema": {"type": "string"}}})
                | _errors(*common),
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This description",
                "responses": _ok(
                    "OpenAPI 3.1", {"application/json": {"schema": {"type": "object"}}}
                )
                | _errors(*common),
            }
        },
        "/docs": {
            "get": {
                "summary": "Human-readable documentation of this API",
                "responses": _ok("HTML", {"text/html": {"schema": {"type": "string"}}})
                | _errors(*common),
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "volpred API",
            "version": package_version("volpred"),
            "description": "Forecasts of the S&P 500's next-month log return and realized "
            "volatility with 80% bands, from the served volpred model.",
        },
        "servers": [{"url": settings.api_url}],
        "paths": paths,
        "components": {
            "schemas": defs["$defs"],
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "Bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    }


def docs_page(spec: dict[str, Any]) -> str:
    env = Environment(
        loader=PackageLoader("volpred.serving.api", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    return env.get_template("docs.html.j2").render(spec=spec)
