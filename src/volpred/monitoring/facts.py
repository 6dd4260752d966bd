"""A run's facts and the checks on them, as pure functions.

`gather_facts` is the one place that decides what a run reports about itself: the served
model's latest forecast (vol and band), the VIX on that day, the gap between them, the model
version, the data's as-of dates and age, and each input's age from the cleaning report's
`inputs` section. `check` turns the facts into alerts against the thresholds in force. The
flow emits both as Prefect events; automations notify on the alerts. Adding a fact is a field
here and a line in `gather_facts`; adding a check is a kind in `ALERT_KINDS` and a branch in
`check` (and an automation in `deployments/automations.yaml`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from volpred.config import Settings
from volpred.model.card import ModelCard

#: Each alert kind: the Prefect event it is emitted as, and what it means.
ALERT_KINDS: dict[str, str] = {
    "forecast-vol-high": "the forecast vol is above the threshold",
    "forecast-vol-jump": "the forecast vol moved more than the threshold since the last run",
    "data-stale": "the data's last day, or an input's newest value, is older than allowed",
}
FACTS_EVENT = "volpred.run.facts"
ALERT_EVENT_PREFIX = "volpred.alert."
#: The resource every volpred event is about (automations match on it).
RESOURCE = {
    "prefect.resource.id": "volpred.forecast.spx-vol",
    "prefect.resource.name": "S&P 500 next-month volatility forecast",
}


@dataclass(frozen=True)
class Thresholds:
    """The values in force for one run's checks (from `Settings`), recorded with its facts so
    that an alert can say which threshold it crossed."""

    vol_above: float
    vol_jump: float
    max_data_age: int
    input_max_age: dict[str, int]

    @classmethod
    def from_settings(cls, settings: Settings) -> Thresholds:
        return cls(
            vol_above=settings.alert_vol_above,
            vol_jump=settings.alert_vol_jump,
            max_data_age=settings.alert_max_data_age,
            input_max_age=dict(settings.alert_input_max_age),
        )

    def input_limit(self, name: str) -> int:
        return self.input_max_age.get(name, self.input_max_age.get("*", self.max_data_age))


@dataclass(frozen=True)
class RunFacts:
    """What one run knows about its forecast and its data (vols as decimals, VIX in points)."""

    run_id: str
    at: str
    source: str
    synthetic: bool
    model_version: str
    forecast_date: str
    vol: float
    vol_lo: float
    vol_hi: float
    vix: float | None
    #: forecast vol minus the VIX, in vol points (the VIX's own unit)
    vol_minus_vix: float | None
    data_first_date: str | None
    data_last_date: str | None
    #: the day the data's age is measured against (today; the sample's own last day for it)
    as_of: str
    data_age_days: int | None
    inputs: dict[str, dict[str, Any]]
    stale_inputs: list[str]
    previous_vol: float | None
    previous_run_id: str | None
    thresholds: Thresholds

    @property
    def vol_change(self) -> float | None:
        return None if self.previous_vol is None else self.vol - self.previous_vol

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"vol_change": self.vol_change}


@dataclass(frozen=True)
class Alert:
    """One check that failed: its kind (`ALERT_KINDS`), one sentence, and the numbers."""

    kind: str
    message: str
    run_id: str
    at: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def event(self) -> str:
        return ALERT_EVENT_PREFIX + self.kind

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"event": self.event}


def trading_days_between(first: date, last: date) -> int:
    """Weekdays after `first` up to and including `last` (0 when `last` <= `first`): a
    Friday's data is 1 trading day old on Monday. Exchange holidays are counted as trading
    days, which only makes the check stricter by a day."""
    if last <= first:
        return 0
    return int(np.busday_count(first, last) + np.is_busday(last) - np.is_busday(first))


def reference_date(settings: Settings, today: date) -> date:
    """The day the data's age is measured against: today, or for the synthetic sample (whose
    history ends on a fixed day by design) its last day when that is earlier."""
    end = settings.end or (settings.sample_end if settings.source == "sample" else None)
    return min(today, end) if end else today


def gather_facts(
    *,
    card: ModelCard,
    cleaning: dict[str, Any],
    vix: float | None,
    previous: dict[str, Any] | None,
    settings: Settings,
    run_id: str,
    now: datetime,
) -> RunFacts:
    """The run's facts. `cleaning` is the cleaning report (its `inputs` section gives each
    input's last day and age in trading days on the last row), `vix` the VIX on the forecast's
    day, `previous` the last run's facts as recorded (None for the first run)."""
    forecast = card.latest_forecast
    if forecast is None:
        raise ValueError(f"the model card of version {card.version} has no latest_forecast")
    thresholds = Thresholds.from_settings(settings)
    last = cleaning.get("last_date") or card.data.last_date
    as_of = reference_date(settings, now.date())
    age = trading_days_between(date.fromisoformat(str(last)[:10]), as_of) if last else None
    inputs = {
        name: {"last_date": entry.get("last_date"), "age_days": entry.get("age_days")}
        for name, entry in (cleaning.get("inputs") or {}).items()
    }
    # Older than its alert limit, or missing from the latest forecast's inputs beyond its fill
    # limit (the forecast then came from a fallback without it)
    stale = sorted(
        {
            name
            for name, entry in inputs.items()
            if entry["age_days"] is not None and entry["age_days"] > thresholds.input_limit(name)
        }
        | {name for name in (forecast.stale_inputs or []) if name in inputs}
    )
    return RunFacts(
        run_id=run_id,
        at=now.isoformat(timespec="seconds"),
        source=str(cleaning.get("source") or card.data.source),
        synthetic=bool(cleaning.get("synthetic") or card.data.synthetic),
        model_version=card.version,
        forecast_date=forecast.date,
        vol=forecast.vol,
        vol_lo=forecast.vol_lo,
        vol_hi=forecast.vol_hi,
        vix=vix,
        vol_minus_vix=None if vix is None else round(100 * forecast.vol - vix, 4),
        data_first_date=str(cleaning.get("first_date") or card.data.first_date or "") or None,
        data_last_date=str(last) if last else None,
        as_of=as_of.isoformat(),
        data_age_days=age,
        inputs=inputs,
        stale_inputs=stale,
        previous_vol=None if previous is None else previous.get("vol"),
        previous_run_id=None if previous is None else previous.get("run_id"),
        thresholds=thresholds,
    )


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def check(facts: RunFacts) -> list[Alert]:
    """The alerts the facts raise against their thresholds, in `ALERT_KINDS` order."""
    t = facts.thresholds
    base = {"run_id": facts.run_id, "at": facts.at}
    numbers = {"vol": facts.vol, "model_version": facts.model_version}
    alerts = []
    if facts.vol > t.vol_above:
        alerts.append(
            Alert(
                "forecast-vol-high",
                f"Forecast vol {_pct(facts.vol)} (as of {facts.forecast_date}, band "
                f"{_pct(facts.vol_lo)}-{_pct(facts.vol_hi)}) is above the threshold "
                f"{_pct(t.vol_above)}.",
                details=numbers | {"threshold": t.vol_above},
                **base,
            )
        )
    change = facts.vol_change
    if change is not None and abs(change) > t.vol_jump:
        alerts.append(
            Alert(
                "forecast-vol-jump",
                f"Forecast vol moved {100 * change:+.1f} points since the last run "
                f"({_pct(facts.previous_vol or 0)} -> {_pct(facts.vol)}), more than "
                f"{100 * t.vol_jump:.1f}.",
                details=numbers
                | {"previous_vol": facts.previous_vol, "change": change, "threshold": t.vol_jump},
                **base,
            )
        )
    old = facts.data_age_days is not None and facts.data_age_days > t.max_data_age
    if old or facts.stale_inputs:
        parts = []
        if old:
            parts.append(
                f"the data end on {facts.data_last_date}, {facts.data_age_days} trading days "
                f"before {facts.as_of} (more than {t.max_data_age})"
            )
        for name in facts.stale_inputs:
            entry = facts.inputs[name]
            parts.append(
                f"{name} last observed {entry['last_date']}, {entry['age_days']} trading days "
                f"old (more than {t.input_limit(name)})"
            )
        alerts.append(
            Alert(
                "data-stale",
                "Stale data: " + "; ".join(parts) + ".",
                details={
                    "data_last_date": facts.data_last_date,
                    "data_age_days": facts.data_age_days,
                    "max_data_age": t.max_data_age,
                    "stale_inputs": {n: facts.inputs[n] for n in facts.stale_inputs},
                },
                **base,
            )
        )
    return alerts
