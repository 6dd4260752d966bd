"""What the analysts' loop adds to the API: the current report's review status and its PDF,
and the recent alerts with the thresholds in force (the dashboard reads these; it reads no
file itself). A blueprint of its own beside `routes`, declared with `openapi.operation` like
every other view, so the OpenAPI description and the key check include it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from volpred.config import Settings
from volpred.monitoring import records
from volpred.monitoring.facts import Thresholds
from volpred.report import review
from volpred.serving.api.errors import HttpError, invalid_request, json_response
from volpred.serving.api.openapi import operation

bp = Blueprint("analyst", __name__)
PDF = {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


class ReportQuery(BaseModel):
    """`GET /report/pdf`: the current report (the reviewed copy once signed off), or one copy."""

    model_config = ConfigDict(extra="forbid")
    which: Literal["current", "draft", "reviewed"] = "current"


class AlertsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(20, ge=1, le=500, description="newest alerts first")


class ReportStatus(BaseModel):
    """The current report: draft, reviewed or sent back, and by whom."""

    status: str
    run_id: str | None = None
    model_version: str | None = None
    generated_at: str | None = None
    synthetic: bool | None = None
    review: dict[str, Any] | None = Field(None, description="the last review: by, at, decision")
    files: dict[str, str] = Field(description="copy -> its path on the API's machine")
    pdf_url: str = Field(description="where GET returns the current PDF")


class AlertsAnswer(BaseModel):
    alerts: list[dict[str, Any]] = Field(description="newest first")
    last_run: dict[str, Any] | None = Field(None, description="the last run's facts")
    thresholds: dict[str, Any] = Field(description="the thresholds in force (settings)")


def _settings() -> Settings:
    settings: Settings = current_app.extensions["volpred.settings"]
    return settings


def _query(model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise invalid_request(exc) from None


def _metadata(settings: Settings) -> dict[str, Any]:
    meta = review.read_metadata(settings.report_dir)
    if meta is None:
        raise HttpError(404, "not found", "no report has been written yet (volpred report)")
    return meta


def _files(settings: Settings, meta: dict[str, Any]) -> dict[str, Path]:
    out = {"draft": settings.report_dir / "analysis_report.pdf"}
    if meta.get("status") == "reviewed":
        out["reviewed"] = settings.report_dir / review.REVIEWED_PDF
    return {k: p for k, p in out.items() if p.is_file()}


@bp.get("/report")
@operation(protected=True, answers={200: (ReportStatus, "the current report")}, errors=[404])
def report() -> Response:
    """The current analysis report's review status"""
    settings = _settings()
    meta = _metadata(settings)
    body = ReportStatus(
        status=str(meta.get("status", "draft")),
        run_id=meta.get("run_id"),
        model_version=meta.get("model_version"),
        generated_at=meta.get("generated_at"),
        synthetic=meta.get("synthetic"),
        review=meta.get("review"),
        files={k: str(p) for k, p in _files(settings, meta).items()},
        pdf_url="/report/pdf",
    )
    return json_response(body.model_dump())


@bp.get("/report/pdf")
@operation(
    protected=True,
    query=ReportQuery,
    answers={200: (PDF, "the PDF")},
    errors=[404, 422],
)
def report_pdf() -> Response:
    """The current report's PDF: the reviewed copy once signed off, else the draft"""
    q = _query(ReportQuery)
    settings = _settings()
    files = _files(settings, _metadata(settings))
    which = q.which if q.which != "current" else ("reviewed" if "reviewed" in files else "draft")
    if which not in files:
        raise HttpError(404, "not found", f"the report has no {which} copy", "which")
    path = files[which]
    return Response(
        path.read_bytes(),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{path.name}"'},
    )


@bp.get("/alerts")
@operation(
    protected=True, query=AlertsQuery, answers={200: (AlertsAnswer, "recent alerts")}, errors=[422]
)
def alerts() -> Response:
    """Recent KPI, freshness and failed-run alerts, the last run's facts, the thresholds"""
    q = _query(AlertsQuery)
    settings = _settings()
    last = records.recent_facts(settings, 1)
    body = AlertsAnswer(
        alerts=records.recent_alerts(settings, q.limit),
        last_run=last[0] if last else None,
        thresholds=Thresholds.from_settings(settings).__dict__,
    )
    return json_response(body.model_dump())
