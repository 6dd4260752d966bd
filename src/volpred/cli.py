"""`volpred`: one command per pipeline stage, and `run` for the whole flow.

Flags override `VOLPRED_*` env vars, which override defaults (see `volpred.config`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from volpred.config import Settings, get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
log = logging.getLogger("volpred")

Source = Annotated[
    str | None,
    typer.Option(
        "--source",
        "-s",
        help="sample | csv | fred | stooq | live | csv+live | csv+fred",
    ),
]
CsvPath = Annotated[Path | None, typer.Option("--path", help="CSV file for --source csv")]
Start = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="first date")]
End = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="last date")]
Realized = Annotated[
    Path | None,
    typer.Option("--realized", help="daily realized-measures file (VOLPRED_REALIZED_PATH)"),
]
Bars = Annotated[
    Path | None,
    typer.Option("--bars", help="intraday bars, a file or folder (VOLPRED_BARS_PATH)"),
]
MacroDir = Annotated[
    Path | None,
    typer.Option("--macro-dir", help="folder of FRED-format series files (VOLPRED_MACRO_DIR)"),
]
DataDir = Annotated[Path | None, typer.Option(help="checkpoint folder (VOLPRED_DATA_DIR)")]
ArtifactsDir = Annotated[Path | None, typer.Option(help="model folder (VOLPRED_ARTIFACTS_DIR)")]


def _as_date(value: datetime | None) -> date | None:
    return value.date() if value else None


def _settings(**flags: Any) -> Settings:
    try:
        return get_settings(**flags)
    except ValueError as exc:  # pydantic's message names the field
        raise typer.BadParameter(str(exc)) from exc


def _setup_logging() -> None:
    logging.basicConfig(
        level=Settings().log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # One line per HTTP call to the Prefect server drowns what volpred says.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg="red", err=True)
    raise typer.Exit(1)


def _prefect_offline_defaults() -> None:
    """No telemetry; and a temporary server's first start migrates its database, which can
    take longer than Prefect's 20 s default on a busy 2-core machine."""
    for key, value in {
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }.items():
        os.environ.setdefault(key, value)


def _print(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, default=str))


@app.command()
def ingest(
    source: Source = None,
    path: CsvPath = None,
    start: Start = None,
    end: End = None,
    realized: Realized = None,
    bars: Bars = None,
    macro_dir: MacroDir = None,
    data_dir: DataDir = None,
) -> None:
    """ingest_data: the source into data/raw_market.csv, realized measures into
    data/realized.parquet, macro series into data/macro.parquet (each with a .meta.json)."""
    from volpred.data.auxiliary import ingest_all
    from volpred.data.macro import MacroInputError
    from volpred.data.realized import RealizedInputError
    from volpred.data.sources import SourceError
    from volpred.runtime.storage import CheckpointWriteError

    _setup_logging()
    settings = _settings(
        source=source,
        csv_path=path,
        start=_as_date(start),
        end=_as_date(end),
        realized_path=realized,
        bars_path=bars,
        macro_dir=macro_dir,
        data_dir=data_dir,
    )
    try:
        raw, extras = ingest_all(settings)
    except (
        SourceError,
        CheckpointWriteError,
        RealizedInputError,
        MacroInputError,
        ValueError,  # a setting the realized or macro step cannot use, named
    ) as exc:
        _fail(exc)
    _print(raw.as_dict() | {"inputs": {x.name: x.as_dict() for x in extras}})


@app.command()
def clean(data_dir: DataDir = None) -> None:
    """clean_data: validate data/raw_market.csv, write data/cleaned_data.csv and its report."""
    from volpred.data.clean import DataValidationError
    from volpred.data.clean import clean as run_clean
    from volpred.runtime.storage import CheckpointWriteError

    _setup_logging()
    settings = _settings(data_dir=data_dir)
    try:
        result = run_clean(settings)
    except (DataValidationError, CheckpointWriteError, FileNotFoundError) as exc:
        _fail(exc)
    _print(
        {k: result.report[k] for k in ("rows_in", "rows_out", "first_date", "last_date")}
        | {"path": str(result.path), "findings": len(result.findings)}
    )


@app.command()
def train(
    data_dir: DataDir = None,
    artifacts_dir: ArtifactsDir = None,
    force: Annotated[bool, typer.Option(help="serve the new model even if it is worse")] = False,
) -> None:
    """train_model + save_model: walk-forward evaluate, refit, and serve the new model when it
    is not worse than the served one (or with --force)."""
    from volpred.model import candidate, promotion
    from volpred.model.store import ModelLoadError
    from volpred.runtime.storage import CheckpointWriteError

    _setup_logging()
    settings = _settings(data_dir=data_dir, artifacts_dir=artifacts_dir)
    if not settings.cleaned_parquet_path.is_file():
        _fail(FileNotFoundError(f"{settings.cleaned_parquet_path} is missing: run volpred clean"))
    try:
        trained = candidate.train_candidate(settings)
        # No analyst to ask at a terminal: --force is the approval.
        decision = promotion.review(settings, require_approval=False, force=force)
        result = promotion.carry_out(settings, decision)
    except (ModelLoadError, CheckpointWriteError, ValueError) as exc:
        _fail(exc)
    if result.promoted:
        outcome = {
            "promoted": True,
            "version": result.version,
            "path": str(result.path),
            "size_bytes": result.size_bytes,
        }
    elif result.reason == "already served":
        outcome = {"promoted": False, "version": result.version, "reason": result.reason}
    else:
        outcome = {
            "promoted": False,
            "version": result.version,
            "reason": "worse than the served model (use --force)",
            "comparison": decision.rows,
        }
    _print(
        {
            "headline": trained["headline"].get("overall", {}).get("vol", {}).get("selected"),
            **outcome,
        }
    )


