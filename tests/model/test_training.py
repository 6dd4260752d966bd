"""train(): walk-forward metrics, OOS predictions, hyperparameters and logs, on synthetic data."""

from __future__ import annotations

import json
import logging

import pytest

from tests.support.markets import SMALL, sample_raw, table_of
from volpred.config import Settings
from volpred.model.training import TrainResult, train
from volpred.model.walkforward import WalkForwardConfig


@pytest.fixture(scope="module")
def result() -> TrainResult:
    table = table_of(sample_raw(end=__import__("datetime").date(2011, 12, 30)))
    return train(table, Settings(horizon=21), **(SMALL | {"use_gbm": False}))


def test_metrics_are_strict_json_with_every_sample_and_model(result):
    text = json.dumps(result.metrics, allow_nan=False)
    m = json.loads(text)
    for sample in ("overall", "from_2010"):
        s = m[sample]
        assert {"har", "rw", "vix", "vix_cal", "garch", "harx_gjr", "selected"} <= set(s["vol"])
        assert {"hist_mean", "zero", "vrp_ct", "selected"} <= set(s["ret"])
        sel = s["vol"]["selected"]
        assert {"rmse", "r2", "mae", "qlike", "oos_r2", "dm_mse", "dm_qlike"} <= set(sel)
        assert {"hist_mean", "zero"} == set(s["ret"]["selected"]["oos_r2"])
        assert "clark_west" in s["ret"]["vrp_ct"] and "hit_rate" in s["ret"]["vrp_ct"]
        assert 0 <= s["intervals"]["vol_coverage"] <= 1
    assert list(m["by_year"]) == [str(y) for y in range(2004, 2012)]
    final = m["final_model"]
    assert final["choice"]["vol"] == "ensemble"
    assert set(final["ensemble_weights"]) == {"harx", "gjr", "vix_cal", "har"}
    assert sum(final["ensemble_weights"].values()) == pytest.approx(1.0)
    assert 0.6 <= final["vol_band_level"] <= 0.95
    assert all("vol_band_level" in b for b in m["blocks"])


def test_predictions_and_hyperparameters(result):
    p = result.predictions
    assert {
        "date",
        "evaluated",
        "target_vol",
        "target_ret",
        "vol_har",
        "vol_selected",
        "vol_lo",
        "vol_hi",
        "ret_hist_mean",
        "ret_selected",
        "ret_lo",
        "ret_hi",
    } <= set(p.columns)
    assert p["date"].is_sorted()
    h = result.hyperparameters
    assert h["walkforward"]["gap"] >= h["walkforward"]["horizon"] == 21
    assert len(h["per_block"]) == len(result.walkforward.blocks)
    json.dumps(h, allow_nan=False)


def test_train_logs_start_end_hyperparameters_and_scores(caplog):
    table = table_of(sample_raw(end=__import__("datetime").date(2007, 12, 31)))
    with caplog.at_level(logging.INFO, logger="volpred"):
        train(table, Settings(horizon=21), **(SMALL | {"use_gbm": False, "selection_years": 1.0}))
    text = caplog.text
    for needle in (
        "train_model start",
        "train_model end",
        "hyperparameters",
        "R2",
        "RMSE",
        "coverage",
        "adaptive vol band level",
    ):
        assert needle in text


def test_walkforward_fields_come_from_settings():
    s = Settings(horizon=10, seed=3, refit_every=126, min_train_years=5, interval_level=0.9)
    cfg = WalkForwardConfig.from_settings(s)
    assert (cfg.horizon, cfg.gap, cfg.refit_every, cfg.min_train_years, cfg.interval_level) == (
        10,
        10,
        126,
        5,
        0.9,
    )
    assert WalkForwardConfig.from_settings(Settings(horizon=10, wf_gap=15)).gap == 15
    assert WalkForwardConfig.from_settings(Settings()).refit_every == 21


def test_the_evidence_table_regimes_and_decades_are_reported(result):
    m = result.metrics
    ev = m["evidence"]
    assert ev["variant"] == result.model.info["choice"]["vol_variants"]["harx"]
    assert set(ev["groups"]) == {"realized", "asymmetry", "vix_dynamics", "macro"}
    for g, e in ev["groups"].items():
        assert 0 <= e["chosen_share"] <= 1 and isinstance(e["selected"], bool), g
    # the sample table here has no intraday or macro columns: those groups add exactly nothing
    for g in ("realized", "macro"):
        assert ev["groups"][g]["rmse_change"] == 0 and ev["groups"][g]["qlike_change"] == 0
    assert ev["groups"]["asymmetry"]["rmse_change"] != 0
    regimes = m["by_vix_regime"]
    assert list(regimes) == ["vix<20", "vix20-30", "vix>30"]
    assert sum(r["n"] for r in regimes.values()) == m["overall"]["n"]
    assert sum(r["share"] for r in regimes.values()) == pytest.approx(1.0)
    assert list(m["by_decade"]) == ["2004-2011"]
    assert m["by_decade"]["2004-2011"]["n"] == m["overall"]["n"]
    seconds = m["blocks"][0]["family_seconds"]
    assert {"vol/harx", "vol/gjr", "ret/vrp_ct"} <= set(seconds)
