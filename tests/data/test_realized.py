"""Realized measures from intraday bars: values against hand-computed ones on small bar sets,
the real files' quirks (time zones, DST, half days, duplicates, order, session, volume, gaps),
bad rows named by file and line, and partitioned runs equal to one run."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from volpred.config import Settings
from volpred.data.realized import (
    COLUMNS,
    RealizedInputError,
    combine_partitions,
    measures_for_partition,
    measures_from_bars,
    plan_partitions,
)

NY = "America/New_York"


def at(day: date, hhmm: str) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hours, minutes)


def session(day: date, every: int = 5, end: str = "16:00", start: str = "09:30") -> list[datetime]:
    first, last = at(day, start), at(day, end)
    steps = int((last - first).total_seconds() // 60 // every)
    return [first + timedelta(minutes=every * k) for k in range(steps)]


def bars(
    times: list[datetime],
    closes: list[float] | None = None,
    opens: list[float] | None = None,
    volumes: list[float] | None = None,
) -> pl.DataFrame:
    """Bars at naive New York times; closes default to a gentle zig-zag around 100."""
    n = len(times)
    closes = closes or [100 * math.exp(0.001 * ((-1) ** k) * (1 + k % 3)) for k in range(n)]
    opens = opens or [100.0, *closes[:-1]]
    return pl.DataFrame(
        {
            "timestamp": times,
            "open": opens,
            "high": [max(o, c) for o, c in zip(opens, closes, strict=True)],
            "low": [min(o, c) for o, c in zip(opens, closes, strict=True)],
            "close": closes,
            "volume": volumes or [1000.0] * n,
        }
    )


def write(frame: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        frame.write_csv(path)
    else:
        frame.write_parquet(path)
    return path


def run(tmp_path: Path, frame: pl.DataFrame, name: str = "bars.parquet", **overrides):
    settings = Settings(**({"bars_min_share": 0.0} | overrides))
    return measures_from_bars(write(frame, tmp_path / name), settings)


def expected_measures(first_price: float, closes: list[float]) -> dict[str, float]:
    prices = [first_price, *closes]
    r = [math.log(b / a) for a, b in zip(prices, prices[1:], strict=False)]
    return {
        "rv5": sum(x * x for x in r),
        "bv": math.pi / 2 * sum(abs(a) * abs(b) for a, b in zip(r, r[1:], strict=False)),
        "rs_pos": sum(x * x for x in r if x > 0),
        "rs_neg": sum(x * x for x in r if x < 0),
    }


def assert_day(row: dict, expected: dict[str, float]) -> None:
    for key, value in expected.items():
        assert row[key] == pytest.approx(value, rel=1e-9, abs=1e-15), key


DAY = date(2021, 3, 1)  # a Monday


def test_five_minute_bars_by_hand(tmp_path):
    times = [at(DAY, "09:30"), at(DAY, "09:35"), at(DAY, "09:40")]
    result = run(tmp_path, bars(times, closes=[101.0, 100.0, 102.0], opens=[100.0, 101, 100]))
    assert result.frame.columns == list(COLUMNS)
    row = result.frame.row(0, named=True)
    expected = expected_measures(100.0, [101.0, 100.0, 102.0])
    assert_day(row, expected)
    assert row["n_bars"] == 3
    assert row["jump"] == pytest.approx(max(expected["rv5"] - expected["bv"], 0))
    assert row["rs_pos"] + row["rs_neg"] == pytest.approx(row["rv5"])
    assert row["overnight_ret"] is None  # no previous day
    assert result.kind == "bars"


def test_one_minute_bars_are_resampled_to_the_last_price_of_each_5_minutes(tmp_path):
    times = [at(DAY, "09:30") + timedelta(minutes=k) for k in range(12)]
    closes = [100 + 0.1 * k * (-1) ** k for k in range(12)]
    result = run(tmp_path, bars(times, closes=closes, opens=[99.5, *closes[:-1]]))
    row = result.frame.row(0, named=True)
    # intervals 09:30, 09:35 and 09:40 (two bars): last closes at 09:34, 09:39, 09:41
    assert_day(row, expected_measures(99.5, [closes[4], closes[9], closes[11]]))
    assert row["n_bars"] == 12


def test_a_missing_interval_adds_no_return_and_the_next_one_covers_it(tmp_path):
    times = [at(DAY, "09:30"), at(DAY, "09:40")]
    row = run(tmp_path, bars(times, closes=[101.0, 99.0])).frame.row(0, named=True)
    assert_day(row, expected_measures(100.0, [101.0, 99.0]))


def test_overnight_return_uses_the_previous_session_close(tmp_path):
    day2 = DAY + timedelta(days=1)
    frame = pl.concat(
        [
            bars(session(DAY), closes=[100.0] * 77 + [102.0]),
            bars(session(day2), opens=[103.0] + [101.0] * 77, closes=[101.0] * 78),
            # an after-hours print must not be the previous close
            bars([at(DAY, "17:00")], closes=[150.0], opens=[150.0]),
        ]
    )
    result = run(tmp_path, frame)
    first, second = result.frame.rows(named=True)
    assert first["overnight_ret"] is None
    assert second["overnight_ret"] == pytest.approx(math.log(103.0 / 102.0))
    assert result.counts["out_of_session"] == 1


def test_dst_change_with_utc_timestamps_naive_utc_and_exchange_time_agree(tmp_path):
    friday, monday = date(2021, 3, 12), date(2021, 3, 15)  # clocks change on Sunday 14th
    local = pl.concat([bars(session(friday)), bars(session(monday))])
    utc_aware = local.with_columns(
        pl.col("timestamp").dt.replace_time_zone(NY).dt.convert_time_zone("UTC")
    )
    assert utc_aware["timestamp"][0].hour == 14 and utc_aware["timestamp"][78].hour == 13
    strict = {"bars_min_share": 1.0}
    exchange = run(tmp_path, local, "ny.parquet", **strict)
    aware = run(tmp_path, utc_aware, "aware.parquet", **strict)
    naive_utc = run(
        tmp_path,
        utc_aware.with_columns(pl.col("timestamp").dt.replace_time_zone(None)),
        "utc.csv",
        bars_timezone="UTC",
        **strict,
    )
    offsets = utc_aware.with_columns(
        pl.col("timestamp").dt.convert_time_zone(NY).dt.strftime("%Y-%m-%dT%H:%M:%S%:z")
    )
    with_offsets = run(tmp_path, offsets, "offsets.csv", **strict)
    for other in (aware, naive_utc, with_offsets):
        assert_frame_equal(exchange.frame, other.frame)
        assert other.counts["out_of_session"] == 0
    assert exchange.frame["date"].to_list() == [friday, monday]
    assert exchange.frame["n_bars"].to_list() == [78, 78]
    # read as exchange time, the UTC stamps of Friday start at 14:30: an hour of it is missing
    wrong = run(
        tmp_path,
        utc_aware.with_columns(pl.col("timestamp").dt.replace_time_zone(None)),
        "wrong.parquet",
    )
    assert wrong.counts["out_of_session"] > 0


def test_naive_timestamps_of_another_zone(tmp_path):
    local = bars(session(DAY))
    london = local.with_columns(
        pl.col("timestamp")
        .dt.replace_time_zone(NY)
        .dt.convert_time_zone("Europe/London")
        .dt.replace_time_zone(None)
    )
    a = run(tmp_path, local, "ny.parquet")
    b = run(tmp_path, london, "london.parquet", bars_timezone="Europe/London")
    assert_frame_equal(a.frame, b.frame)


def test_a_half_day_is_read_from_the_data(tmp_path):
    black_friday, other = date(2021, 11, 26), date(2021, 11, 29)
    frame = pl.concat([bars(session(black_friday, end="13:00")), bars(session(other, end="12:00"))])
    result = run(tmp_path, frame, bars_min_share=0.8)
    assert result.frame["date"].to_list() == [black_friday]
    assert result.counts["half_days"] == 1
    assert result.frame["n_bars"][0] == 42
    (dropped,) = result.dropped_days
    assert dropped["date"] == other
    assert "too few bars: 30 of 78" in dropped["reason"]


def test_duplicates_keep_the_last_bar_out_of_order_bars_are_sorted(tmp_path):
    times = [at(DAY, "09:30"), at(DAY, "09:35"), at(DAY, "09:40")]
    clean = bars(times, closes=[101.0, 100.0, 102.0], opens=[100.0, 101, 100])
    first_copy = bars([at(DAY, "09:35")], closes=[90.0], opens=[90.0])
    messy = pl.concat(
        [clean[2], first_copy, clean[0], clean[1]]
    )  # 09:40, 09:35 (bad), 09:30, 09:35
    expected = run(tmp_path, clean, "clean.parquet")
    result = run(tmp_path, messy, "messy.csv")
    assert_frame_equal(expected.frame, result.frame)
    assert result.counts["duplicates"] == 1
    assert result.counts["out_of_order"] == 2
    assert result.counts["rows"] == 4


def test_out_of_session_and_zero_volume_bars(tmp_path):
    times = [
        at(DAY, "09:25"),
        at(DAY, "09:30"),
        at(DAY, "09:35"),
        at(DAY, "16:00"),
        at(DAY, "16:05"),
    ]
    frame = bars(
        times,
        closes=[80.0, 101.0, 100.0, 120.0, 130.0],
        opens=[80.0, 100.0, 101.0, 120.0, 130.0],
        volumes=[5.0, 10.0, 0.0, 5.0, 5.0],
    )
    result = run(tmp_path, frame)
    row = result.frame.row(0, named=True)
    assert_day(row, expected_measures(100.0, [101.0, 100.0]))
    assert result.counts["out_of_session"] == 3
    assert result.counts["zero_volume"] == 1
    assert row["n_bars"] == 2


def test_bars_labelled_at_their_end(tmp_path):
    start = bars(session(DAY, every=1, end="10:30"))
    end = start.with_columns(pl.col("timestamp") + timedelta(minutes=1))
    a = run(tmp_path, start, "start.parquet")
    b = run(tmp_path, end, "end.parquet", bars_label="end")
    assert_frame_equal(a.frame, b.frame)
    c = run(tmp_path, end, "end-as-start.parquet")
    assert c.frame["rv5"][0] != pytest.approx(a.frame["rv5"][0])


def test_too_few_bars_drop_the_day_and_the_next_overnight(tmp_path):
    days = [DAY + timedelta(days=k) for k in range(3)]
    frame = pl.concat(
        [bars(session(days[0])), bars(session(days[1], end="11:00")), bars(session(days[2]))]
    )
    result = run(tmp_path, frame, bars_min_share=0.8)
    assert result.frame["date"].to_list() == [days[0], days[2]]
    assert result.dropped_days == [
        {
            "date": days[1],
            "reason": "too few bars: 18 of 78 5-minute intervals observed (minimum share 0.8)",
        }
    ]
    assert result.frame["overnight_ret"].to_list() == [None, None]


def test_days_after_a_gap_in_the_data_get_no_overnight_return(tmp_path):
    later = DAY + timedelta(days=14)
    result = run(tmp_path, pl.concat([bars(session(DAY)), bars(session(later))]))
    assert result.frame["overnight_ret"].to_list() == [None, None]


def test_separate_date_and_time_columns_and_other_names(tmp_path):
    frame = bars(session(DAY))
    split = frame.select(
        pl.col("timestamp").dt.strftime("%m/%d/%Y").alias("Date"),
        pl.col("timestamp").dt.strftime("%H:%M").alias("Time"),
        pl.col("open").alias("Open"),
        pl.col("close").alias("Last"),
    )
    a = run(tmp_path, frame, "a.parquet")
    b = run(tmp_path, split, "b.csv")
    assert_frame_equal(a.frame.drop("n_bars"), b.frame.drop("n_bars"))
    assert any("no volume column" in n for n in b.notes)


# -- bad rows ------------------------------------------------------------------------------


def bad_csv(tmp_path: Path, cell: str, column: str = "close", row: int = 3) -> Path:
    frame = bars(session(DAY)).with_columns(pl.all().cast(pl.String))
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit(cell))
        .otherwise(pl.col(column))
        .alias(column)
    )
    return write(frame, tmp_path / "bad.csv")


@pytest.mark.parametrize(
    ("column", "cell", "reason"),
    [
        ("close", "abc", "'abc' is not a number"),
        ("close", "", "price is missing"),
        ("close", "-5", "'-5' is not a positive price"),
        ("open", "n/a", "'n/a' is not a number"),
        ("timestamp", "2021-03-01 9h35", "'2021-03-01 9h35' is not a timestamp"),
        ("timestamp", "", "timestamp is missing"),
        ("volume", "-1", "is not a volume"),
    ],
)
def test_a_bad_csv_row_is_named_by_file_line_and_column(tmp_path, column, cell, reason):
    path = bad_csv(tmp_path, cell, column, row=3)
    with pytest.raises(RealizedInputError) as err:
        measures_from_bars(path, Settings())
    message = str(err.value)
    assert str(path) in message
    assert "line 5" in message  # header is line 1, data row 3 (0-based) is line 5
    assert f"column {column!r}" in message
    assert reason in message
    assert err.value.line == 5


def test_a_bad_parquet_row_is_named_by_file_and_row(tmp_path):
    frame = bars(session(DAY)).with_columns(
        close=pl.when(pl.int_range(pl.len()) == 7).then(float("nan")).otherwise(pl.col("close"))
    )
    folder = tmp_path / "bars"
    write(frame, folder / "date=2021-03-01" / "part.parquet")
    with pytest.raises(
        RealizedInputError, match=r"part\.parquet, row 7 \(0-based\), column 'close'"
    ):
        measures_from_bars(folder, Settings())


def test_unreadable_inputs(tmp_path):
    with pytest.raises(RealizedInputError, match="no such file or folder"):
        measures_from_bars(tmp_path / "nothing", Settings())
    (tmp_path / "empty").mkdir()
    with pytest.raises(RealizedInputError, match="no bar files"):
        measures_from_bars(tmp_path / "empty", Settings())
    path = write(pl.DataFrame({"when": ["x"], "px": [1.0]}), tmp_path / "odd.csv")
    with pytest.raises(RealizedInputError, match="no column for a close price and a timestamp"):
        measures_from_bars(path, Settings())


# -- partitions ----------------------------------------------------------------------------


def many_days(n: int) -> pl.DataFrame:
    days = [DAY + timedelta(days=k) for k in range(n * 7 // 5 + 3)]
    days = [d for d in days if d.weekday() < 5][:n]
    frames = []
    for k, d in enumerate(days):
        times = session(d, every=1)
        closes = [
            100 * math.exp(0.01 * math.sin(k + j / 37) + 0.0003 * ((-1) ** j))
            for j in range(len(times))
        ]
        frames.append(bars(times, closes=closes, opens=[closes[0] * 1.001, *closes[:-1]]))
    return pl.concat(frames)


def test_partitioned_equals_unpartitioned_with_overnight_across_boundaries(tmp_path):
    frame = many_days(12)
    folder = tmp_path / "hive"
    local = pl.col("timestamp").dt.date()
    for (day,), part in frame.with_columns(d=local).partition_by("d", as_dict=True).items():
        write(part.drop("d"), folder / f"date={day}" / "bars.parquet")
    one = write(frame, tmp_path / "one.parquet")
    settings = Settings(bars_partition_rows=1000)
    partitions = plan_partitions(folder, settings)
    assert len(partitions) == 6  # 390 rows a day: two days per partition
    frames = [measures_for_partition(p, settings) for p in reversed(partitions)]
    combined = combine_partitions(frames)
    single = measures_from_bars(one, settings)
    assert_frame_equal(combined.frame, single.frame)
    assert combined.frame["overnight_ret"].null_count() == 1
    assert combined.counts["partitions"] == 6


def test_files_that_share_a_day_go_to_one_partition(tmp_path):
    frame = many_days(4)
    folder = tmp_path / "plain"
    cut = 390 + 200  # the second day is split between the first two files
    write(frame.slice(0, cut), folder / "a.csv")
    write(frame.slice(cut, 190), folder / "b.csv")
    write(frame.slice(cut + 190), folder / "c.csv")
    settings = Settings(bars_partition_rows=1)
    partitions = plan_partitions(folder, settings)
    assert [len(p.files) for p in partitions] == [2, 1]
    result = measures_from_bars(folder, settings)
    assert_frame_equal(
        result.frame, measures_from_bars(write(frame, tmp_path / "x.parquet"), settings).frame
    )


def test_combining_refuses_a_day_split_between_partitions(tmp_path):
    frame = many_days(1)
    settings = Settings(bars_min_share=0.0)
    halves = [
        write(frame.slice(0, 200), tmp_path / "a.parquet"),
        write(frame.slice(200), tmp_path / "b.parquet"),
    ]
    frames = [measures_for_partition(plan_partitions(p, settings)[0], settings) for p in halves]
    with pytest.raises(RealizedInputError, match="has bars in more than one partition"):
        combine_partitions(frames)


def test_hive_year_month_folders_sort_numerically(tmp_path):
    frame = many_days(3)
    folder = tmp_path / "ym"
    for k, month in enumerate([2, 10, 11]):
        day_rows = frame.slice(390 * k, 390)
        write(day_rows, folder / "year=2021" / f"month={month}" / "bars.parquet")
    partitions = plan_partitions(folder, Settings(bars_partition_rows=1))
    assert [Path(p.files[0]).parent.name for p in partitions] == ["month=2", "month=10", "month=11"]
    assert partitions[0].first_day == date(2021, 2, 1)
    assert partitions[0].last_day == date(2021, 2, 28)
