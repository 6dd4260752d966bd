"""ingest_data's realized and macro checkpoints, and what clean_data makes of them: the joined
features, their ages, the point-in-time rule and the coverage report."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest

from tests.support.markets import make_raw
from volpred.config import Settings
from volpred.data import macro
from volpred.data.auxiliary import ingest_macro, ingest_realized
from volpred.data.clean import build_table, clean
from volpred.data.features import INTRADAY
from volpred.data.ingest import ingest
from volpred.data.macro import MacroInputError
from volpred.data.realized import RealizedInputError


@pytest.fixture
def csv_source(settings: Settings, tmp_path):
    """A CSV source of 300 days from 2020-01-01, ingested (market table only so far)."""
    path = tmp_path / "raw.csv"
    make_raw(300).write_csv(path)
    chosen = settings.with_overrides(source="csv", csv_path=path)
    ingest(chosen)
    return chosen


def test_sample_source_brings_its_own_bars_and_macro_folder(settings: Settings) -> None:
    sample = settings.with_overrides(
        sample_start=date(2015, 1, 2), sample_bars_start=date(2019, 1, 2)
    )
    ingest(sample)
    realized = ingest_realized(sample)
    assert (realized.kind, realized.synthetic) == ("bars", True)
    assert realized.first_date >= "2019-01-02" and realized.rows > 1000
    assert (sample.data_dir / "sample_bars").is_dir()
    meta = json.loads(sample.realized_meta_path.read_text())
    assert meta["kind"] == "bars" and meta["days"] == realized.rows
    m = ingest_macro(sample)
    assert (m.kind, m.synthetic) == ("folder", True)
    assert set(json.loads(sample.macro_meta_path.read_text())["series"]) == set(sample.macro_series)
    result = clean(sample)
    table = pl.read_parquet(sample.cleaned_parquet_path)
    intraday = table.filter(pl.col("irv1").is_not_null())
    assert intraday["date"].min() >= date(2019, 1, 2)  # a measure that starts partway
    assert table.filter(pl.col("date") < date(2019, 1, 1))["rs_neg21"].null_count() < 30
    assert result.report["inputs"]["realized"]["first_date"] == str(intraday["date"].min())
    assert {"anfci", "anfci_obs_date", "anfci_age", *INTRADAY} <= set(table.columns)


def test_nothing_configured_is_a_checkpoint_too(csv_source: Settings) -> None:
    realized = ingest_realized(csv_source)
    m = ingest_macro(csv_source)
    assert (realized.kind, realized.rows, m.kind, m.rows) == ("none", 0, "none", 0)
    assert "no realized measures configured" in realized.notes[0]
    clean(csv_source)
    table = pl.read_parquet(csv_source.cleaned_parquet_path)
    assert table["irv1"].null_count() == table.height
    assert table["anfci"].null_count() == table.height  # the columns stay, empty


def test_a_daily_realized_file_joins_on_its_dates(csv_source: Settings, tmp_path) -> None:
    raw = pl.read_csv(csv_source.raw_path, try_parse_dates=True)
    measured = raw["date"].slice(100, 50)
    path = tmp_path / "rv.csv"
    pl.DataFrame({"date": measured, "rv5": [1e-4] * 50, "bv": [0.9e-4] * 50}).write_csv(path)
    chosen = csv_source.with_overrides(realized_path=path)
    assert ingest_realized(chosen).kind == "daily-file"
    clean(chosen)
    table = pl.read_parquet(chosen.cleaned_parquet_path)
    joined = table.filter(pl.col("irv_age") == 0)
    assert joined["date"].to_list() == measured.to_list()
    assert joined["irv1"][0] == pytest.approx((252 * 1e-4) ** 0.5)
    assert joined["ijump21"].drop_nulls()[-1] == pytest.approx(0.1)
    after = table.filter(pl.col("date") > measured[-1])
    assert after["irv_age"].to_list()[:3] == [1, 2, 3]  # stale, and it says so
    limit = chosen.fill_limits["realized"]  # carried that many days, then missing
    assert after["irv1"].is_null().to_list()[: limit + 2] == [False] * limit + [True] * 2


def test_bad_files_name_the_problem_and_keep_the_last_good_checkpoints(
    csv_source: Settings, tmp_path
) -> None:
    ingest_realized(csv_source)
    ingest_macro(csv_source)
    before = {
        p: p.read_bytes()
        for p in (
            csv_source.realized_checkpoint,
            csv_source.realized_meta_path,
            csv_source.macro_checkpoint,
            csv_source.macro_meta_path,
        )
    }
    bad_rv = tmp_path / "rv.csv"
    bad_rv.write_text("date,rv5\n2020-01-02,1e-4\n2020-01-03,abc\n")
    with pytest.raises(RealizedInputError, match=r"rv\.csv, line 3, column 'rv5'"):
        ingest_realized(csv_source.with_overrides(realized_path=bad_rv))
    folder = tmp_path / "fred"
    folder.mkdir()
    for series in csv_source.macro_series:
        (folder / f"{series}.csv").write_text(f"observation_date,{series}\n2020-01-01,1.0\n")
    (folder / "ICSA.csv").write_text("observation_date,ICSA\n2020-01-04,210000\n2020-01-11,x\n")
    with pytest.raises(MacroInputError, match=r"ICSA\.csv, line 3"):
        ingest_macro(csv_source.with_overrides(macro_dir=folder))
    assert {p: p.read_bytes() for p in before} == before


def test_no_macro_value_is_used_before_its_publication(settings: Settings) -> None:
    """On the sample: every joined value's observation was published on or before the row's
    date, by the series' own rule; and it is the newest one published by then."""
    sample = settings.with_overrides(
        sample_start=date(2015, 1, 2), sample_bars_start=date(2024, 1, 2)
    )
    ingest(sample)
    ingest_macro(sample)
    observations = pl.read_parquet(sample.macro_checkpoint)
    raw = pl.read_csv(sample.raw_path, try_parse_dates=True)
    table, _ = build_table(raw, sample, None, observations)
    for spec in macro.macro_specs(sample):
        obs = table[spec.obs_column]
        rows = table.filter(obs.is_not_null())
        published = macro.availability_dates(rows[spec.obs_column], spec.lag_rule)
        assert (published <= rows["date"]).all(), spec.id
        known = observations.filter(pl.col("series") == spec.id)
        for day in rows["date"].gather_every(97):
            newest = known.filter(pl.col("available_date") <= day)["obs_date"].max()
            assert rows.filter(pl.col("date") == day)[spec.obs_column][0] == newest


