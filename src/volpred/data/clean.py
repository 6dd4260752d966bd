"""clean_data: validate the raw checkpoint, apply an explicit policy per problem, add features.

Every check is a row mask with a named policy, so the whole validation is one report:
- fail:  the data cannot be trusted; nothing is written and the error lists every finding.
- drop:  the row is removed (e.g. no usable close).
- blank: the suspect cells are emptied, the row kept (e.g. an OHLC bar whose high < low:
         the close is still good, the range is not).
- fix:   the data is reordered or de-duplicated without losing information.
- note:  reported only.
Real feeds need this: public SPX histories have opens that are the previous close (not
real opens), VIX bars with high below the close, and days without rates.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from volpred.config import Settings
from volpred.data import macro as macro_data
from volpred.data import realized as realized_data
from volpred.data.features import (
    AGE_SOURCES,
    ASYMMETRY,
    FEATURES,
    INTRADAY,
    INTRADAY_AGES,
    MARKET_AGES,
    TARGETS,
    VIX_DYNAMICS,
    add_asymmetry,
    add_features,
    add_intraday,
    add_targets,
    add_vix_dynamics,
    ages,
    macro_ages,
)
from volpred.data.rawcsv import MAX_EXAMPLES, read_raw_csv, summarize
from volpred.data.schema import DATE, NUMERIC_COLUMNS, RATES, RAW_COLUMNS, VIX_OHLC
from volpred.runtime.storage import read_json, staged_writes, write_csv, write_json, write_parquet

log = logging.getLogger(__name__)

#: The cleaned table: the cleaned raw columns, the models' features, the other measured inputs
#: and their ages, the macro columns (`macro_columns`), then the targets.
CLEANED_COLUMNS = list(
    dict.fromkeys(
        [*RAW_COLUMNS, *FEATURES, *ASYMMETRY, *VIX_DYNAMICS, *INTRADAY, *AGE_SOURCES, *TARGETS]
    )
)
Policy = Literal["fail", "drop", "blank", "fix", "note"]
SPX_BAR = ["spx_open", "spx_high", "spx_low"]
VIX_BAR = ["vix_open", "vix_high", "vix_low"]
#: Plausible bounds: outside them a value is a feed error, not a market event.
VIX_BOUNDS = (5.0, 150.0)
RATE_BOUNDS = (-5.0, 25.0)
SPREAD_TOLERANCE = 0.05


class DataValidationError(ValueError):
    """The raw data fails a check whose policy is `fail`; the message lists every finding."""


@dataclass(frozen=True)
class Check:
    kind: str
    policy: Policy
    column: str
    mask: pl.Expr
    blanks: tuple[str, ...] = ()


@dataclass
class Finding:
    kind: str
    policy: Policy
    column: str
    count: int
    dates: list[str]

    def describe(self) -> str:
        more = f" ... (+{self.count - len(self.dates)})" if self.count > len(self.dates) else ""
        dates = ", ".join(self.dates)
        return f"{self.kind} [{self.policy}] {self.column}: {self.count} on {dates}{more}"


@dataclass
class CleanResult:
    path: Path
    parquet_path: Path
    report_path: Path
    rows_in: int
    rows_out: int
    findings: list[Finding]
    nulls_before: dict[str, int]
    nulls_after: dict[str, int]
    synthetic: bool
    report: dict[str, Any] = field(repr=False, default_factory=dict)


def _bar_checks(prefix: str, bar: list[str], close: str) -> list[Check]:
    high, low, open_ = pl.col(f"{prefix}_high"), pl.col(f"{prefix}_low"), pl.col(f"{prefix}_open")
    c = pl.col(close)
    tol = 1e-9 * c.abs()
    cells = tuple(bar)
    return [
        Check(
            "non_positive_price",
            "blank",
            f"{prefix} bar",
            pl.any_horizontal([pl.col(b) <= 0 for b in bar]),
            cells,
        ),
        Check("high_below_low", "blank", f"{prefix}_high/{prefix}_low", high < low, cells),
        Check(
            "bar_excludes_open_or_close",
            "blank",
            f"{prefix} bar",
            (high < pl.max_horizontal(open_, c) - tol) | (low > pl.min_horizontal(open_, c) + tol),
            cells,
        ),
        Check(
            "flat_bar",
            "blank",
            f"{prefix} bar",
            (high == low) & (pl.col(f"{prefix}_high").is_not_null()),
            cells,
        ),
    ]


def row_checks(settings: Settings) -> list[Check]:
    """Checks on a sorted, de-duplicated frame with a positive close in every row."""
    close = pl.col("spx_close")
    prior_median = close.shift(1).rolling_median(5, min_samples=1)
    return [
        Check(
            "absurd_close",
            "drop",
            "spx_close",
            (close / prior_median).log().abs() > settings.max_close_jump,
        ),
        *_bar_checks("spx", SPX_BAR, "spx_close"),
        # An open exactly equal to the previous close is a feed filling in a missing open.
        Check(
            "stale_open",
            "blank",
            "spx_open",
            (pl.col("spx_open") - close.shift(1)).abs() <= 1e-9 * close,
            ("spx_open",),
        ),
        Check(
            "non_positive_volume", "blank", "spx_volume", pl.col("spx_volume") <= 0, ("spx_volume",)
        ),
        Check(
            "vix_out_of_bounds",
            "blank",
            "vix_close",
            ~pl.col("vix_close").is_between(*VIX_BOUNDS),
            tuple(VIX_OHLC),
        ),
        *_bar_checks("vix", VIX_BAR, "vix_close"),
        *[
            Check("rate_out_of_bounds", "blank", r, ~pl.col(r).is_between(*RATE_BOUNDS), (r,))
            for r in RATES
        ],
        Check(
            "spread_inconsistent",
            "note",
            "t10y2y",
            (pl.col("t10y2y") - (pl.col("dgs10") - pl.col("dgs2"))).abs() > SPREAD_TOLERANCE,
        ),
    ]


def _finding(frame: pl.DataFrame, check: Check, hits: pl.Series) -> Finding | None:
    count = int(hits.fill_null(False).sum())
    if not count:
        return None
    dates = frame.filter(hits.fill_null(False))[DATE].head(MAX_EXAMPLES).cast(pl.String).to_list()
    return Finding(check.kind, check.policy, check.column, count, dates)


def _apply(frame: pl.DataFrame, checks: list[Check]) -> tuple[pl.DataFrame, list[Finding]]:
    """Evaluate all checks on the same input, then blank cells and drop rows in one pass."""
    masks = frame.select([c.mask.fill_null(False).alias(str(i)) for i, c in enumerate(checks)])
    findings, drop = [], pl.Series([False] * frame.height)
    blanks: dict[str, pl.Series] = {}
    for i, check in enumerate(checks):
        hits = masks[str(i)]
        if (found := _finding(frame, check, hits)) is not None:
            findings.append(found)
        if check.policy == "drop":
            drop = drop | hits
        for cell in check.blanks:
            blanks[cell] = blanks.get(cell, pl.Series([False] * frame.height)) | hits
    frame = frame.with_columns(
        [pl.when(pl.lit(m)).then(None).otherwise(pl.col(c)).alias(c) for c, m in blanks.items()]
    )
    return frame.filter(~drop), findings


def _order_and_dedupe(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Finding]]:
    findings = []
    if not frame[DATE].is_sorted():
        findings.append(Finding("unsorted_dates", "fix", DATE, frame.height, []))
        frame = frame.sort(DATE, maintain_order=True)
    dup = frame[DATE].is_duplicated()
    if dup.any():
        repeated = frame.filter(dup)[DATE].unique().sort()
        findings.append(
            Finding(
                "duplicate_date",
                "drop",
                DATE,
                int(dup.sum()) - repeated.len(),
                repeated.head(MAX_EXAMPLES).cast(pl.String).to_list(),
            )
        )
        frame = frame.unique(DATE, keep="last", maintain_order=True)
    missing_close = frame["spx_close"].is_null() | (frame["spx_close"] <= 0)
    if missing_close.any():
        findings.append(
            Finding(
                "missing_or_non_positive_close",
                "drop",
                "spx_close",
                int(missing_close.sum()),
                frame.filter(missing_close)[DATE].head(MAX_EXAMPLES).cast(pl.String).to_list(),
            )
        )
        frame = frame.filter(~missing_close)
    return frame, findings


def validate(raw: pl.DataFrame, settings: Settings) -> tuple[pl.DataFrame, list[Finding]]:
    """Return the cleaned raw columns and every finding; raise if a `fail` policy is hit."""
    frame, findings = _order_and_dedupe(raw)
    frame, more = _apply(frame, row_checks(settings))
    findings += more
    if frame.height < settings.min_clean_rows:
        raise DataValidationError(
            f"only {frame.height} usable rows after cleaning (at least {settings.min_clean_rows} "
            "needed):\n" + "\n".join(f.describe() for f in findings)
        )
    return frame, findings


def fill_gaps(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    """Carry VIX and rates over short gaps (holidays of one market but not the other)."""
    return frame.with_columns(pl.col(["vix_close", *RATES]).forward_fill(limit=limit))


def null_counts(frame: pl.DataFrame, columns: list[str]) -> dict[str, int]:
    return {
        c: int(n) for c, n in frame.select(pl.col(columns).null_count()).row(0, named=True).items()
    }


def macro_columns(series: list[str]) -> list[str]:
    """Per macro series: its value, the observation date in use and that observation's age."""
    return [c for s in series for c in (s.lower(), f"{s.lower()}_obs_date", f"{s.lower()}_age")]


