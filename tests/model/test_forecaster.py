from datetime import date

import numpy as np
import pytest

from volpred.model.forecaster import PredictionInputError, load_forecaster, predict

KEYS = {
    "ret",
    "ret_lo",
    "ret_hi",
    "vol",
    "vol_lo",
    "vol_hi",
    "horizon_days",
    "as_of",
    "model_version",
    "synthetic_data",
}


@pytest.fixture(scope="module")
def forecaster(served):
    return load_forecaster(served)


def test_latest_forecast_has_bands_version_and_as_of(forecaster):
    (record,) = predict(forecaster, dates=["latest"])
    assert set(record) == KEYS
    assert record["as_of"] == str(forecaster.latest_date) == "2025-12-31"
    assert record["model_version"] == forecaster.card.version
    assert record["ret_lo"] < record["ret"] < record["ret_hi"]
    assert 0 < record["vol_lo"] < record["vol"] < record["vol_hi"] < 2
    assert record["horizon_days"] == 21
    assert record["synthetic_data"] is True  # trained on the sample source


def test_date_forecasts_match_the_model_on_the_cleaned_table(forecaster):
    days = ["2015-03-02", "2020-03-16"]
    records = predict(forecaster, dates=days)
    assert [r["as_of"] for r in records] == days
    rows = forecaster.dates.astype(str).tolist()
    for day, record in zip(days, records, strict=True):
        expected = forecaster.model.predict(forecaster.X[[rows.index(day)]])
        assert record["vol"] == pytest.approx(float(expected["vol"][0]))


def test_a_weekend_date_is_answered_as_of_the_last_trading_day(forecaster):
    (record,) = predict(forecaster, dates=[date(2020, 3, 15)])  # a Sunday
    assert record["as_of"] == "2020-03-13"


@pytest.mark.parametrize("bad", ["1990-01-01", "2030-01-01", "yesterday"])
def test_dates_outside_the_data_or_unparsable_are_refused(forecaster, bad):
    with pytest.raises(PredictionInputError, match="outside the data|not a date"):
        predict(forecaster, dates=[bad])


def test_what_if_inputs_and_a_higher_vix_raises_the_vol_forecast(forecaster):
    calm, stressed = predict(
        forecaster, features=[{"vix": 14, "rv21": 0.12}, {"vix": 40, "rv21": 0.12}]
    )
    assert calm["as_of"] is None and stressed["vol"] > calm["vol"]
    assert stressed["vol_hi"] > stressed["vol"] > stressed["vol_lo"]


def test_unknown_inputs_are_named(forecaster):
    with pytest.raises(PredictionInputError, match="unknown inputs.*'vixx'"):
        predict(forecaster, features={"vixx": 20})


def test_dates_or_features_are_required(forecaster):
    with pytest.raises(PredictionInputError):
        predict(forecaster)


def test_a_date_with_no_changes_gives_that_dates_forecast(forecaster):
    (plain,) = predict(forecaster, dates=["2020-03-16"])
    (same,) = predict(forecaster, dates=["2020-03-16"], features={})
    assert same == pytest.approx(plain)


def test_changing_the_vix_on_a_date_recomputes_what_derives_from_it(forecaster):
    day = "2019-06-03"
    (base,) = predict(forecaster, dates=[day])
    (stressed,) = predict(forecaster, dates=[day], features={"vix": 45.0})
    assert stressed["as_of"] == day and stressed["vol"] > base["vol"]
    row = int(np.flatnonzero(forecaster.dates == np.datetime64(day))[0])
    names = forecaster.model.feature_names
    inputs = dict(zip(names, forecaster.X[row], strict=True))
    inputs |= {"vix": 45.0, "vix_var_month": 0.45**2 / 12}
    inputs["vrp"] = inputs["vix_var_month"] - inputs["rv21"] ** 2 / 12
    inputs["vrp_ratio"] = 45.0 / (100 * inputs["rv21"])
    expected = forecaster.model.predict(np.array([[inputs[n] for n in names]]))
    assert stressed["vol"] == pytest.approx(float(expected["vol"][0]))
    assert stressed["ret"] == pytest.approx(float(expected["ret"][0]))


def test_one_date_per_feature_set(forecaster):
    with pytest.raises(PredictionInputError, match="one date per"):
        predict(forecaster, dates=["latest", "2020-01-02"], features={"vix": 20})


def test_precomputed_forecasts_equal_a_fresh_model_call(forecaster):
    rows = np.array([0, 100, len(forecaster.dates) - 1])
    fresh = forecaster.model.predict(forecaster.X[rows])
    for key, values in fresh.items():
        np.testing.assert_array_equal(forecaster.outputs[key][rows], values)
