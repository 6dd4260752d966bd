"""Request and response models of the API: they validate every request and the OpenAPI
description is generated from them (`openapi.py`), so the documentation cannot drift from the
checks.

Each model input has a plausible range; a value outside it is refused (422) rather than fed to
a model that was never trained near it.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from volpred.data.features import FEATURES

MAX_ROWS = 1000
DATE_PATTERN = r"^(latest|\d{4}-\d{2}-\d{2})$"

#: name -> (lowest, highest) accepted value. Vols are annualised decimals, returns log returns,
#: the VIX in points, yields and spreads in percentage points.
INPUT_RANGES: dict[str, tuple[float, float]] = {
    "ret": (-0.5, 0.5),
    "rv1": (0.0, 8.0),
    "rv5": (0.0, 5.0),
    "rv21": (0.0, 3.0),
    "rv63": (0.0, 3.0),
    "parkinson21": (0.0, 3.0),
    "garman_klass21": (0.0, 3.0),
    "vix": (5.0, 150.0),
    "vix_var_month": (0.0, 2.0),
    "vrp": (-3.0, 2.0),
    "vrp_ratio": (0.0, 50.0),
    "term_spread": (-5.0, 6.0),
    "dgs10": (-2.0, 25.0),
    "mom21": (-1.0, 1.0),
    "drawdown": (-1.0, 0.0),
    "garch_vol": (0.0, 3.0),
}
INPUT_DESCRIPTIONS = FEATURES | {
    "garch_vol": "GJR-GARCH one-day conditional vol, annualised (default: implied by the RVs)"
}
STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
#: Query strings are text: dates and choices are parsed from it, unknown parameters refused.
QUERY = ConfigDict(extra="forbid", allow_inf_nan=False)


def _input_field(name: str) -> tuple[Any, Any]:
    low, high = INPUT_RANGES[name]
    return (
        float | None,
        Field(None, ge=low, le=high, description=INPUT_DESCRIPTIONS[name], allow_inf_nan=False),
    )


#: What-if model inputs; any subset may be given, the rest take the model's defaults.
Features = create_model(
    "Features",
    __config__=STRICT,
    __doc__="Model inputs for a what-if forecast; absent ones take the model's defaults.",
    **{name: _input_field(name) for name in INPUT_RANGES},
)


def _check_date(value: Any) -> Any:
    """Before type checks: an explicit null is refused (the schema has no null), a string must
    be 'latest' or a real calendar date; other types fail the type check after this."""
    if value is None:
        raise ValueError("may not be null: leave it out instead")
    if not isinstance(value, str) or value == "latest":
        return value
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a calendar date (YYYY-MM-DD)") from exc
    return value


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may not be null: leave it out instead")
    return value


def _one_of(*groups: tuple[str, ...]) -> dict[str, Any]:
    """JSON schema: at least one key of exactly one group is present."""
    present = [{"anyOf": [{"required": [k]} for k in g]} for g in groups]
    if len(present) == 1:
        return present[0]
    return {
        "oneOf": [
            {**p, "not": {"anyOf": [q for j, q in enumerate(present) if j != i]}}
            for i, p in enumerate(present)
        ]
    }


def _absent_not_null(schema: dict[str, Any]) -> None:
    """JSON schema of a field that may be left out but not sent as null: neither the null
    branch nor the null default is shown (a default must match its schema in OpenAPI 3.1).

    The type stays `X | None`, a nullable schema to pydantic rather than a union, so that a
    validation error's location holds only field names and indices, never a union branch."""
    schema.pop("default", None)
    branches = [b for b in schema.pop("anyOf") if b != {"type": "null"}]
    (kept,) = branches
    schema.update(kept)


#: Optional in a request, never null (the field's `BeforeValidator` refuses null).
NotNull = Field(json_schema_extra=_absent_not_null)

DateField = Annotated[
    str | None,
    Field(
        pattern=DATE_PATTERN,
        description="'latest' or YYYY-MM-DD (the last trading day on or before it)",
        examples=["latest", "2020-03-16"],
    ),
    NotNull,
    BeforeValidator(_check_date),
]
FeaturesField = Annotated[Features | None, NotNull, BeforeValidator(_not_null)]  # type: ignore[valid-type]


class PredictRow(BaseModel):
    """One forecast: a date (its cleaned inputs), what-if features, or a date's inputs
    changed by the given features."""

    model_config = STRICT | ConfigDict(json_schema_extra=_one_of(("date", "features")))
    date: DateField = None
    features: FeaturesField = None

    @model_validator(mode="after")
    def _some(self) -> PredictRow:
        if self.date is None and self.features is None:
            raise ValueError("give 'date', 'features' or both")
        return self

    def changes(self) -> dict[str, float]:
        return self.features.model_dump(exclude_none=True) if self.features else {}


