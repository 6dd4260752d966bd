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
    filled = fill_gaps(raw, limit=5)
    assert filled["vix_close"].slice(10, 5).null_count() == 0
    assert filled["vix_close"].slice(15, 3).null_count() == 3


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
