import json

import polars as pl
import pytest

from tests.support.markets import make_raw
from volpred.data.clean import CLEANED_COLUMNS, DataValidationError, build_table, clean, fill_gaps
from volpred.runtime.storage import atomic_write_csv, sha256_file


def findings(report):
    return {f["kind"]: f for f in report["findings"]}


def set_cell(frame: pl.DataFrame, row: int, **values) -> pl.DataFrame:
    idx = pl.int_range(pl.len())
    return frame.with_columns(
        [
            pl.when(idx == row).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
            for c, v in values.items()
        ]
    )


def test_clean_frame_passes_with_no_findings(settings, raw_frame):
    table, report = build_table(raw_frame, settings)
    assert report["findings"] == []
    assert table.columns == CLEANED_COLUMNS
    assert table.height == raw_frame.height == report["rows_out"]


def test_each_defect_is_reported_by_date_and_handled_by_policy(settings):
    raw = make_raw(n=300, seed=2)
    d = raw["date"]
    raw = set_cell(raw, 10, spx_high=1.0, spx_low=2.0)  # high < low -> bar blanked
    raw = set_cell(raw, 20, spx_open=raw["spx_close"][19])  # stale open -> open blanked
    raw = set_cell(raw, 30, spx_close=raw["spx_close"][30] * 10)  # bad print -> row dropped
    raw = set_cell(raw, 40, spx_close=-5.0)  # non-positive close -> row dropped
    raw = set_cell(raw, 50, vix_close=500.0)  # absurd VIX -> blanked, then filled
    raw = set_cell(raw, 60, dgs10=99.0)
    raw = pl.concat([raw, raw.slice(70, 2)])  # duplicated dates (and now unsorted)
    table, report = build_table(raw, settings)
    found = findings(report)
    assert found["high_below_low"]["dates"] == [str(d[10])]
    assert found["high_below_low"]["policy"] == "blank"
    assert str(d[20]) in found["stale_open"]["dates"]
    assert found["absurd_close"]["dates"] == [str(d[30])]
    assert found["missing_or_non_positive_close"]["dates"] == [str(d[40])]
    assert found["vix_out_of_bounds"]["dates"] == [str(d[50])]
    assert found["rate_out_of_bounds"]["dates"] == [str(d[60])]
    assert found["duplicate_date"]["count"] == 2
    assert found["unsorted_dates"]["policy"] == "fix"
    assert table.height == 298
    assert table["date"].is_sorted() and table["date"].is_unique().all()
    assert str(d[30]) not in table["date"].cast(pl.String).to_list()
    by_date = {r["date"]: r for r in table.iter_rows(named=True)}
    assert by_date[d[10]]["spx_high"] is None and by_date[d[10]]["spx_close"] is not None
    assert by_date[d[20]]["spx_open"] is None
    assert by_date[d[50]]["vix_close"] == pytest.approx(by_date[d[49]]["vix_close"])  # filled
    assert report["rows_dropped"] == raw.height - 298


def test_forward_fill_stops_after_the_limit(settings):
    raw = make_raw(n=40).with_columns(
        vix_close=pl.when(pl.int_range(pl.len()).is_between(10, 17))
        .then(None)
        .otherwise(pl.col("vix_close"))
    )
    filled = fill_gaps(raw, {"vix": 5, "treasuries": 5})
    assert filled["vix_close"].slice(10, 5).null_count() == 0
    assert filled["vix_close"].slice(15, 3).null_count() == 3


def _blank_after(raw: pl.DataFrame, row: int, *columns: str) -> pl.DataFrame:
    idx = pl.int_range(pl.len())
    return raw.with_columns(
        pl.when(idx > row).then(None).otherwise(pl.col(c)).alias(c) for c in columns
    )


