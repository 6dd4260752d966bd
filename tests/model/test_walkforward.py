"""Walk-forward splits, gap, nested selection and the shape of its output."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.support.markets import small_config
from volpred.model.design import OPTIONAL_COLUMNS
from volpred.model.intervals import ACI_ALPHA_RANGE, ACI_GAMMA
from volpred.model.walkforward import (
    DEFAULT_RET,
    ENSEMBLE,
    ENSEMBLE_POOL,
    ENSEMBLE_SHRINK,
    WalkForwardConfig,
    choose,
    choose_with_evidence,
    ensemble_weights,
    evaluation_start,
    plan_blocks,
    ret_score,
    simplex_grid,
)


def test_gap_shorter_than_horizon_is_refused():
    with pytest.raises(ValueError, match="gap"):
        WalkForwardConfig(horizon=21, gap=20)
    assert WalkForwardConfig(horizon=21, gap=30).gap == 30


def test_blocks_tile_the_table_from_the_burn_in_to_the_end(panel_small):
    cfg = small_config()
    blocks = plan_blocks(panel_small, cfg)
    eval_start = evaluation_start(panel_small.dates, cfg.min_train_years)
    assert panel_small.dates[eval_start] >= np.datetime64("2004-01-02")
    assert [b.start for b in blocks if b.evaluated][0] == eval_start
    assert sum(not b.evaluated for b in blocks) == 2  # two burn-in years for selection
    assert blocks[-1].end == panel_small.n
    for a, b in zip(blocks, blocks[1:], strict=False):
        assert a.end == b.start and b.start - a.start == cfg.refit_every


@pytest.mark.parametrize("gap", [21, 40])
def test_every_training_target_is_realised_before_its_block_starts(panel_small, gap):
    cfg = small_config(gap=gap)
    for b in plan_blocks(panel_small, cfg):
        train_rows = np.flatnonzero(panel_small.labelled[: b.train_end])
        last_target_day = train_rows.max() + cfg.horizon  # target_vol uses returns i+1..i+h
        assert last_target_day < b.start
        assert b.start - train_rows.max() >= gap + 1


def test_output_has_every_model_band_and_only_past_selection_rows(wf_small, panel_small):
    f = wf_small.frame
    ev = f.filter(pl.col("evaluated"))
    for m in wf_small.vol_models:
        assert ev[f"vol_{m}"].is_finite().all() and (ev[f"vol_{m}"] > 0).all()
    for m in wf_small.ret_models:
        assert ev[f"ret_{m}"].is_finite().all()
    assert (ev["vol_lo"] <= ev["vol_selected"]).all() and (ev["vol_selected"] <= ev["vol_hi"]).all()
    assert (ev["ret_lo"] <= ev["ret_selected"]).all() and (ev["ret_selected"] <= ev["ret_hi"]).all()
    first = wf_small.first_row
    for fit, blk in zip(wf_small.blocks, plan_blocks(panel_small, wf_small.config), strict=True):
        # selection and band quantiles used exactly the realised OOS rows before the block
        assert fit["selection_rows"] == int(panel_small.labelled[first : blk.train_end].sum())
    assert wf_small.blocks[0]["selection_rows"] == 0  # the first block runs on the priors
    assert wf_small.blocks[0]["choice"]["vol"] == ENSEMBLE
    assert wf_small.blocks[0]["choice"]["vol_ensemble"] == dict.fromkeys(ENSEMBLE_POOL, 0.25)


def test_the_served_forecast_is_the_weighted_pool_of_each_block(wf_small):
    f = wf_small.frame
    for i, blk in enumerate(wf_small.blocks):
        part = f.filter(pl.col("block") == i)
        weights = blk["choice"]["vol_ensemble"]
        assert sum(weights.values()) == pytest.approx(1.0)
        expected = sum(w * part[f"vol_{m}"].to_numpy() for m, w in weights.items())
        np.testing.assert_allclose(part["vol_selected"].to_numpy(), expected, rtol=1e-12)
    # weights are estimated once enough realised rows exist (not all blocks on the prior)
    assert len({tuple(b["choice"]["vol_ensemble"].values()) for b in wf_small.blocks}) > 1


def test_ensemble_weights_shrink_the_best_grid_point_towards_equal_weights():
    rng = np.random.default_rng(0)
    y = np.exp(rng.normal(-1.8, 0.4, 1000))
    good = y * np.exp(rng.normal(0, 0.05, 1000))  # nearly perfect
    noisy = [y * np.exp(rng.normal(0, 0.6, 1000)) for _ in range(3)]
    F = np.vstack([noisy[0], good, noisy[1], noisy[2]])
    rows = np.arange(1000)
    w = ensemble_weights(F, rows, y, noisy[2], min_rows=100)
    equal = np.full(4, 0.25)
    # the in-window optimum is (almost) all on the good forecast, then shrunk half-way
    assert w.sum() == pytest.approx(1.0) and np.all(w >= 0)
    assert w[1] == max(w) and w[1] >= ENSEMBLE_SHRINK * 0.25 + (1 - ENSEMBLE_SHRINK) * 0.8
    assert np.all(w >= ENSEMBLE_SHRINK * 0.25 - 1e-12)  # shrinkage keeps every forecast in
    np.testing.assert_array_equal(ensemble_weights(F, rows[:50], y, noisy[2], 100), equal)


def test_simplex_grid_covers_the_simplex():
    g = simplex_grid(4, 0.05)
    assert len(g) == 1771  # C(20 + 3, 3)
    np.testing.assert_allclose(g.sum(axis=1), 1.0)
    assert g.min() == 0 and g.max() == 1
    assert {tuple(r) for r in simplex_grid(2, 0.5)} == {(0.0, 1.0), (0.5, 0.5), (1.0, 0.0)}


def test_band_level_adapts_only_to_realised_misses(wf_small, panel_small):
    levels = [b["vol_band_level"] for b in wf_small.blocks]
    lo, hi = (1 - m * (1 - 0.8) for m in ACI_ALPHA_RANGE)
    assert all(hi <= lv <= lo for lv in levels)
    # no band has been realised before the second block's training end: nominal level
    assert levels[0] == levels[1] == pytest.approx(0.8)
    assert len(set(levels)) > 2  # ... then it moves with the misses
    f = wf_small.frame
    y, lo_b, hi_b = (f[c].to_numpy() for c in ("target_vol", "vol_lo", "vol_hi"))
    ok = np.isfinite(y) & np.isfinite(lo_b)
    missed = ((y < lo_b) | (y > hi_b))[ok]
    # the final level is the nominal one moved by every realised row's miss or hit (the
    # bounds never bind on this sample, so the path's clipping does not matter)
    expected = 0.8 + ACI_GAMMA * np.sum(missed - 0.2)
    assert hi < expected < lo
    assert wf_small.vol_band_level == pytest.approx(expected)


def test_choose_picks_the_lowest_past_score_and_the_default_without_data():
    y = np.zeros(200)
    opts = {"a": np.full(200, 1.0), "b": np.full(200, 0.5), "c": np.full(200, 2.0)}
    rows = np.arange(200)
    assert choose(opts, rows, y, y, ret_score, "a", min_rows=10) == "b"
    assert choose(opts, rows[:5], y, y, ret_score, "a", min_rows=10) == "a"


def test_return_models_need_evidence_to_replace_the_prior():
    rng = np.random.default_rng(0)
    y = rng.normal(size=3000)
    prior = np.zeros(3000)
    lucky = prior + 0.01 * rng.normal(size=3000)  # no skill: never chosen
    skilled = 0.5 * y  # real skill: chosen
    rows = np.arange(3000)
    opts = {DEFAULT_RET: prior, "lucky": lucky}
    assert choose_with_evidence(opts, rows, y, DEFAULT_RET, 100, 20, 0.05) == DEFAULT_RET
    opts["skilled"] = skilled
    assert choose_with_evidence(opts, rows, y, DEFAULT_RET, 100, 20, 0.05) == "skilled"
    assert choose_with_evidence(opts, rows[:50], y, DEFAULT_RET, 100, 20, 0.05) == DEFAULT_RET


def test_all_null_range_features_are_dropped_and_recorded(raw_small):
    from tests.support.markets import table_of
    from volpred.model.walkforward import panel_from_table, run_walkforward

    no_ohlc = raw_small.with_columns(
        pl.lit(None, dtype=pl.Float64).alias(c)
        for c in ("spx_open", "spx_high", "spx_low", "vix_open", "vix_high", "vix_low")
    )
    table = table_of(no_ohlc)
    assert table["parkinson21"].null_count() == table.height
    res = run_walkforward(panel_from_table(table), small_config(selection_years=1.0))
    ranges = {"parkinson21", "garman_klass21"}
    for b in res.blocks:  # and the optional inputs this table has none of (no intraday data)
        assert ranges <= set(b["dropped_features"])
        assert set(b["dropped_features"]) - ranges <= OPTIONAL_COLUMNS
    ev = res.frame.filter(pl.col("evaluated"))
    assert ev["vol_selected"].is_finite().all() and ev["ret_selected"].is_finite().all()
    # ... and so does the final model: recorded, absent from its inputs, predicting finitely
    from volpred.model.final import feature_matrix, fit_final

    model = fit_final(panel_from_table(table), res, small_config(selection_years=1.0))
    assert {"parkinson21", "garman_klass21"} <= set(model.info["dropped_features"])
    assert "parkinson21" not in model.feature_names
    out = model.predict(feature_matrix(table, model))
    # past the trailing windows' warm-up every row has a forecast
    assert all(np.isfinite(out[k][100:]).all() for k in ("vol", "vol_lo", "ret", "ret_hi"))


def test_threads_do_not_change_results(raw_small):
    from tests.support.markets import table_of
    from volpred.model.walkforward import panel_from_table, run_walkforward

    panel = panel_from_table(table_of(raw_small.filter(pl.col("date").dt.year() <= 2006)))
    one = run_walkforward(panel, small_config(n_jobs=1, selection_years=1.0))
    two = run_walkforward(panel, small_config(n_jobs=2, selection_years=1.0))
    assert one.frame.equals(two.frame)
    assert [b["choice"] for b in one.blocks] == [b["choice"] for b in two.blocks]


def test_combination_weights_follow_recent_relative_performance():
    """Two members, one good in the first half of the past and one in the second: the weights
    favour the recent winner, and more so than equal-age weighting would."""
    from volpred.model.walkforward import ensemble_weights

    rng = np.random.default_rng(1)
    n = 2000
    y = np.abs(rng.normal(0.15, 0.05, n)) + 0.02
    noise = rng.normal(0, 0.04, (2, n))
    good_early = np.where(np.arange(n) < n // 2, y, y + np.abs(noise[0]) + 0.05)
    good_late = np.where(np.arange(n) >= n // 2, y, y + np.abs(noise[1]) + 0.05)
    har = y + 0.03
    w = ensemble_weights(np.vstack([good_early, good_late]), np.arange(n), y, har, 100, n)
    assert w.sum() == pytest.approx(1.0) and np.all(w >= 0)
    assert w[1] > w[0]
    assert np.all(ensemble_weights(np.vstack([y, y]), np.arange(50), y, har, 100) == 0.5)


def test_blocks_fitted_on_threads_run_in_the_callers_context(panel_small, monkeypatch):
    """A Prefect task run is a context variable: what a block's fit logs from the pool's
    threads must still belong to the caller's run."""
    import contextvars

    from volpred.model.walkforward import assembly

    run = contextvars.ContextVar("run", default=None)
    seen = []
    original = assembly.fit_block

    def fit_block(*args, **kwargs):
        seen.append(run.get())
        return original(*args, **kwargs)

    monkeypatch.setattr(assembly, "fit_block", fit_block)
    run.set("task-run-1")
    assembly.run_walkforward(panel_small, small_config(n_jobs=2, selection_years=1.0))
    assert len(seen) > 2 and set(seen) == {"task-run-1"}
