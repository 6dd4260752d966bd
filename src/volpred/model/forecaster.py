"""predict(): the one way every consumer (API, dashboard, report) gets forecasts.

A `Forecaster` pairs a loaded model with the cleaned table's model inputs and the model's
forecast for every cleaned row, computed once at load (one vectorised call): a date request is
then a row lookup, which is what lets the API answer it about as fast as a health check. A
what-if request builds its row from the user's values (`models.final.what_if_rows`), optionally
on top of a date's inputs. Both return the same records.

Every record says how fresh its inputs were and which model answered. An input's source (the
VIX, the Treasury yields, the intraday measures, a macro series, the SPX close itself:
`features.INPUT_SOURCES`) that stopped longer ago than its fill limit (`Settings.fill_limits`)
is missing in the cleaned table, never a constant; the model then answers from a fallback that
does not need it, and the record names both (`stale_inputs`, `fallback`, `return_fallback`)
with each source's last observation (`inputs_as_of`). When no fallback works without it, the
request is refused with the input and its last date named (`PredictionInputError`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import polars as pl

from volpred.config import DEFAULT_FILL_LIMITS, Settings
from volpred.data.features import SOURCE_LABELS, SPX, as_of_dates, input_sources
from volpred.model.card import ModelCard
from volpred.model.final import (
    GARCH_DEFAULT_INPUTS,
    OUTPUT_KEYS,
    VolpredModel,
    feature_matrix,
    what_if_rows,
)
from volpred.model.store import load_version

#: Inputs recomputed from others when a what-if row changes those (see `what_if_rows`).
DERIVED = {
    "vix_var_month": ("vix",),
    "vrp": ("vix", "rv21"),
    "vrp_ratio": ("vix", "rv21"),
    "vrp_neg": ("vix", "rv21"),
}
DERIVED_RV1 = ("rv1", ("ret",))


class PredictionInputError(ValueError):
    """A request the model cannot answer (date outside the data, unknown input...)."""


@dataclass
class InputDates:
    """Where each model input comes from and when each source was last observed, per row."""

    sources: dict[str, str]  # feature name -> source (`features.input_source`)
    as_of: dict[str, np.ndarray]  # source -> datetime64[D] per row (NaT: never observed)
    fill_limits: dict[str, int]  # trading days a source's last value is carried

    @classmethod
    def of(
        cls, model: VolpredModel, table: pl.DataFrame, settings: Settings | None = None
    ) -> InputDates:
        """From a date-sorted cleaned table, for the model's inputs (its `garch_vol` is
        filtered from SPX returns)."""
        series = list(settings.macro_series) if settings else []
        limits = dict(settings.fill_limits) if settings else dict(DEFAULT_FILL_LIMITS)
        names = [n for n in model.feature_names if n in table.columns]
        sources = input_sources(model.feature_names, series)
        dates = as_of_dates(table, names, series)
        as_of = {
            source: dates[source].to_numpy().astype("datetime64[D]")
            if source in dates.columns
            else table["date"].to_numpy().astype("datetime64[D]")
            for source in dict.fromkeys(sources.values())
        }
        return cls(sources=sources, as_of=as_of, fill_limits=limits)


@dataclass
class Forecaster:
    model: VolpredModel
    card: ModelCard
    dates: np.ndarray  # datetime64[D], sorted
    X: np.ndarray  # model inputs per cleaned row
    outputs: dict[str, np.ndarray]  # model.predict(X): the forecast for every cleaned row
    inputs: InputDates | None = None  # None: every input counts as observed on its row

    @property
    def version(self) -> str:
        return str(self.card.version)

    @property
    def synthetic(self) -> bool:
        """Whether the model was trained on the synthetic sample: every answer says so."""
        return self.card.data.synthetic

    @property
    def latest_date(self) -> date:
        return self.dates[-1].astype(object)


def load_forecaster(
    settings: Settings, version: str | None = None, table: pl.DataFrame | None = None
) -> Forecaster:
    """Load `version` (default: latest) and precompute its inputs and forecasts for every
    cleaned row (of `table`, default: the cleaned checkpoint)."""
    model, card = load_version(settings.artifacts_dir, version)
    model.version = card.version
    if table is None:
        table = pl.read_parquet(settings.cleaned_parquet_path)
    table = table.sort("date")
    X = feature_matrix(table, model)
    return Forecaster(
        model=model,
        card=card,
        dates=table["date"].to_numpy().astype("datetime64[D]"),
        X=X,
        outputs=model.predict(X),
        inputs=InputDates.of(model, table, settings),
    )


def resolve_dates(forecaster: Forecaster, requested: Sequence[str | date]) -> np.ndarray:
    """Row index of each date: `latest`, a trading day, or the last trading day before it."""
    first, last = forecaster.dates[0], forecaster.dates[-1]
    rows = []
    for value in requested:
        if isinstance(value, str) and value.lower() == "latest":
            rows.append(len(forecaster.dates) - 1)
            continue
        try:
            day = np.datetime64(value, "D")
        except ValueError as exc:
            raise PredictionInputError(f"not a date: {value!r} (use YYYY-MM-DD)") from exc
        if day < first or day > last:
            raise PredictionInputError(f"date {day} is outside the data ({first} .. {last})")
        rows.append(int(np.searchsorted(forecaster.dates, day, side="right")) - 1)
    return np.asarray(rows, dtype=np.int64)


def missing_sources(model: VolpredModel, sources: Mapping[str, str], x: np.ndarray) -> list[str]:
    """Sources with an input missing (NaN) in the model inputs `x` of one row, sorted;
    `garch_vol` is the model's own (derived from the RV inputs when absent), never missing."""
    return sorted(
        {
            sources.get(name, SPX)
            for name, value in zip(model.feature_names, x.tolist(), strict=True)
            if name != "garch_vol" and not math.isfinite(value)
        }
    )