@app.command()
def run(
    source: Source = None,
    path: CsvPath = None,
    start: Start = None,
    end: End = None,
    realized: Realized = None,
    bars: Bars = None,
    macro_dir: MacroDir = None,
    data_dir: DataDir = None,
    artifacts_dir: ArtifactsDir = None,
    refresh: Annotated[bool, typer.Option(help="ignore cached checkpoints")] = False,
    require_approval: Annotated[
        bool, typer.Option(help="pause for an analyst before serving a new model")
    ] = False,
    local_server: Annotated[
        bool,
        typer.Option(
            help="run against the local Prefect server (started once, left running with its UI "
            "at :4200) instead of a temporary one per run; ignored when PREFECT_API_URL is set"
        ),
    ] = True,
) -> None:
    """Run the whole pipeline as a Prefect flow, against the local Prefect server."""
    _prefect_offline_defaults()
    settings = _settings(  # fail fast
        source=source,
        csv_path=path,
        realized_path=realized,
        bars_path=bars,
        macro_dir=macro_dir,
        data_dir=data_dir,
    )
    if local_server and "PREFECT_API_URL" not in os.environ:
        from volpred.runtime.orchestration import api_url, ensure_server
        from volpred.runtime.processes import ServiceError

        _setup_logging()
        try:
            ensure_server(settings)
        except ServiceError as exc:
            _fail(exc)
        os.environ["PREFECT_API_URL"] = api_url(settings)
    from volpred.flows.pipeline import volpred_pipeline

    state = volpred_pipeline(
        source=source,
        csv_path=path,
        start=_as_date(start),
        end=_as_date(end),
        realized_path=realized,
        bars_path=bars,
        macro_dir=macro_dir,
        data_dir=data_dir,
        artifacts_dir=artifacts_dir,
        refresh=refresh,
        require_approval=require_approval,
        return_state=True,
    )
    if not state.is_completed():
        _fail(RuntimeError(f"flow run ended {state.name}: {state.message}"))
    _print(state.result())


@app.command()
def serve(
    pool: Annotated[
        str,
        typer.Option(
            help="process: runs are processes here (volpred-process); docker: each run is a "
            "container of the image (volpred-docker; `make image` first)"
        ),
    ] = "process",
) -> None:
    """Start a local Prefect server, create the work pool, deploy, and start a worker."""
    from volpred.runtime.containers import serve_docker
    from volpred.runtime.orchestration import serve as run_serve
    from volpred.runtime.processes import ServiceError

    if pool not in ("process", "docker"):
        raise typer.BadParameter(f"--pool {pool!r}: process or docker")
    _setup_logging()
    try:
        _print((serve_docker if pool == "docker" else run_serve)(_settings()))
    except ServiceError as exc:
        _fail(exc)


@app.command()
def api(
    background: Annotated[
        bool, typer.Option(help="start in the background and wait until it is ready")
    ] = False,
    host: Annotated[str | None, typer.Option(help="bind address (VOLPRED_API_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (VOLPRED_API_PORT)")] = None,
) -> None:
    """Serve the REST API under gunicorn (foreground unless --background)."""
    from volpred.runtime.processes import ServiceError
    from volpred.serving.api.launcher import run_foreground, start_api

    _setup_logging()
    settings = _settings(api_host=host, api_port=port)
    if not background:
        run_foreground(settings)
    try:
        _print(start_api(settings).as_dict())
    except ServiceError as exc:
        _fail(exc)


@app.command()
def dashboard(
    background: Annotated[
        bool, typer.Option(help="start in the background and wait until it answers")
    ] = False,
    port: Annotated[int | None, typer.Option(help="port (VOLPRED_DASHBOARD_PORT)")] = None,
    api_url: Annotated[
        str | None, typer.Option(help="the API it calls (VOLPRED_DASHBOARD_API_URL)")
    ] = None,
) -> None:
    """Serve the Streamlit dashboard (foreground unless --background; `volpred stop` stops it)."""
    from volpred.runtime.processes import ServiceError
    from volpred.serving.dashboard.launcher import run_foreground, start_dashboard

    _setup_logging()
    settings = _settings(dashboard_port=port, dashboard_api_url=api_url)
    if not background:
        raise typer.Exit(run_foreground(settings))
    try:
        service = start_dashboard(settings)
    except ServiceError as exc:
        _fail(exc)
    _print({"url": settings.dashboard_url, "pid": service.pid, "log": service.log})


