"""Daily realized-measures files: the Oxford-Man Realized Library layout and the canonical
one, read into the daily layout; bad cells named by file, line and column. Every file here is
written by the test."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from volpred.config import Settings
from volpred.data.realized import COLUMNS, RealizedInputError, read_daily_measures

OXFORD_MAN = (
    "date,Symbol,rv5,bv,rsv,rk_parzen,open_to_close\n"
    "2011-03-24 00:00:00+00:00,.SPX,2.5e-05,2.4e-05,1.1e-05,2.6e-05,0.001\n"
    "2011-03-25 00:00:00+00:00,.SPX,3.0e-05,,,2.9e-05,-0.002\n"
    "2011-03-25 00:00:00+00:00,.FTSE,9.9e-05,9.0e-05,4.0e-05,9.0e-05,0.003\n"
    "2011-03-28 00:00:00+01:00,.SPX,1.5e-05,1.6e-05,0.7e-05,1.4e-05,0.000\n"
)


def test_oxford_man_layout_keeps_the_written_date_and_the_symbol(write_csv):
    result = read_daily_measures(write_csv("om.csv", OXFORD_MAN), Settings())
    frame = result.frame
    assert frame.columns == list(COLUMNS)
    # midnight at +01:00 is still the 28th (in UTC it would be the 27th, a Sunday)
    assert frame["date"].to_list() == [date(2011, 3, 24), date(2011, 3, 25), date(2011, 3, 28)]
    assert frame["rv5"].to_list() == [2.5e-05, 3.0e-05, 1.5e-05]
    assert frame["bv"].to_list() == [2.4e-05, None, 1.6e-05]
    assert frame["rs_neg"].to_list() == [1.1e-05, None, 0.7e-05]
    assert frame["rs_pos"].null_count() == 3 and frame["overnight_ret"].null_count() == 3
    assert frame["jump"].to_list()[0] == pytest.approx(1e-06)
    assert frame["jump"].to_list()[2] == 0.0
    assert result.counts["other_symbols"] == 1
    assert result.kind == "daily-file"
    assert any("rk_parzen" in note for note in result.notes)


def test_another_symbol_and_a_missing_one(write_csv):
    path = write_csv("om.csv", OXFORD_MAN)
    ftse = read_daily_measures(path, Settings(realized_symbol=".FTSE"))
    assert ftse.frame["rv5"].to_list() == [9.9e-05]
    with pytest.raises(RealizedInputError, match=r"no rows for symbol '\.DJI'.*'\.FTSE', '\.SPX'"):
        read_daily_measures(path, Settings(realized_symbol=".DJI"))


def test_canonical_layout_csv_and_parquet(write_csv, tmp_path):
    text = (
        "date,rv5,bv,rs_pos,rs_neg,n_bars\n"
        "2020-01-03,4e-05,3.9e-05,2e-05,2e-05,78\n"
        "2020-01-02,3e-05,3.1e-05,1e-05,2e-05,78\n"
        "2020-01-06,,,,,\n"
        "2020-01-03,5e-05,4.9e-05,3e-05,2e-05,77\n"
    )
    result = read_daily_measures(write_csv("c.csv", text), Settings())
    frame = result.frame
    assert frame["date"].to_list() == [date(2020, 1, 2), date(2020, 1, 3)]
    assert frame["rv5"].to_list() == [3e-05, 5e-05]  # the duplicate keeps its last row
    assert frame["n_bars"].to_list() == [78, 77]
    assert result.counts["duplicates"] == 1
    assert result.dropped_days == [{"date": date(2020, 1, 6), "reason": "no rv5 value"}]
    parquet = tmp_path / "c.parquet"
    frame.select("date", "rv5", "bv").write_parquet(parquet)
    again = read_daily_measures(parquet, Settings())
    assert again.frame.select("date", "rv5", "bv").equals(frame.select("date", "rv5", "bv"))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            "date,rv5\n2020-01-02,1e-4\n2020-01-03,abc\n",
            r"c\.csv, line 3, column 'rv5': 'abc' is not a number",
        ),
        (
            "date,rv5\n2020-01-02,1e-4\n2020-01-03,-1e-4\n",
            r"line 3, column 'rv5': '-1e-4' is negative",
        ),
        ("date,rv5\n2020-01-02,1e-4\nsoon,1e-4\n", r"line 3, column 'date': 'soon' is not a date"),
        ("day,rv5\n2020-01-02,1e-4\n", r"line 1: missing column\(s\) date"),
        (
            "date,rv5\n2020-01-02,1.2\n2020-01-03,0.9\n",
            r"column 'rv5': median rv5 is 1.05.*not percent",
        ),
    ],
)
def test_bad_daily_files_are_refused_naming_file_line_and_column(write_csv, text, match):
    with pytest.raises(RealizedInputError, match=match):
        read_daily_measures(write_csv("c.csv", text), Settings())


def test_the_real_library_file_when_present():
    """The shared development copy is read by path, never copied."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "shared" / "data" / "spx_rv5_2011_2018.csv"
    if not path.exists():
        pytest.skip("the shared Oxford-Man file is not on this machine")
    result = read_daily_measures(path, Settings())
    frame = result.frame
    assert frame["date"].is_sorted() and frame["date"].n_unique() == frame.height
    assert frame["date"].min() == date(2011, 3, 7)
    assert frame["date"].dt.weekday().max() <= 5  # no weekend dates from the offsets
    assert 2e-5 < frame["rv5"].median() < 2e-4
    assert frame.select(pl.col("rv5").is_null().sum()).item() == 0