def test_ages_count_trading_days_since_the_vix_was_last_seen(csv_source: Settings) -> None:
    """A VIX feed that stops 20 trading days before the prices: filled for its fill limit,
    then missing, and its age says how old the last real value is all along."""
    raw = pl.read_csv(csv_source.raw_path, try_parse_dates=True)
    cut = raw["date"][-21]
    stopped = raw.with_columns(
        pl.when(pl.col("date") > cut).then(None).otherwise(pl.col(c)).alias(c)
        for c in ("vix_open", "vix_high", "vix_low", "vix_close")
    )
    table, report = build_table(stopped, csv_source)
    assert table["vix_age"].tail(20).to_list() == list(range(1, 21))
    assert table["vix"].tail(20).null_count() == 20 - csv_source.fill_limits["vix"]
    assert report["inputs"]["vix"]["last_date"] == str(cut)
    assert report["inputs"]["vix"]["age_days"] == 20


def test_a_bad_setting_stops_ingest_before_the_market_table_changes(csv_source: Settings) -> None:
    from volpred.data.auxiliary import ingest_all

    before = csv_source.raw_path.read_bytes()
    bad = csv_source.with_overrides(macro_source="auto", macro_lags={"ANFCI": "someday"})
    with pytest.raises(ValueError, match="ANFCI"):
        ingest_all(bad)
    assert csv_source.raw_path.read_bytes() == before
    off = bad.with_overrides(macro_source="none")  # macro off: its rules are not read
    assert ingest_all(off)[1][1].notes == ["macro series turned off (VOLPRED_MACRO_SOURCE=none)"]


def test_a_macro_value_older_than_the_table_has_its_true_age() -> None:
    from volpred.data.features import macro_ages

    days = pl.Series("date", [date(2020, 1, 6), date(2020, 1, 7)])  # Monday, Tuesday
    frame = pl.DataFrame({"date": days, "x_obs_date": [date(2019, 12, 30), date(2020, 1, 7)]})
    assert macro_ages(frame, {"x_age": "x_obs_date"})["x_age"].to_list() == [5, 0]