report_app = typer.Typer(
    add_completion=False,
    help="generate_report (no subcommand), or `review`: an analyst's sign-off of the draft.",
)
app.add_typer(report_app, name="report")
ReportDir = Annotated[Path | None, typer.Option(help="output folder (VOLPRED_REPORT_DIR)")]


@report_app.callback(invoke_without_command=True)
def report(
    ctx: typer.Context,
    data_dir: DataDir = None,
    artifacts_dir: ArtifactsDir = None,
    report_dir: ReportDir = None,
    run_id: Annotated[str | None, typer.Option(help="run id printed in the report")] = None,
) -> None:
    """generate_report: the served model's analysis report, reports/analysis_report.pdf (a
    draft until reviewed: `volpred report review`)."""
    if ctx.invoked_subcommand is not None:
        return
    from volpred.report import ReportError, generate_report
    from volpred.report.chart_export import BrowserMissingError, FigureExportError
    from volpred.runtime.storage import CheckpointWriteError

    _setup_logging()
    settings = _settings(data_dir=data_dir, artifacts_dir=artifacts_dir, report_dir=report_dir)
    try:
        result = generate_report(settings, run_id=run_id)
    except (ReportError, BrowserMissingError, FigureExportError, CheckpointWriteError) as exc:
        _fail(exc)
    _print(result.as_dict())


@report_app.command("review")
def report_review(
    by: Annotated[str, typer.Option("--by", help="the reviewer's name, as printed")],
    notes: Annotated[
        Path,
        typer.Option(
            "--notes", exists=True, dir_okay=False, help="the commentary: a markdown file"
        ),
    ],
    send_back: Annotated[
        bool, typer.Option(help="send the draft back instead of signing it off")
    ] = False,
    run_id: Annotated[
        str | None, typer.Option(help="refuse unless the current report is this run's")
    ] = None,
    report_dir: ReportDir = None,
) -> None:
    """Sign off the current draft: writes analysis_report.reviewed.pdf (and .html) with the
    commentary, and records who, when and which model version in analysis_report.json."""
    from datetime import UTC

    from volpred.report.review import Review, ReviewError, review_report
    from volpred.runtime.storage import CheckpointWriteError

    _setup_logging()
    settings = _settings(report_dir=report_dir)
    entry = Review(
        by=by,
        notes=notes.read_text(encoding="utf-8"),
        at=datetime.now(UTC),
        decision="sent back" if send_back else "approved",
    )
    try:
        result = review_report(settings, entry, run_id=run_id)
    except (ReviewError, CheckpointWriteError) as exc:
        _fail(exc)
    _print(result.as_dict())


alerts_app = typer.Typer(add_completion=False, help="The run's KPI and freshness alerts.")
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("listen")
def alerts_listen(
    port: Annotated[int, typer.Option(help="port (the default webhook URL's)")] = 8787,
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
) -> None:
    """Print every webhook the alert automations send (one JSON line each) until Ctrl-C."""
    from volpred.monitoring.listener import webhook_server

    def show(body: dict[str, Any]) -> None:
        typer.echo(json.dumps(body, ensure_ascii=False), nl=True)

    server = webhook_server(show, host=host, port=port)
    typer.echo(f"listening on http://{host}:{port}/ (VOLPRED_ALERT_WEBHOOK_URL)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@alerts_app.command("show")
def alerts_show(
    limit: Annotated[int, typer.Option(help="newest first")] = 20,
    data_dir: DataDir = None,
) -> None:
    """The recent alerts, the last run's facts and the thresholds in force (from the record)."""
    from volpred.monitoring import records
    from volpred.monitoring.facts import Thresholds

    settings = _settings(data_dir=data_dir)
    last = records.recent_facts(settings, 1)
    _print(
        {
            "alerts": records.recent_alerts(settings, limit),
            "last_run": last[0] if last else None,
            "thresholds": Thresholds.from_settings(settings).__dict__,
        }
    )


@app.command()
def wait(
    urls: Annotated[list[str], typer.Argument(help="http(s)://... health URLs or tcp://host:port")],
    timeout: Annotated[float, typer.Option(help="seconds to wait in all")] = 120.0,
) -> None:
    """Wait until every URL answers: an HTTP URL with a 2xx, a tcp:// one by accepting a
    connection. Containers start in any order (compose tools differ in how they honour
    `depends_on`), so a service waits for what it needs itself."""
    import time

    from volpred.runtime.processes import answers, healthy

    _setup_logging()
    deadline = time.monotonic() + timeout
    for url in urls:
        check = answers if url.startswith("tcp://") else healthy
        while not check(url):
            if time.monotonic() > deadline:
                _fail(TimeoutError(f"{url} did not answer within {timeout:g} s"))
            time.sleep(1)
        log.info("%s answers", url)


@app.command()
def stop() -> None:
    """Stop every background service volpred started (worker, server, API, dashboard)."""
    from volpred.runtime.orchestration import stop_all

    _setup_logging()
    _print({"stopped": stop_all(_settings())})


if __name__ == "__main__":
    app()
