"""Leakage: nothing after a forecast date changes that date's forecast, choice or band.

The harness: rebuild the whole table from a raw frame whose future (after date t) was
altered, rerun the walk-forward, and compare every output column for dates <= t. It passes for
the real features and catches a feature that secretly contains the target. A direct test of
the gap shows the block's forecasts ignore every target not realised by its start, and that
without the gap they would not.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import polars as pl
import pytest

from tests.support.markets import small_config, table_of
from volpred.model.walkforward import (
    Block,
    fit_block,
    panel_from_table,
    plan_blocks,
    run_walkforward,
)

CUT = date(2006, 6, 30)  # mid-way through an evaluated block
END = date(2007, 6, 30)  # rows after this cannot matter to the comparison; keeps tests fast


def alter_future(raw: pl.DataFrame, cut: date, seed: int = 5) -> pl.DataFrame:
    """Shuffle VIX and rates after `cut` and put a different random walk under the prices."""
    rng = np.random.default_rng(seed)
    after = (raw["date"] > cut).to_numpy()
    n = int(after.sum())
    shock = np.exp(np.cumsum(rng.normal(0, 0.03, n)))
    factor = np.ones(raw.height)
    factor[after] = shock
    perm = np.arange(raw.height)
    perm[after] = np.flatnonzero(after)[rng.permutation(n)]
    prices = [c for c in ("spx_open", "spx_high", "spx_low", "spx_close")]
    shuffled = ["vix_open", "vix_high", "vix_low", "vix_close", "dgs10", "dgs2", "t10y2y"]
    return raw.with_columns(
        *(pl.col(c) * pl.Series(factor) for c in prices),
        *(pl.col(c).gather(pl.Series(perm)) for c in shuffled),
    )


def outputs_until(frame: pl.DataFrame, cut: date) -> pl.DataFrame:
    cols = [c for c in frame.columns if c.startswith(("vol_", "ret_"))]
    return frame.filter(pl.col("date") <= cut).select("date", *cols)


def run(table: pl.DataFrame, **cfg) -> pl.DataFrame:
    return run_walkforward(panel_from_table(table), small_config(**cfg)).frame


@pytest.fixture(scope="module")
def tables(raw_small):
    raw = raw_small.filter(pl.col("date") <= END)
    return table_of(raw), table_of(alter_future(raw, CUT))


@pytest.fixture
def small_gbm(monkeypatch):
    """Fewer boosting rounds: the test is about determinism and timing, not accuracy."""
    from volpred.model.families import FAMILIES

    for registry in FAMILIES.values():
        fewer = tuple(dataclasses.replace(v, max_iter=20) for v in registry["gbm"])
        monkeypatch.setitem(registry, "gbm", fewer)


def test_altering_the_future_changes_no_past_forecast_choice_or_band(tables, small_gbm):
    base, altered = tables
    assert not base.filter(pl.col("date") > CUT)["vix"].equals(
        altered.filter(pl.col("date") > CUT)["vix"]
    )
    a, b = run(base, use_gbm=True), run(altered, use_gbm=True)
    past_a, past_b = outputs_until(a, CUT), outputs_until(b, CUT)
    assert past_a.height > 500
    for col in past_a.columns[1:]:
        np.testing.assert_array_equal(past_a[col].to_numpy(), past_b[col].to_numpy(), err_msg=col)
    # ... while the future forecasts did change (the test has teeth)
    assert not np.allclose(
        a.filter(pl.col("date") > CUT)["vol_selected"].to_numpy(),
        b.filter(pl.col("date") > CUT)["vol_selected"].to_numpy(),
    )


def test_a_feature_that_is_secretly_the_target_is_caught(tables):
    """mom21 replaced by the forward return: the same harness flags changed past forecasts."""
    leaky = [t.with_columns(mom21=pl.col("target_ret").fill_null(0.0)) for t in tables]
    a, b = (outputs_until(run(t), CUT) for t in leaky)
    changed = [c for c in a.columns[1:] if not np.allclose(a[c].to_numpy(), b[c].to_numpy())]
    assert "vol_harx" in changed


def test_a_block_ignores_targets_not_realised_by_its_start(panel_small):
    cfg = small_config()
    block = [b for b in plan_blocks(panel_small, cfg) if b.evaluated][2]
    # scramble every target whose window reaches the block start or beyond (rows >= s - h)
    scrambled = panel_small.__class__(**{**panel_small.__dict__})
    object.__setattr__(scrambled, "y_vol", panel_small.y_vol.copy())
    object.__setattr__(scrambled, "y_ret", panel_small.y_ret.copy())
    late = slice(block.start - cfg.horizon, None)
    scrambled.y_vol[late] = scrambled.y_vol[late] * 3 + 0.5
    scrambled.y_ret[late] = -scrambled.y_ret[late] + 0.1
    honest = fit_block(panel_small, block, cfg).preds
    same = fit_block(scrambled, block, cfg).preds
    for key, pred in honest.items():
        np.testing.assert_array_equal(pred, same[key], err_msg=key)
    # Without the gap (training up to the block start) the scrambled targets leak in.
    no_gap = Block(block.start, block.end, block.start, True)
    leaked = fit_block(scrambled, no_gap, cfg).preds
    assert not np.allclose(fit_block(panel_small, no_gap, cfg).preds["vol/har"], leaked["vol/har"])


def realized_measures(raw: pl.DataFrame, seed: int = 3) -> pl.DataFrame:
    """Daily 5-minute measures from the table's second year on (a source that starts partway),
    in the realized checkpoint's layout."""
    rng = np.random.default_rng(seed)
    days = raw["date"].filter(raw["date"] >= date(2001, 1, 2))
    rv = rng.lognormal(np.log(1e-4), 0.6, days.len())
    neg = rv * rng.uniform(0.3, 0.7, days.len())
    return pl.DataFrame(
        {
            "date": days,
            "rv5": rv,
            "bv": rv * 0.9,
            "rs_pos": rv - neg,
            "rs_neg": neg,
            "n_bars": np.full(days.len(), 78, dtype=np.int64),
            "jump": rv * 0.1,
            "overnight_ret": rng.normal(0, 0.004, days.len()),
        }
    )