def test_each_source_is_carried_only_up_to_its_own_limit(settings):
    """The VIX stops 8 rows and the 2y yield 3 rows before the end: each source is carried
    for its own limit, then its inputs are null (never a constant), derived ones included."""
    raw = make_raw(n=300)
    raw = _blank_after(raw, 291, "vix_open", "vix_high", "vix_low", "vix_close")
    raw = _blank_after(raw, 296, "dgs2", "t10y2y")
    limits = settings.with_overrides(fill_limits={"vix": 5, "treasuries": 2})
    table, report = build_table(raw, limits)
    tail = table.tail(8)
    for column in ("vix", "vix_var_month", "vrp", "vrp_ratio", "vix_close"):
        assert tail[column].is_null().to_list() == [False] * 5 + [True] * 3, column
    assert tail["vix"].head(5).to_list() == [raw["vix_close"][291]] * 5
    assert table["term_spread"].tail(3).is_null().to_list() == [False, False, True]
    assert table["dgs10"].null_count() == 0  # the 10y went on: its own age, its own input
    assert report["fill_limits"] == {"vix": 5, "treasuries": 2, "realized": 3}
    longer, _ = build_table(raw, settings.with_overrides(fill_limits={"vix": 10}))
    assert longer["vix"].null_count() == 0 and longer["term_spread"].null_count() == 0


def test_intraday_inputs_are_carried_for_the_realized_limit_then_missing(settings):
    raw = make_raw(n=200)
    days = raw["date"].slice(80, 110)  # the intraday feed stops 10 rows before the prices
    measures = pl.DataFrame(
        {
            "date": days,
            "rv5": [1e-4] * 110,
            "bv": [0.9e-4] * 110,
            "rs_pos": [0.5e-4] * 110,
            "rs_neg": [0.5e-4] * 110,
            "n_bars": [78] * 110,
            "jump": [0.1e-4] * 110,
            "overnight_ret": [0.001] * 110,
        }
    )
    table, _ = build_table(raw, settings.with_overrides(fill_limits={"realized": 3}), measures)
    assert table["irv_age"].tail(10).to_list() == list(range(1, 11))
    for column in ("irv1", "irv5", "irv21", "ijump21", "overnight_ret"):
        assert table[column].tail(10).is_null().to_list() == [False] * 3 + [True] * 7, column
    assert table["irv1"][192] == pytest.approx((1e-4 * 252) ** 0.5)  # the last value, carried


def test_fill_limits_default_per_source_and_the_old_single_limit_sets_vix_and_rates(settings):
    assert settings.fill_limits == {"vix": 5, "treasuries": 5, "realized": 3}
    assert settings.with_overrides(fill_limits={"vix": 1}).fill_limits["treasuries"] == 5
    old = settings.with_overrides(ffill_limit=2)
    assert old.fill_limits == {"vix": 2, "treasuries": 2, "realized": 3}
    assert old.ffill_limit is None  # applied once, not again on a copy
    with pytest.raises(ValueError, match=r"unknown sources \['vx'\]"):
        settings.with_overrides(fill_limits={"vx": 3})
    with pytest.raises(ValueError, match="at least 0"):
        settings.with_overrides(fill_limits={"vix": -1})
    assert settings.with_overrides(fill_limits={"ANFCI": 30}).fill_limits["ANFCI"] == 30


def test_too_few_rows_after_cleaning_is_an_error(settings):
    with pytest.raises(DataValidationError, match="only 50 usable rows"):
        build_table(make_raw(n=50), settings)


def test_clean_writes_checkpoints_and_report(settings, raw_frame):
    atomic_write_csv(settings.raw_path, raw_frame)
    result = clean(settings)
    assert result.rows_out == raw_frame.height
    csv = pl.read_csv(settings.cleaned_path, try_parse_dates=True)
    assert csv.columns == CLEANED_COLUMNS
    assert pl.read_parquet(settings.cleaned_parquet_path).equals(
        pl.read_csv(
            settings.cleaned_path, schema=pl.read_parquet(settings.cleaned_parquet_path).schema
        )
    )
    report = json.loads(settings.cleaning_report_path.read_text())
    assert report["nulls_before"]["spx_close"] == 0
    assert "feature_nulls" in report


def test_unparsable_raw_checkpoint_fails_and_keeps_the_previous_cleaned_data(settings, raw_frame):
    atomic_write_csv(settings.raw_path, raw_frame)
    clean(settings)
    before = sha256_file(settings.cleaned_path)
    lines = settings.raw_path.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[4], "oops", 1)
    settings.raw_path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=r"line 6, column 'spx_close'.*'oops'"):
        clean(settings)
    assert sha256_file(settings.cleaned_path) == before