def _label(source: str) -> str:
    return SOURCE_LABELS.get(source, source)


def _answered_by(out: Mapping[str, np.ndarray], key: str, i: int, primary: str) -> str | None:
    """The forecaster that answered row i: the model's own output when it says (a fallback's
    name, None when nothing could), else the primary when the number is finite."""
    names = out.get(f"{key}_model")
    if names is not None:
        name = names[i]
        return None if name is None else str(name)
    return primary if math.isfinite(float(out[key][i])) else None


def refusal(
    dates: np.ndarray,
    inputs: InputDates | None,
    row: int | None,
    missing: Sequence[str],
    what: str,
) -> PredictionInputError:
    """Why a row (of the cleaned `dates`, None: a what-if row without one) cannot be forecast,
    naming each missing source and its last observation."""
    if row is None:
        named = " and ".join(_label(s) for s in missing) or "an input"
        return PredictionInputError(
            f"no {what} forecast for these inputs: {named} is not given and no fallback model "
            "works without it"
        )
    day = dates[row]
    reasons = []
    for source in missing:
        last = inputs.as_of[source][row] if inputs else np.datetime64("NaT")
        limit = inputs.fill_limits.get(source) if inputs else None
        if source == SPX:
            reasons.append(f"{_label(source)} has too little history for every input on {day}")
        elif np.isnat(last):
            reasons.append(f"{_label(source)} has no value on or before {day}")
        else:
            age = row - int(np.searchsorted(dates, last, side="left"))
            beyond = f", beyond its fill limit of {limit}" if limit is not None else ""
            reasons.append(
                f"{_label(source)} was last observed on {last} ({age} trading days earlier{beyond})"
            )
    text = "; ".join(reasons) or "an input is missing or out of range"
    no = "no fallback model works without it" if missing else "the model cannot use the inputs"
    return PredictionInputError(f"no {what} forecast for {day}: {text} and {no}")


def status(
    model: VolpredModel,
    dates: np.ndarray,
    inputs: InputDates | None,
    out: Mapping[str, np.ndarray],
    i: int,
    x: np.ndarray,
    row: int | None,
) -> dict[str, Any]:
    """The freshness fields of the forecast `out[...][i]` from model inputs `x` (on cleaned
    row `row` of `dates`, None: a what-if row without a date): each source's last observation
    on the data date, the sources missing from the row, and the forecasters that answered
    (fallbacks named). Raises `PredictionInputError` when no forecaster could answer."""
    sources = inputs.sources if inputs else {}
    missing = missing_sources(model, sources, x)
    vol_model = _answered_by(out, "vol", i, model.vol_kind)
    ret_model = _answered_by(out, "ret", i, model.ret_kind)
    values = [float(out[k][i]) for k in OUTPUT_KEYS]
    if vol_model is None or ret_model is None or not all(map(math.isfinite, values)):
        what = "volatility" if vol_model is None else "return" if ret_model is None else ""
        raise refusal(dates, inputs, row, missing, what or "usable")
    as_of: dict[str, str | None] = {}
    if row is not None and inputs is not None:
        for source, days in inputs.as_of.items():
            as_of[source] = None if np.isnat(days[row]) else str(days[row])
    return {
        "inputs_as_of": as_of,
        "stale_inputs": missing,
        "vol_model": vol_model,
        "ret_model": ret_model,
        # With every input present the primary answered, whatever its label says.
        "fallback": None if not missing or vol_model == model.vol_kind else vol_model,
        "return_fallback": None if not missing or ret_model == model.ret_kind else ret_model,
    }


