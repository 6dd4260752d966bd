"""The one typed settings object: defaults here, `VOLPRED_*` env vars override them, CLI flags
override env."""

from __future__ import annotations

import json
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Default `Settings.fill_limits`: a VIX or Treasury holiday the SPX trades through is a day
#: or two, a week of silence is a feed problem; an intraday feed missing more than a few days
#: is not a daily realized measure any more.
DEFAULT_FILL_LIMITS: dict[str, int] = {"vix": 5, "treasuries": 5, "realized": 3}
MARKET_SOURCES = tuple(DEFAULT_FILL_LIMITS)

SourceName = Literal["sample", "csv", "fred", "stooq", "live", "csv+live", "csv+fred"]
ServiceName = Literal["api", "dashboard"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOLPRED_", extra="ignore")

    # Where checkpoints live.
    data_dir: Path = Path("data")
    artifacts_dir: Path = Path("artifacts")
    results_dir: Path = Field(Path("results"), description="Prefect task results (the cache)")
    results_block: str | None = Field(
        None, description="a saved Prefect storage block (e.g. 's3-bucket/volpred') instead"
    )
    lock_timeout: float = Field(3600, ge=0, description="seconds a run waits for another")

    # Which source ingest_data reads, and its options.
    source: SourceName = "sample"
    csv_path: Path = Path("/data/raw_market.csv")
    start: date | None = Field(None, description="First date kept (inclusive); None = source's own")
    end: date | None = Field(None, description="Last date kept (inclusive); None = today")
    sample_start: date = date(1990, 1, 2)
    sample_end: date = date(2025, 12, 31)
    fred_start: date = date(1990, 1, 1)
    stooq_api_key: SecretStr | None = None
    stooq_url: str = "https://stooq.com/q/d/l/"
    stooq_symbol: str = "^spx"

    # Realized measures (volpred.data.realized): a daily realized-measures file, or intraday
    # bars computed into the same daily layout, fanned out over partitions (volpred.flows.realized).
    realized_path: Path | None = Field(
        None,
        description="a daily realized-measures file, CSV or Parquet: the Oxford-Man Realized "
        "Library layout (date, Symbol, rv5[, bv, rsv, ...]) or date, rv5[, bv, rs_pos, rs_neg, "
        "n_bars]; daily variances, not annualised",
    )
    realized_symbol: str = Field(".SPX", description="the Symbol kept from an Oxford-Man file")
    bars_path: Path | None = Field(
        None,
        description="intraday 1- or 5-minute OHLC(V) bars: a CSV or Parquet file, or a folder "
        "of them (hive-partitioned date=.../ or year=.../month=.../, or plain)",
    )
    bars_timezone: str = Field(
        "America/New_York",
        description="the zone naive bar timestamps are in (an IANA name; 'UTC' for UTC feeds); "
        "timestamps with a zone or offset carry their own, integer epochs are UTC",
    )
    bars_label: Literal["start", "end"] = Field(
        "start",
        description="whether a bar's timestamp is the start of its interval (09:30 for "
        "09:30-09:31) or its end (09:31)",
    )
    bars_min_share: float = Field(
        0.8,
        ge=0,
        le=1,
        description="a day with fewer observed 5-minute intervals than this share of its "
        "session's (78; 42 on a 13:00 half day) is dropped and listed with the reason",
    )
    bars_partition_rows: int = Field(
        2_000_000,
        ge=1,
        description="input rows per partition of the bar computation (files are never split "
        "and a trading day never spans two partitions), which bounds each task's memory",
    )
    realized_workers: int = Field(
        2,
        ge=1,
        description="partitions computed at once without Dask (threads; each one already "
        "uses every core through Polars)",
    )
    dask_address: str | None = Field(
        None,
        description="a Dask scheduler (e.g. tcp://10.0.0.5:8786) whose workers, with volpred "
        "installed, compute the bar partitions; None: threads of this process",
    )
    sample_bars_start: date = Field(
        date(2005, 1, 3),
        description="first day of the sample source's 5-minute bars (its daily history starts "
        "earlier, as real intraday data does)",
    )

    # Network behaviour: short timeouts, and two retry layers with separate jobs (unlike
    # pandas-datareader's 4 x 30 s). The HTTP layer asks again within one request, seconds
    # apart, after a blip (a failed or broken connection, a timeout, a 5xx, a 429 with its
    # Retry-After); the flow's ingest_data retry waits minutes for an outage of the whole source
    # that outlasts those seconds, and re-runs the HTTP layer. One request is thus sent at most
    # (ingest_retries + 1) x (http_retries + 1) times: 2 x 4 = 8 by default, 24 at the caps
    # (`volpred.data.sources.http.most_attempts`).
    http_timeout: float = Field(15.0, gt=0)
    http_retries: int = Field(
        3, ge=0, le=5, description="retries of one request after a blip, seconds apart"
    )
    http_backoff: float = Field(1.0, ge=0, description="seconds; doubles each retry")
    overlap_days: int = Field(5, ge=1, description="days re-fetched before the last stored date")
    ingest_retries: int = Field(
        1,
        ge=0,
        le=3,
        description="times the flow retries ingest_data, minutes apart, after a download failed "
        "(0: the next scheduled run catches up instead)",
    )
    ingest_retry_delays: list[float] = Field(
        [300], description="seconds before each of those retries (JSON list; the last repeats)"
    )

    # Macroeconomic series from FRED, joined point in time (`volpred.data.macro`): each value
    # enters the daily table on the day its publication-lag rule says it was public.
    macro_dir: Path | None = Field(
        None,
        description="folder of FRED CSV files (<SERIES>.csv) read instead of asking FRED",
    )
    macro_source: Literal["auto", "fred", "none"] = Field(
        "auto",
        description="where macro series come from: auto = macro_dir when set, the sample's own "
        "for the sample source, FRED for the network sources, none for a CSV file alone; fred "
        "= always download; none = no macro series",
    )
    macro_series: list[str] = Field(
        [
            "ANFCI",
            "STLFSI4",
            "BAMLH0A0HYM2",
            "BAMLC0A0CM",
            "ICSA",
            "CFNAI",
            "DCOILWTICO",
            "DGS30",
            "T10YIE",
        ],
        description="FRED series ids joined to the daily table (JSON list)",
    )
    macro_lags: dict[str, str] = Field(
        {
            "ANFCI": "weekday:wed",
            "STLFSI4": "weekday:thu",
            "BAMLH0A0HYM2": "bday+1",
            "BAMLC0A0CM": "bday+1",
            "ICSA": "weekday:thu",
            "CFNAI": "monthend+1m",
            "DCOILWTICO": "weekday:wed+1w",
            "DGS30": "bday+1",
            "T10YIE": "bday+1",
        },
        description="publication-lag rule per series id (JSON object): bday+N, day+N, "
        "weekday:<mon..sun>[+Nw], monthend+Nm; a series missing here keeps its default rule",
    )
    macro_calendar: Literal["us_federal", "weekday"] = Field(
        "us_federal",
        description="business days of the lag rules: weekdays without US federal holidays "
        "(the publishers' schedule), or all weekdays",
    )
    macro_min_years: float = Field(
        5.0,
        ge=0,
        description="a series with fewer years of observations in the joined span is reported "
        "as too short to train on (it is still joined)",
    )
    macro_vintage_date: date | None = Field(
        None,
        description="download each series from ALFRED as published on this date instead of "
        "FRED's latest revised values",
    )

    # Cleaning and features.
    fill_limits: dict[str, int] = Field(
        dict(DEFAULT_FILL_LIMITS),
        description="per input source (JSON object): the longest gap, in trading days, over "
        "which its last value is carried forward; beyond it the source's inputs are null, never "
        "a constant, and forecasts say so. Sources: vix, treasuries, realized (the intraday "
        "measures), and optionally a macro series id (a macro value is otherwise carried until "
        "the next publication, however old); a source left out keeps its default",
    )
    ffill_limit: int | None = Field(
        None,
        ge=0,
        description="deprecated: sets fill_limits for vix and treasuries (its old meaning)",
    )
    max_close_jump: float = Field(
        0.4,
        gt=0,
        description="|log(close / median of the 5 closes before)| above this is a bad print",
    )
    min_clean_rows: int = Field(126, ge=1, description="fewer rows after cleaning is an error")
    horizon: int = Field(21, ge=1, description="forecast horizon in trading days")
    seed: int = 20_240_101
    log_level: str = "INFO"

    # Training and promotion.
    refit_every: int = Field(
        21, ge=21, description="walk-forward refit interval, trading days (21: monthly)"
    )
    garch_refit_every: int = Field(
        252, ge=21, description="rows between GARCH parameter estimates (the state moves daily)"
    )
    use_gbm: bool = Field(
        False, description="also fit gradient boosting in the walk-forward (reported, slower)"
    )
    min_train_years: float = Field(9, gt=0, description="out-of-sample starts after this")
    selection_years: float = Field(
        4, ge=0, description="burn-in years of out-of-sample forecasts used only to choose models"
    )
    wf_gap: int | None = Field(None, description="rows between training targets and a test block")
    interval_level: float = Field(0.8, gt=0, lt=1, description="prediction band coverage")
    interval_half_life_years: float | None = Field(
        3, description="recency weighting of the band's residuals (None: equal weights)"
    )
    train_jobs: int = Field(1, ge=1, description="threads for the walk-forward's blocks")
    approval_timeout: float = Field(
        3600, ge=0, description="seconds a paused run waits for an analyst, then keeps the model"
    )

    # Services: the local Prefect server and worker (`volpred serve`), the API, the dashboard.
    run_dir: Path = Field(Path("run"), description="pid files and service logs")
    prefect_host: str = "127.0.0.1"
    prefect_port: int = 4200
    work_pool: str = "volpred-process"
    # Flow runs in containers (`volpred serve --pool docker`): the docker-type pool, the image
    # its runs start, and the container network (host: the runs reach the host's server).
    docker_work_pool: str = "volpred-docker"
    docker_image: str = "localhost/volpred:latest"
    docker_network_mode: str = "host"
    api_host: str = "127.0.0.1"
    api_port: int = 5000
    api_key: SecretStr | None = Field(
        None,
        description="when set (non-empty), every data endpoint requires it (X-API-Key or "
        "Bearer); health, readiness, docs and metrics stay open",
    )
    api_workers: int = Field(2, ge=1, description="gunicorn sync workers (one per core)")
    api_timeout: float = Field(
        60, gt=0, description="gunicorn worker timeout, seconds (png/svg export gets a fifth)"
    )
    api_max_body: int = Field(1_048_576, ge=1024, description="largest request body, bytes")
    api_reload_interval: float = Field(
        1.0, gt=0, description="seconds between checks for a new served model or data"
    )
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8501
    dashboard_api_url: str | None = Field(
        None, description="the API the dashboard calls; default http://<api_host>:<api_port>"
    )
    dashboard_api_timeout: float = Field(5.0, gt=0, description="seconds per API call")

    # What a pipeline run leaves behind besides the model.
    services: list[ServiceName] = Field(
        ["api", "dashboard"], description="services a run starts or reloads (JSON list)"
    )
    report: bool = Field(True, description="whether a run writes the PDF analysis report")

    # The report.
    report_dir: Path = Field(Path("reports"), description="analysis_report.pdf and .html")
    chromium_path: Path | None = Field(
        None, description="browser for kaleido's figure export; default: found on PATH"
    )

    # The analysts' loop: the report's review (volpred.report.review, the review-report flow)
    # and the run's KPI and freshness alerts (volpred.monitoring, deployments/automations.yaml).
    review_timeout: float = Field(
        7 * 86400,
        ge=0,
        description="seconds a review-report run waits for the analyst's form; then it ends "
        "and leaves the draft as it is",
    )
    alert_vol_above: float = Field(
        0.30, gt=0, description="alert when the forecast vol is above this (0.30 = 30%)"
    )
    alert_vol_jump: float = Field(
        0.05,
        gt=0,
        description="alert when the forecast vol moved more than this since the last run "
        "(0.05 = 5 vol points)",
    )
    alert_max_data_age: int = Field(
        3,
        ge=0,
        description="alert when the data's last day is more than this many trading days old "
        "(the sample source is measured against its own last day)",
    )
    alert_input_max_age: dict[str, int] = Field(
        {"*": 5, "ANFCI": 10, "STLFSI4": 10, "ICSA": 10, "DCOILWTICO": 15, "CFNAI": 50},
        description="alert when an input's newest value is older than this many trading days "
        "on the last day (JSON object, input name -> days; '*' for inputs not named)",
    )
    alert_webhook_url: str = Field(
        "http://127.0.0.1:8787/volpred-alerts",
        description="where the automations' Custom Webhook notification block posts",
    )
    alert_webhook_block: str = Field(
        "volpred-alerts", description="name of that notification block on the Prefect server"
    )
    alerts_dir: Path | None = Field(
        None,
        description="each run's facts and the alerts raised (JSON lines); default "
        "<data_dir>/alerts, beside the data they describe",
    )

    @field_validator("fill_limits", mode="after")
    @classmethod
    def _fill_limits(cls, given: dict[str, int]) -> dict[str, int]:
        """Each limit is a count of days; a source not given keeps its default, so an
        override names only what it changes."""
        bad = {k: v for k, v in given.items() if v < 0}
        if bad:
            raise ValueError(f"fill limits are trading days, at least 0: {bad}")
        return DEFAULT_FILL_LIMITS | given

    @model_validator(mode="after")
    def _fill_sources_and_alias(self) -> Settings:
        """The deprecated single limit becomes the VIX and Treasury limits (and is then
        forgotten, so a copy of these settings does not apply it twice); a limit for an
        unknown source is a typo that would silently not apply."""
        if self.ffill_limit is not None:
            limit = self.ffill_limit
            self.fill_limits = self.fill_limits | {"vix": limit, "treasuries": limit}
            self.ffill_limit = None
        known = set(MARKET_SOURCES) | set(self.macro_series)
        unknown = sorted(set(self.fill_limits) - known)
        if unknown:
            raise ValueError(
                f"fill_limits names unknown sources {unknown}: use {list(MARKET_SOURCES)} or a "
                "series of macro_series"
            )
        return self

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def dashboard_url(self) -> str:
        return f"http://{self.dashboard_host}:{self.dashboard_port}"

    @property
    def api_url_for_dashboard(self) -> str:
        return self.dashboard_api_url or self.api_url

    @property
    def alerts_folder(self) -> Path:
        return self.alerts_dir or self.data_dir / "alerts"

    @cached_property
    def raw_path(self) -> Path:
        return self.data_dir / "raw_market.csv"

    @cached_property
    def raw_meta_path(self) -> Path:
        return self.data_dir / "raw_market.meta.json"

    @cached_property
    def realized_checkpoint(self) -> Path:
        """Daily realized measures (`volpred.data.realized.COLUMNS`), written by ingest_data."""
        return self.data_dir / "realized.parquet"

    @cached_property
    def realized_meta_path(self) -> Path:
        return self.data_dir / "realized.meta.json"

    @cached_property
    def macro_checkpoint(self) -> Path:
        """Macro observations with their availability dates, written by ingest_data."""
        return self.data_dir / "macro.parquet"

    @cached_property
    def macro_meta_path(self) -> Path:
        return self.data_dir / "macro.meta.json"

    @cached_property
    def cleaned_path(self) -> Path:
        return self.data_dir / "cleaned_data.csv"

    @cached_property
    def cleaned_parquet_path(self) -> Path:
        return self.data_dir / "cleaned_data.parquet"

    @cached_property
    def cleaning_report_path(self) -> Path:
        return self.data_dir / "cleaning_report.json"

    def as_env(self) -> dict[str, str]:
        """These settings as `VOLPRED_*` variables (absolute paths), so a service started in
        another process and folder serves exactly what this process configured."""
        env = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, Path):
                value = value.resolve()
            elif isinstance(value, list | dict):
                value = json.dumps(value)
            env[f"VOLPRED_{name.upper()}"] = str(value)
        return env

    def with_overrides(self, **overrides: Any) -> Settings:
        """Apply CLI flags on top of env/defaults; `None` means "flag not given"."""
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        merged = self.model_dump() | given
        return Settings.model_validate(merged)


def get_settings(**overrides: Any) -> Settings:
    return Settings().with_overrides(**overrides)