def macro_observations(series: list[str], seed: int = 4) -> pl.DataFrame:
    """Weekly observations of every series, each public a week after its date."""
    rng = np.random.default_rng(seed)
    obs = pl.date_range(date(1999, 12, 3), END, "1w", eager=True)
    return pl.concat(
        pl.DataFrame(
            {
                "series": s,
                "obs_date": obs,
                "available_date": obs.dt.offset_by("7d"),
                "value": np.cumsum(rng.normal(0, 0.1, obs.len())) + 3.0,
            }
        )
        for s in series
    )


def test_future_realized_measures_and_unpublished_macro_values_change_no_past_output(raw_small):
    """The new inputs under the same harness: realized measures after the cut and every macro
    value published after it, including observations dated before the cut, are altered."""
    from volpred.config import Settings
    from volpred.data.clean import build_table

    settings = Settings(horizon=21)
    raw = raw_small.filter(pl.col("date") <= END)
    realized, macro = realized_measures(raw), macro_observations(list(settings.macro_series))
    rng = np.random.default_rng(9)
    late_rv = realized["date"] > CUT
    unpublished = macro["available_date"] > CUT
    assert macro.filter(unpublished & (pl.col("obs_date") <= CUT)).height > 0
    altered_rv = realized.with_columns(
        pl.when(late_rv).then(pl.col("rv5") * 4).otherwise(pl.col("rv5")).alias("rv5")
    )
    altered_macro = macro.with_columns(
        pl.when(unpublished)
        .then(pl.Series(rng.normal(10, 5, macro.height)))
        .otherwise(pl.col("value"))
        .alias("value")
    )
    base = build_table(raw, settings, realized, macro)[0]
    altered = build_table(raw, settings, altered_rv, altered_macro)[0]
    assert {"irv21", "bamlh0a0hym2"} <= set(base.columns)
    ra, rb = (run_walkforward(panel_from_table(t), small_config()) for t in (base, altered))
    past_a, past_b = outputs_until(ra.frame, CUT), outputs_until(rb.frame, CUT)
    assert past_a.height > 500
    for col in past_a.columns[1:]:
        np.testing.assert_array_equal(past_a[col].to_numpy(), past_b[col].to_numpy(), err_msg=col)
    # every variant's forecasts too, those that read the new inputs among them
    past = (ra.frame["date"] <= CUT).to_numpy()
    new_inputs = [k for k in ra.variants if "macro" in k or "realized" in k]
    assert new_inputs
    for key in ra.variants:
        np.testing.assert_array_equal(ra.variants[key][past], rb.variants[key][past], err_msg=key)
    assert any(
        not np.allclose(ra.variants[k][~past], rb.variants[k][~past], equal_nan=True)
        for k in new_inputs
    )