def cleaned_columns(series: list[str]) -> list[str]:
    return [*CLEANED_COLUMNS[: -len(TARGETS)], *macro_columns(series), *TARGETS]


def coverage(
    table: pl.DataFrame, inputs: dict[str, tuple[pl.Expr, str | None]]
) -> dict[str, dict[str, Any]]:
    """Per input (name -> the days it was observed on, its age column): first and last of those
    days, how many, and its age on the last row (trading days since last observed; 0 for an
    input every row has): what a reader needs to judge coverage and freshness."""
    out = {}
    for name, (observed, age) in inputs.items():
        dates = table.filter(observed)[DATE]
        latest = table[age][-1] if age and table.height else 0
        out[name] = {
            "first_date": str(dates.min()) if dates.len() else None,
            "last_date": str(dates.max()) if dates.len() else None,
            "rows": dates.len(),
            "age_days": None if latest is None else int(latest),
        }
    return out


def build_table(
    raw: pl.DataFrame,
    settings: Settings,
    realized: pl.DataFrame | None = None,
    macro: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The pure core of clean_data: raw canonical frame (+ daily realized measures, + macro
    observations with their availability dates) -> (cleaned table, report)."""
    nulls_before = null_counts(raw, NUMERIC_COLUMNS)
    valid, findings = validate(raw, settings)
    filled = fill_gaps(ages(valid, MARKET_AGES), settings.ffill_limit)
    table = add_asymmetry(add_targets(add_features(filled), settings.horizon))
    table = add_vix_dynamics(table)
    table = add_intraday(table, realized_data.empty_measures() if realized is None else realized)
    table = ages(table, INTRADAY_AGES)
    series = list(settings.macro_series) if macro is not None else []
    if macro is not None:
        table = macro_data.join_macro(table, macro, series)
        table = macro_ages(table, {f"{s.lower()}_age": f"{s.lower()}_obs_date" for s in series})
    table = table.select(cleaned_columns(series))
    # Observed, not carried over: a filled gap does not make an input fresh; a macro value
    # counts on the days a new observation arrived.
    inputs = {
        "spx": (pl.col("spx_close").is_not_null(), None),
        "vix": (pl.col("vix_age") == 0, "vix_age"),
        "treasuries": (pl.col("dgs10_age") == 0, "dgs10_age"),
        "realized": (pl.col("irv_age") == 0, "irv_age"),
    } | {
        s: (
            pl.col(f"{s.lower()}_obs_date").is_first_distinct().fill_null(False)
            & pl.col(f"{s.lower()}_obs_date").is_not_null(),
            f"{s.lower()}_age",
        )
        for s in series
    }
    report = {
        "rows_in": raw.height,
        "rows_out": table.height,
        "rows_dropped": raw.height - table.height,
        "first_date": str(table[DATE].min()),
        "last_date": str(table[DATE].max()),
        "findings": [f.__dict__ for f in findings],
        "policies": {f.kind: f.policy for f in findings},
        "nulls_before": nulls_before,
        "nulls_after_fill": null_counts(filled, NUMERIC_COLUMNS),
        "feature_nulls": null_counts(table, [*FEATURES, *TARGETS]),
        "input_nulls": null_counts(
            table, [*ASYMMETRY, *VIX_DYNAMICS, *INTRADAY, *macro_columns(series)]
        ),
        "inputs": coverage(table, inputs),
        "horizon": settings.horizon,
        "ffill_limit": settings.ffill_limit,
    }
    return table, report


def _read_checkpoint(path: Path) -> pl.DataFrame | None:
    """An optional input checkpoint of ingest_data; absent means "not ingested"."""
    if not path.is_file():
        return None
    try:
        return pl.read_parquet(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise DataValidationError(f"{path} is unreadable ({exc}); run volpred ingest") from exc


def clean(settings: Settings) -> CleanResult:
    started = time.perf_counter()
    log.info("clean_data start: %s", settings.raw_path)
    parsed = read_raw_csv(settings.raw_path)
    if parsed.problems:
        raise DataValidationError(
            f"schema check failed for {settings.raw_path}:\n{summarize(parsed.problems)}"
        )
    log.info(
        "clean_data: schema check passed (%d columns, %d rows)",
        len(RAW_COLUMNS),
        parsed.frame.height,
    )
    realized = _read_checkpoint(settings.realized_checkpoint)
    macro = _read_checkpoint(settings.macro_checkpoint)
    table, report = build_table(parsed.frame, settings, realized, macro)
    raw_meta = read_json(settings.raw_meta_path) or {}
    report |= {
        "source": raw_meta.get("source", "unknown"),
        "synthetic": bool(raw_meta.get("synthetic", False)),
        "raw_sha256": raw_meta.get("sha256"),
        "realized": read_json(settings.realized_meta_path),
        "macro": read_json(settings.macro_meta_path),
    }
    for name, entry in report["inputs"].items():
        log.info("clean_data: input %s covers %s", name, entry)
    for finding in report["findings"]:
        log.warning("clean_data: %s", Finding(**finding).describe())
    log.info("clean_data: null counts before %s", report["nulls_before"])
    log.info("clean_data: null counts after filling gaps %s", report["nulls_after_fill"])

    # The three files are one checkpoint: they replace the previous three together or not at all.
    with staged_writes() as stage:
        stage(settings.cleaned_parquet_path, write_parquet(table))
        stage(settings.cleaned_path, write_csv(table))
        stage(settings.cleaning_report_path, write_json(report))
    log.info(
        "clean_data end: rows in %d, out %d -> %s in %.2f s%s",
        report["rows_in"],
        report["rows_out"],
        settings.cleaned_path,
        time.perf_counter() - started,
        " (synthetic sample data)" if report["synthetic"] else "",
    )
    return CleanResult(
        path=settings.cleaned_path,
        parquet_path=settings.cleaned_parquet_path,
        report_path=settings.cleaning_report_path,
        rows_in=report["rows_in"],
        rows_out=report["rows_out"],
        findings=[Finding(**f) for f in report["findings"]],
        nulls_before=report["nulls_before"],
        nulls_after=report["nulls_after_fill"],
        synthetic=report["synthetic"],
        report=report,
    )
