"""The run's facts and checks, as pure functions: each threshold crossed and not crossed, the
data's age in trading days, each input's own limit."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.support.cards import make_card
from volpred.config import Settings
from volpred.monitoring.facts import (
    ALERT_KINDS,
    check,
    gather_facts,
    reference_date,
    trading_days_between,
)

NOW = datetime(2026, 1, 12, 22, 0, tzinfo=UTC)  # a Monday evening


def cleaning(last: str = "2026-01-12", **ages: int) -> dict:
    inputs = {"spx": {"last_date": last, "age_days": 0}, "vix": {"last_date": last, "age_days": 0}}
    inputs |= {name: {"last_date": "2025-12-01", "age_days": age} for name, age in ages.items()}
    return {"source": "live", "synthetic": False, "first_date": "2010-01-04",
            "last_date": last, "inputs": inputs}  # fmt: skip


def facts(settings: Settings, *, vol: float = 0.15, previous: dict | None = None, **kw):
    band = {"vol_lo": vol * 0.8, "vol_hi": vol * 1.3, "ret": 0.005, "ret_lo": -0.06, "ret_hi": 0.05}
    latest = {"date": "2026-01-12", "vol": vol} | band | kw.pop("latest", {})
    card = make_card(version="20260112T220000Z", latest_forecast=latest)
    return gather_facts(
        card=card,
        cleaning=kw.pop("report", cleaning()),
        vix=kw.pop("vix", 18.0),
        previous=previous,
        settings=settings.with_overrides(source="live"),
        run_id="run-1",
        now=NOW,
    )


def test_trading_days_count_weekdays_after_the_last_day():
    assert trading_days_between(date(2026, 1, 9), date(2026, 1, 12)) == 1  # Fri -> Mon
    assert trading_days_between(date(2026, 1, 12), date(2026, 1, 12)) == 0
    assert trading_days_between(date(2026, 1, 2), date(2026, 1, 12)) == 6
    assert trading_days_between(date(2026, 1, 12), date(2026, 1, 9)) == 0


def test_the_sample_is_measured_against_its_own_last_day(settings):
    assert reference_date(settings, date(2026, 6, 1)) == settings.sample_end
    assert reference_date(settings.with_overrides(source="live"), date(2026, 6, 1)) == date(
        2026, 6, 1
    )


def test_a_quiet_run_raises_nothing_and_records_its_facts(settings):
    f = facts(settings)
    assert check(f) == []
    d = f.as_dict()
    assert d["vol"] == 0.15 and d["vix"] == 18.0 and d["vol_minus_vix"] == pytest.approx(-3.0)
    assert d["data_age_days"] == 0 and d["stale_inputs"] == [] and d["vol_change"] is None
    assert d["thresholds"]["vol_above"] == 0.30 and d["model_version"]


def test_each_check_fires_past_its_threshold(settings):
    high = check(facts(settings, vol=0.31))
    assert [a.kind for a in high] == ["forecast-vol-high"]
    assert "above the threshold 30.0%" in high[0].message
    assert high[0].event == "volpred.alert.forecast-vol-high"

    jump = check(facts(settings, vol=0.21, previous={"vol": 0.15, "run_id": "run-0"}))
    assert [a.kind for a in jump] == ["forecast-vol-jump"]
    assert "+6.0 points" in jump[0].message
    assert check(facts(settings, vol=0.19, previous={"vol": 0.15})) == []  # 4 points

    old = check(facts(settings, report=cleaning(last="2026-01-06")))
    assert [a.kind for a in old] == ["data-stale"] and "4 trading days" in old[0].message


def test_each_input_has_its_own_limit(settings):
    # A monthly series 42 days old is fresh; a daily one 6 days old is not.
    report = cleaning(CFNAI=42, DGS30=6)
    f = facts(settings, report=report)
    assert f.stale_inputs == ["DGS30"]
    (alert,) = check(f)
    assert alert.kind == "data-stale" and "DGS30 last observed" in alert.message
    assert "CFNAI" not in alert.message


def test_thresholds_come_from_the_settings(settings):
    strict = settings.with_overrides(alert_vol_above=0.1, alert_input_max_age={"*": 0})
    f = facts(strict, report=cleaning(ANFCI=1))
    assert [a.kind for a in check(f)] == ["forecast-vol-high", "data-stale"]
    assert set(ALERT_KINDS) == {"forecast-vol-high", "forecast-vol-jump", "data-stale"}


def test_an_input_the_forecast_went_without_is_stale(settings):
    """The cleaning report's age is within the alert limit, but the latest forecast had to do
    without the VIX (beyond its fill limit): the run says so."""
    f = facts(settings, latest={"stale_inputs": ["vix"], "fallback": "ensemble without harx"})
    assert f.stale_inputs == ["vix"]
    assert any(a.kind == "data-stale" for a in check(f))