def _records(
    forecaster: Forecaster,
    out: dict[str, np.ndarray],
    X: np.ndarray,
    rows: Sequence[int | None],
) -> list[dict[str, Any]]:
    records = []
    for i, row in enumerate(rows):
        fresh = status(forecaster.model, forecaster.dates, forecaster.inputs, out, i, X[i], row)
        records.append(
            {k: float(out[k][i]) for k in OUTPUT_KEYS}
            | {
                "horizon_days": forecaster.model.horizon,
                "as_of": None if row is None else str(forecaster.dates[row]),
                "model_version": forecaster.version,
                "synthetic_data": forecaster.synthetic,
            }
            | fresh
        )
    return records


def _move_vix_dynamics(base: dict[str, float], changes: Mapping[str, float | None]) -> None:
    """A VIX changed on a day moves that day's VIX dynamics with it: its changes over 5 and 21
    days by the log ratio, its 63-day mean by a 63rd of the difference. Without the day's own
    VIX (stale) they stay as they are: missing, since the past they need is not known."""
    old, new = base.get("vix", math.nan), changes.get("vix")
    if new is None or not math.isfinite(old) or old <= 0 or new <= 0:
        return
    shift = math.log(new / old)
    for name in ("vix_chg5", "vix_chg21"):
        if name in base and name not in changes:
            base[name] += shift
    rel = base.get("vix_rel63", math.nan)
    if math.isfinite(rel) and "vix_rel63" not in changes:
        base["vix_rel63"] = math.log(new / (old / math.exp(rel) + (new - old) / 63))


def _on_date(
    forecaster: Forecaster, row: int, changes: Mapping[str, float | None]
) -> dict[str, float]:
    """A what-if row: the inputs of cleaned row `row` with `changes` applied; inputs derived
    from a changed one are dropped so that `what_if_rows` recomputes them, and the GARCH state
    too when a realized-vol input changes (it then follows the given RVs, not that day)."""
    names = forecaster.model.feature_names
    base = dict(zip(names, forecaster.X[row].tolist(), strict=True))
    changed = set(changes)
    _move_vix_dynamics(base, changes)
    for name, sources in (*DERIVED.items(), DERIVED_RV1):
        if changed & set(sources) and name not in changed:
            base.pop(name, None)
    if changed & set(GARCH_DEFAULT_INPUTS) and "garch_vol" not in changed:
        base.pop("garch_vol", None)
    return {k: v for k, v in base.items() if math.isfinite(v)} | dict(changes)


def predict(
    forecaster: Forecaster,
    *,
    dates: Sequence[str | date] | None = None,
    features: Mapping[str, float] | Sequence[Mapping[str, float]] | None = None,
) -> list[dict[str, Any]]:
    """Forecasts for the given dates (features from the cleaned data), for what-if inputs, or,
    with both (one date per feature set), for each date's inputs changed by its features.

    Each record: ret, ret_lo, ret_hi (horizon log return and its band), vol, vol_lo, vol_hi
    (annualised realized vol), horizon_days, as_of (the data date, None for what-if rows
    without a date), model_version, synthetic_data, and the inputs' freshness: inputs_as_of
    ({source: last observation on the data date}), stale_inputs (sources with an input
    missing from the row), vol_model and ret_model (the forecasters that answered), fallback
    and return_fallback (the same, or None when it is the model's primary). A date keeps a
    stale input missing unless its features give it.
    """
    if dates is None and features is None:
        raise PredictionInputError("give dates, features or both")
    rows = resolve_dates(forecaster, dates) if dates is not None else None
    if features is None:
        out = {k: v[rows] for k, v in forecaster.outputs.items()}
        return _records(forecaster, out, forecaster.X[rows], rows.tolist())
    records = [features] if isinstance(features, Mapping) else list(features)
    if rows is not None:
        if len(rows) != len(records):
            raise PredictionInputError("give one date per set of features")
        records = [_on_date(forecaster, r, f) for r, f in zip(rows, records, strict=True)]
    try:
        X = what_if_rows(forecaster.model, records)
    except ValueError as exc:
        raise PredictionInputError(str(exc)) from exc
    at: list[int | None] = [None] * len(X) if rows is None else rows.tolist()
    return _records(forecaster, forecaster.model.predict(X), X, at)


def latest_forecast(
    model: VolpredModel, table: pl.DataFrame, settings: Settings | None = None
) -> dict[str, Any]:
    """The forecast from the last cleaned row (`latest`: the last SPX close) with its freshness
    fields, as `predict` answers it: for the model card, written before the model has a
    version. Raises `PredictionInputError` when no model can forecast that row."""
    table = table.sort("date")
    X = feature_matrix(table, model)
    dates = table["date"].to_numpy().astype("datetime64[D]")
    out = model.predict(X[-1:])
    inputs = InputDates.of(model, table, settings)
    row = len(dates) - 1
    fresh = status(model, dates, inputs, out, 0, X[-1], row)
    return {"date": str(dates[row])} | {k: float(out[k][0]) for k in OUTPUT_KEYS} | fresh