class PredictRequest(BaseModel):
    """A single forecast request (`date` and/or `features`) or a batch (`rows`)."""

    model_config = STRICT | ConfigDict(json_schema_extra=_one_of(("date", "features"), ("rows",)))
    date: DateField = None
    features: FeaturesField = None
    rows: Annotated[
        list[PredictRow] | None,
        Field(min_length=1, max_length=MAX_ROWS),
        NotNull,
        BeforeValidator(_not_null),
    ] = None

    @model_validator(mode="after")
    def _single_or_batch(self) -> PredictRequest:
        single = self.date is not None or self.features is not None
        if single and self.rows is not None:
            raise ValueError("give either 'rows' or a single 'date'/'features', not both")
        if not single and self.rows is None:
            raise ValueError("give 'date', 'features' or 'rows'")
        return self

    def as_rows(self) -> list[PredictRow]:
        if self.rows is not None:
            return self.rows
        return [PredictRow.model_construct(date=self.date, features=self.features)]


class PredictQuery(BaseModel):
    """`GET /predict?date=...`"""

    model_config = QUERY
    date: str = Field(
        "latest", pattern=DATE_PATTERN, description="'latest' or YYYY-MM-DD", examples=["latest"]
    )

    _date = field_validator("date", mode="before")(classmethod(lambda cls, v: _check_date(v)))


class Forecast(BaseModel):
    ret: float = Field(description="predicted log return over the horizon")
    ret_lo: float = Field(description="lower end of the return band")
    ret_hi: float = Field(description="upper end of the return band")
    vol: float = Field(description="predicted realized vol over the horizon, annualised")
    vol_lo: float = Field(description="lower end of the vol band")
    vol_hi: float = Field(description="upper end of the vol band")
    horizon_days: int = Field(description="trading days ahead")
    as_of: str | None = Field(description="the data date of the inputs (null: what-if only)")
    model_version: str
    synthetic_data: bool = Field(description="the model was trained on the synthetic sample")
    inputs_as_of: dict[str, str | None] = Field(
        description="per input source (spx, vix, treasuries, realized, or a macro series id): "
        "the day it was last observed on the data date (YYYY-MM-DD; null: never before it); "
        "empty for what-if rows without a date",
        examples=[{"spx": "2018-12-31", "vix": "2018-11-30", "treasuries": "2018-12-31"}],
    )
    stale_inputs: list[str] = Field(
        description="sources with an input missing from the row, sorted: on a data date, "
        "stopped longer ago than their fill limit (never replaced by a constant); in a what-if "
        "row, also those neither given nor on its date",
        examples=[["vix"]],
    )
    vol_model: str = Field(description="the forecaster that answered the volatility")
    ret_model: str = Field(description="the forecaster that answered the return")
    fallback: str | None = Field(
        description="the fallback that answered the volatility because an input was missing "
        "(e.g. 'ensemble without vix'); null when the model's own forecaster did",
        examples=[None, "ensemble without vix"],
    )
    return_fallback: str | None = Field(
        description="the same for the return forecast (e.g. 'hist_mean'); null: its own",
        examples=[None, "hist_mean"],
    )


class PredictResponse(BaseModel):
    model_version: str
    predictions: list[Forecast]


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD: pydantic's lax parsing would also take '0' as 1970-01-01."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")
    return value


QueryDate = Annotated[date | None, NotNull, BeforeValidator(_iso_date)]


class DateRange(BaseModel):
    """`start`/`end` of a data query; both optional, inclusive."""

    model_config = QUERY
    start: QueryDate = Field(None, description="first date (YYYY-MM-DD)")
    end: QueryDate = Field(None, description="last date (YYYY-MM-DD)")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start and self.end and self.start > self.end:
            raise ValueError("start is after end")
        return self


class PlotQuery(DateRange):
    """`GET /plot`: which figure, in which format, over which dates."""

    kind: Literal["history", "forecast", "residuals"] = "history"
    format: Literal["json", "html", "png", "svg"] = "json"


class Columns(BaseModel):
    """A table, column by column (nulls as null)."""

    columns: list[str]
    data: dict[str, list[Any]]


class Ready(BaseModel):
    ready: bool
    model_version: str | None = None
    data_first: str | None = None
    data_as_of: str | None = None
    synthetic_data: bool | None = None
    loaded_at: str | None = None
    reload_error: str | None = Field(
        None, description="why the newest model or data could not be loaded (older one served)"
    )
    error: str | None = Field(None, description="why nothing can be served")


class Health(BaseModel):
    status: Literal["ok"]


class DataQuality(BaseModel):
    cleaning_report: dict[str, Any]
    raw_meta: dict[str, Any]


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str = Field(description="what kind of problem")
    detail: str = Field(description="what exactly was wrong")
    field: str | None = Field(None, description="the request field at fault, dotted")
