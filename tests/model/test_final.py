"""The saved model: skops round trip, the predict contract, inputs from a table or a user."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import skops.io as sio

from tests.support.markets import small_config
from volpred.data.features import FEATURES
from volpred.model import benchmarks as bm
from volpred.model import estimators as cand
from volpred.model import garch
from volpred.model.design import OPTIONAL_COLUMNS
from volpred.model.estimators import DESIGN_COLUMNS
from volpred.model.families import RET_FAMILIES, VOL_ENSEMBLE, VOL_FAMILIES, HarX
from volpred.model.final import (
    ANSWER_KEYS,
    OUTPUT_KEYS,
    VolpredModel,
    feature_matrix,
    fit_final,
    predict_table,
    what_if_rows,
)
from volpred.model.intervals import conformal_bounds, recency_weights, vol_scores
from volpred.model.metrics import r2
from volpred.model.store import TRUSTED_TYPES
from volpred.model.walkforward import ENSEMBLE, ENSEMBLE_POOL

MODEL_TYPE = "volpred.model.final.VolpredModel"


@pytest.fixture(scope="module")
def model(panel_small, wf_small) -> VolpredModel:
    return fit_final(panel_small, wf_small, small_config())


@pytest.fixture(scope="module")
def X(model, table_small) -> np.ndarray:
    return feature_matrix(table_small, model)


def complete_rows(model: VolpredModel, X: np.ndarray) -> np.ndarray:
    """Rows with every input the model requires (the table's first rows lack trailing windows)."""
    required = [i for i, n in enumerate(model.feature_names) if n not in OPTIONAL_COLUMNS]
    return np.all(np.isfinite(X[:, required]), axis=1)


def roundtrip(model: VolpredModel) -> tuple[VolpredModel, list[str]]:
    """Save and load with the store's explicit trusted list (which must cover the file)."""
    data = sio.dumps(model)
    untrusted = sio.get_untrusted_types(data=data)
    assert set(untrusted) <= set(TRUSTED_TYPES)
    return sio.loads(data, trusted=TRUSTED_TYPES), untrusted


def test_skops_roundtrip_gives_identical_predictions(model, X):
    loaded, untrusted = roundtrip(model)
    assert MODEL_TYPE in untrusted
    assert all(t == MODEL_TYPE or t.startswith("volpred.model.families.") for t in untrusted)
    rows = np.vstack([X, what_if_rows(model, {"vix": 35.0, "rv21": 0.3})])
    assert np.isnan(rows).any()  # warm-up rows and the what-if row exercise the fill path
    a, b = model.predict(rows), loaded.predict(rows)
    for k in OUTPUT_KEYS:
        np.testing.assert_array_equal(a[k], b[k])
    assert loaded.feature_names == model.feature_names and loaded.version is None


def test_predict_contract(model, X):
    full = model.predict(X)
    assert set(full) == set(OUTPUT_KEYS) | set(ANSWER_KEYS)
    ok = complete_rows(model, X)
    assert ok.sum() > len(X) - 100 and not ok.all()
    out = {k: v[ok] for k, v in full.items()}
    for k in OUTPUT_KEYS:
        assert full[k].shape == (len(X),) and np.all(np.isfinite(out[k]))
    assert set(out["vol_model"]) == {model.vol_kind} and set(out["ret_model"]) == {model.ret_kind}
    assert np.all(out["vol"] > 0)
    assert np.all(out["vol_lo"] <= out["vol"]) and np.all(out["vol"] <= out["vol_hi"])
    assert np.all(out["ret_lo"] <= out["ret"]) and np.all(out["ret"] <= out["ret_hi"])
    # a warm-up row is answered by what can answer it, and says so, or not at all
    for i in np.flatnonzero(~ok):
        named = full["vol_model"][i]
        assert (named is None) == (not np.isfinite(full["vol"][i]))
        assert named is None or named != model.vol_kind
    one = model.predict(X[-1])  # a single row as a 1-D array
    assert one["vol"][0] == out["vol"][-1]
    with pytest.raises(ValueError, match="columns"):
        model.predict(X[:, :-1])


def test_feature_order_is_documented_and_garch_state_comes_last(model):
    base = model.feature_names[:-1]
    assert model.feature_names[-1] == "garch_vol"
    assert base == [f for f in dict.fromkeys([*FEATURES, *DESIGN_COLUMNS]) if f in base]
    assert {"vix", "rv21", "ret"} <= set(base)


def test_garch_state_input_depends_on_past_returns_only(model, table_small, X):
    cut = table_small.height - 300
    truncated = feature_matrix(table_small.head(cut), model)
    np.testing.assert_array_equal(truncated[:, -1], X[:cut, -1])


def test_final_model_fits_its_training_data(model, X, table_small):
    """Clearly better than the HAR benchmark fitted on the very same rows (on this sample the
    GJR component is arch's fallback and HAR explains little; R2 ~0.28 against ~0.03)."""
    y = table_small["target_vol"].to_numpy()
    out = model.predict(X)
    ok = np.isfinite(y) & np.all(np.isfinite(X), axis=1)
    cols = {n: i for i, n in enumerate(model.feature_names)}
    har = bm.predict_har_var(X[ok], cols, bm.fit_har_var(X[ok], y[ok], cols))
    assert r2(y[ok], out["vol"][ok]) > max(0.2, r2(y[ok], har) + 0.1)


def test_the_ensemble_is_the_walkforward_weights_on_refitted_components(model, X, wf_small):
    assert model.vol_kind == ENSEMBLE and model.vol.model == VOL_ENSEMBLE
    weights = wf_small.final_choice.vol_ensemble
    np.testing.assert_array_equal(model.vol.state["weights"], [weights[m] for m in ENSEMBLE_POOL])
    members = dict(zip(ENSEMBLE_POOL, model.vol.state["members"], strict=True))
    assert [m.model.name for m in members.values()] == list(ENSEMBLE_POOL)
    assert members["harx"].model == wf_small.final_choice.vol_variants["harx"]
    Xc = model.complete(X)[complete_rows(model, X)]
    cols = {n: i for i, n in enumerate(model.feature_names)}
    harx = members["harx"]
    assert isinstance(harx.model, HarX)
    fit = harx.model.main_fit(harx.state)
    parts = {
        "harx": cand.predict_harx(cand.design(Xc, fit["spec"]), Xc[:, cols["vix"]], fit),
        "gjr": garch.forecast_vol(Xc[:, -1], model.garch_params, model.horizon),
        "vix_cal": bm.predict_vix_calibrated(Xc, cols, members["vix_cal"].state),
        "har": bm.predict_har_var(Xc, cols, members["har"].state),
    }
    expected = sum(weights[m] * parts[m] for m in ENSEMBLE_POOL)
    np.testing.assert_allclose(model.predict(Xc)["vol"], expected, rtol=1e-12)


def test_the_vol_band_uses_the_adaptive_level_of_the_walkforward(model, wf_small):
    level = wf_small.vol_band_level
    assert level != 0.8 and model.info["vol_band_level"] == level
    f = wf_small.frame
    y, pv = f["target_vol"].to_numpy(), f["vol_selected"].to_numpy()
    rows = np.flatnonzero(np.isfinite(y) & np.isfinite(f["target_ret"].to_numpy()))
    w = recency_weights(len(f) - rows, small_config().half_life_rows)
    q = conformal_bounds(vol_scores(y[rows], pv[rows]), level, w)
    np.testing.assert_allclose(model.vol_band_factor, np.exp(q))


def test_what_if_rows_derive_dependent_inputs_and_fill_the_rest(model):
    row = what_if_rows(model, {"vix": 20.0, "rv21": 0.1, "ret": -0.02})[0]
    names = model.feature_names
    assert row[names.index("vix_var_month")] == pytest.approx(0.04 / 12)
    assert row[names.index("vrp")] == pytest.approx(0.04 / 12 - 0.01 / 12)
    assert row[names.index("vrp_ratio")] == pytest.approx(2.0)
    assert row[names.index("rv1")] == pytest.approx(0.02 * np.sqrt(252))
    assert np.isnan(row[names.index("garch_vol")])
    calm, panic = (
        model.predict(what_if_rows(model, {"vix": v, "rv21": r, "rv5": r, "rv1": r}))
        for v, r in ((12.0, 0.08), (45.0, 0.5))
    )
    assert panic["vol"][0] > 2 * calm["vol"][0]  # a crisis scenario forecasts a crisis
    with pytest.raises(ValueError, match="unknown"):
        what_if_rows(model, {"vix": 20.0, "target_vol": 0.2})


def test_predict_table_is_dated(model, table_small):
    out = predict_table(model, table_small)
    assert out["date"].to_list() == table_small["date"].to_list()
    assert set(OUTPUT_KEYS) <= set(out.columns)


@pytest.mark.parametrize(
    ("vol", "ret"),
    [
        ("gjr", "hist_mean"),
        ("harx", "ridge_ct"),
        ("gbm", "gbm"),
        ("harx_gjr", "combo"),
        (ENSEMBLE, "vrp_ct"),
    ],
)
def test_every_configuration_fits_roundtrips_and_predicts(
    panel_small, wf_small, table_small, vol, ret
):
    choice = dataclasses.replace(
        wf_small.final_choice,
        vol=vol,
        ret=ret,
        vol_variants=wf_small.final_choice.vol_variants | {"gbm": VOL_FAMILIES["gbm"][0]},
        ret_variants=wf_small.final_choice.ret_variants | {"ridge_ct": RET_FAMILIES["ridge_ct"][0]},
    )
    result = dataclasses.replace(wf_small, final_choice=choice)
    # the bands come from the chosen family's OOS columns; the small run has no gbm columns
    if vol == "gbm":
        result = dataclasses.replace(
            result,
            frame=result.frame.with_columns(
                vol_gbm=result.frame["vol_harx"], ret_gbm=result.frame["ret_ridge_ct"]
            ),
        )
    m = fit_final(panel_small, result, small_config())
    X = feature_matrix(table_small, m)
    loaded, untrusted = roundtrip(m)
    assert MODEL_TYPE in untrusted
    a, b = m.predict(X), loaded.predict(X)
    ok = complete_rows(m, X)
    for k in OUTPUT_KEYS:
        np.testing.assert_array_equal(a[k], b[k])
        assert np.all(np.isfinite(a[k][ok]))
    if vol == "gjr":
        expected = garch.forecast_vol(m.complete(X)[:, -1], m.garch_params, m.horizon)
        np.testing.assert_allclose(a["vol"], expected, rtol=1e-12)
    if ret == "hist_mean":
        assert np.all(a["ret"] == m.ret.state)  # the training targets' mean
    if ret in ("ridge_ct", "gbm"):
        assert np.all(a["ret"][ok] >= 0)  # Campbell-Thompson truncation


def test_the_last_blocks_forecasts_are_what_the_served_model_says(raw_small):
    """A model trained on the data as they stood when the last walk-forward block starts (what
    the daily flow would have served that day, refit monthly) forecasts the block's rows with
    exactly the walk-forward's numbers: the evaluation scores the served code path."""
    import polars as pl

    from tests.support.markets import table_of
    from volpred.model.walkforward import panel_from_table, plan_blocks, run_walkforward

    cfg = small_config(refit_every=63)
    table = table_of(raw_small)
    panel = panel_from_table(table)
    walkforward = run_walkforward(panel, cfg)
    day = panel.dates[plan_blocks(panel, cfg)[-1].start]
    then = panel_from_table(table_of(raw_small.filter(pl.col("date") < day)))
    served = fit_final(then, run_walkforward(then, cfg), cfg)
    ours = predict_table(served, table).filter(pl.col("date") >= day)
    theirs = walkforward.frame.filter(pl.col("date") >= day)
    assert ours.height == theirs.height >= 1
    for key, column in {
        "vol": "vol_selected",
        "vol_lo": "vol_lo",
        "vol_hi": "vol_hi",
        "ret": "ret_selected",
        "ret_lo": "ret_lo",
        "ret_hi": "ret_hi",
    }.items():
        # equal up to rounding (the smallest ridge penalty amplifies last-bit differences
        # between two BLAS calls on the same numbers to ~1e-9)
        np.testing.assert_allclose(ours[key], theirs[column], rtol=1e-8, err_msg=key)
