"""Macro series point in time: lag rules on hand-checked dates, the FRED file reader and its
refusals, the as-of join, short histories, and a property test that nothing joined at day t
was published after t."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from volpred.config import Settings
from volpred.data import macro
from volpred.data.macro import LagRule, MacroInputError

D = date.fromisoformat


# --- lag rules and calendar -----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["bday+1", "bday+0", "day+3", "weekday:wed", "weekday:thu+2w", "monthend+1m", "monthend+0m"],
)
def test_rule_text_round_trips(text: str) -> None:
    assert str(LagRule.parse(text)) == text
    assert LagRule.parse(f"  {text.upper()} ") == LagRule.parse(text)


@pytest.mark.parametrize("text", ["", "bday", "bday-1", "weekday:xyz", "monthend+1", "weekly:wed"])
def test_bad_rule_text_names_the_grammar(text: str) -> None:
    with pytest.raises(ValueError, match="bday\\+N, day\\+N"):
        LagRule.parse(text)


def test_federal_holidays_of_2018_and_2021() -> None:
    # OPM's lists, observed days: Veterans Day 2018 (a Sunday) on Monday the 12th; in 2021
    # Juneteenth (Saturday) on Friday the 18th, July 4 (Sunday) on the 5th, Christmas
    # (Saturday) on the 24th and New Year's Day 2022 (Saturday) on Friday 2021-12-31.
    assert macro.us_federal_holidays(2018, 2018) == [
        D(x)
        for x in [
            "2018-01-01", "2018-01-15", "2018-02-19", "2018-05-28", "2018-07-04",
            "2018-09-03", "2018-10-08", "2018-11-12", "2018-11-22", "2018-12-25",
        ]
    ]  # fmt: skip
    assert macro.us_federal_holidays(2021, 2022)[:11] == [
        D(x)
        for x in [
            "2021-01-01", "2021-01-18", "2021-02-15", "2021-05-31", "2021-06-18",
            "2021-07-05", "2021-09-06", "2021-10-11", "2021-11-11", "2021-11-25",
            "2021-12-24",
        ]
    ]  # fmt: skip
    assert D("2021-12-31") in macro.us_federal_holidays(2021, 2022)
    assert D("1985-01-21") not in macro.us_federal_holidays(1985, 1985)  # MLK Day from 1986


#: (rule, observation date, available on the us_federal calendar, on the weekday calendar).
#: Around Christmas 2018 (Tue 12-25), Thanksgiving 2018 (Thu 11-22), July 4 2018 (Wed),
#: MLK Day 2019 (Mon 01-21), Memorial Day 2021 (Mon 05-31) and New Year's Day 2022, observed
#: on Fri 2021-12-31.
CASES = [
    ("weekday:wed", "2018-12-21", "2018-12-26", "2018-12-26"),  # ANFCI: Fri -> next Wed
    ("weekday:wed", "2018-06-29", "2018-07-05", "2018-07-04"),  # that Wed is July 4
    ("weekday:thu", "2018-12-21", "2018-12-27", "2018-12-27"),  # STLFSI4: Fri -> Thu
    ("weekday:thu", "2018-11-16", "2018-11-23", "2018-11-22"),  # Thanksgiving
    ("weekday:thu", "2018-12-22", "2018-12-27", "2018-12-27"),  # ICSA: Sat -> Thu
    ("weekday:thu", "2018-11-17", "2018-11-23", "2018-11-22"),
    ("weekday:wed", "2018-12-19", "2018-12-26", "2018-12-26"),  # strictly after: a week on
    ("weekday:wed+1w", "2018-12-17", "2018-12-26", "2018-12-26"),  # DCOILWTICO: Mon, 9 days
    ("weekday:wed+1w", "2018-12-18", "2018-12-26", "2018-12-26"),  # Tue, 8 days
    ("weekday:wed+1w", "2018-12-19", "2019-01-02", "2019-01-02"),  # Wed, 14 days
    ("weekday:wed+1w", "2018-12-20", "2019-01-02", "2019-01-02"),  # Thu, 13 days
    ("monthend+1m", "2018-11-01", "2018-12-31", "2018-12-31"),  # CFNAI
    ("monthend+1m", "2018-08-01", "2018-09-28", "2018-09-28"),  # 09-30 is a Sunday
    ("monthend+1m", "2021-04-01", "2021-05-28", "2021-05-31"),  # 05-31 is Memorial Day
    ("monthend+1m", "2018-12-01", "2019-01-31", "2019-01-31"),  # across a year
    ("monthend+0m", "2021-05-31", "2021-06-01", "2021-05-31"),  # never before d
    ("bday+1", "2018-12-21", "2018-12-24", "2018-12-24"),  # daily: Fri -> Mon
    ("bday+1", "2018-12-24", "2018-12-26", "2018-12-25"),  # Christmas skipped
    ("bday+1", "2018-12-22", "2018-12-24", "2018-12-24"),  # from a Saturday: Monday
    ("bday+1", "2019-01-18", "2019-01-22", "2019-01-21"),  # MLK Day
    ("bday+1", "2021-12-30", "2022-01-03", "2021-12-31"),  # observed New Year's Day
    ("bday+2", "2018-12-21", "2018-12-26", "2018-12-25"),
    ("bday+0", "2018-12-21", "2018-12-21", "2018-12-21"),
    ("bday+0", "2018-12-22", "2018-12-24", "2018-12-24"),
    ("bday+0", "2018-12-25", "2018-12-26", "2018-12-25"),
    ("day+3", "2018-12-21", "2018-12-24", "2018-12-24"),
    ("day+3", "2018-12-22", "2018-12-26", "2018-12-25"),
]


@pytest.mark.parametrize(("rule", "obs", "federal", "weekdays"), CASES)
def test_lag_rules_on_hand_checked_dates(rule: str, obs: str, federal: str, weekdays: str) -> None:
    assert macro.availability_dates([D(obs)], rule, "us_federal").to_list() == [D(federal)]
    assert macro.availability_dates([D(obs)], rule, "weekday").to_list() == [D(weekdays)]


def test_availability_dates_keep_length_and_nulls() -> None:
    out = macro.availability_dates(pl.Series([D("2018-12-21"), None]), "bday+1")
    assert out.to_list() == [D("2018-12-24"), None]
    assert macro.availability_dates([], "bday+1").len() == 0


def test_default_specs_match_settings_and_the_brief() -> None:
    assert [s.id for s in macro.DEFAULT_SERIES] == Settings.model_fields["macro_series"].default
    rules = {s.id: str(s.lag_rule) for s in macro.DEFAULT_SERIES}
    assert rules == {
        "ANFCI": "weekday:wed",
        "STLFSI4": "weekday:thu",
        "BAMLH0A0HYM2": "bday+1",
        "BAMLC0A0CM": "bday+1",
        "ICSA": "weekday:thu",
        "CFNAI": "monthend+1m",
        "DCOILWTICO": "weekday:wed+1w",
        "DGS30": "bday+1",
        "T10YIE": "bday+1",
    }
    assert macro.DEFAULT_SERIES[0].column == "anfci"
    assert macro.DEFAULT_SERIES[0].obs_column == "anfci_obs_date"


def test_specs_from_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOLPRED_MACRO_SERIES", '["ICSA", "NFCI"]')
    monkeypatch.setenv("VOLPRED_MACRO_LAGS", '{"ICSA": "weekday:fri", "NFCI": "weekday:wed"}')
    specs = macro.macro_specs(Settings())
    assert [(s.id, s.frequency, str(s.lag_rule)) for s in specs] == [
        ("ICSA", "weekly", "weekday:fri"),
        ("NFCI", "weekly", "weekday:wed"),  # not catalogued: frequency from its rule
    ]
    # A series missing from macro_lags keeps its default rule; one without any is refused.
    mixed = settings.with_overrides(macro_series=["CFNAI"], macro_lags={"ICSA": "bday+1"})
    assert str(macro.macro_specs(mixed)[0].lag_rule) == "monthend+1m"
    with pytest.raises(ValueError, match="'XYZ' has no publication-lag rule"):
        macro.macro_specs(settings.with_overrides(macro_series=["XYZ"]))
    with pytest.raises(ValueError, match=r"macro_lags\['ICSA'\]: lag rule 'thursday'"):
        macro.macro_specs(settings.with_overrides(macro_lags={"ICSA": "thursday"}))
    with pytest.raises(ValueError, match="twice"):
        macro.macro_specs(settings.with_overrides(macro_series=["ICSA", "ICSA"]))


# --- reading FRED files ---------------------------------------------------------------------


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    def write_file(name: str, text: str | bytes, folder: Path = tmp_path) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
        return path

    return write_file


def test_reads_fred_layout_with_empty_and_dot_missing(write: Callable[..., Path]) -> None:
    path = write(
        "DGS30.csv", "\ufeffobservation_date,DGS30\r\n2018-12-24,3.0\r\n2018-12-25,\r\n"
        "2018-12-26,.\r\n2018-12-27,2.97\r\n\r\n"
    )  # fmt: skip
    table = macro.read_fred_csv(path, "DGS30")
    assert table.schema == pl.Schema({"obs_date": pl.Date, "value": pl.Float64})
    assert table["value"].to_list() == [3.0, None, None, 2.97]
    older = write("ICSA.csv", "DATE,ICSA\n2018-12-22,217000.0\n2018-12-29,.\n")
    assert macro.read_fred_csv(older, "ICSA")["value"].to_list() == [217000.0, None]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("observation_date,ANFCI\n2018-12-07,-0.4\n2018-12-14,abc\n", 3, "not a number: 'abc'"),
        ("observation_date,ANFCI\n2018-12-07,-0.4\n2018-12-14,nan\n", 3, "not a number: 'nan'"),
        ("observation_date,ANFCI\n2018-12-07,1\n2018-12-14,2\n2018-13-01,3\n", 4, "not a date"),
        ("observation_date,ANFCI\n12/07/2018,-0.4\n", 2, "not a date (YYYY-MM-DD): '12/07/2018'"),
        ("date,value\n2018-12-07,-0.4\n", 1, "header 'date,value' is not 'observation_date,ANFCI'"),
        ("observation_date,ICSA\n2018-12-07,-0.4\n", 1, "is not 'observation_date,ANFCI'"),
        ("observation_date,ANFCI,X\n2018-12-07,1,2\n", 1, "header"),
        ("observation_date,ANFCI\n2018-12-07,1\n2018-12-14,2,3\n", 3, "3 fields where the header"),
        ("observation_date,ANFCI\n2018-12-07,1\n2018-12-07,2\n", 3, "repeats the previous"),
        ("observation_date,ANFCI\n2018-12-14,1\n2018-12-07,2\n", 3, "comes before the previous"),
    ],
    ids=[
        "text",
        "nan",
        "bad-date",
        "us-date",
        "header",
        "other-series",
        "three-columns",
        "ragged",
        "duplicate",
        "unsorted",
    ],
)
def test_bad_file_names_file_and_line(
    write: Callable[..., Path], text: str, line: int, message: str
) -> None:
    path = write("ANFCI.csv", text)
    with pytest.raises(MacroInputError) as caught:
        macro.read_fred_csv(path, "ANFCI")
    err = caught.value
    assert (err.path, err.line) == (path, line)
    assert str(err).startswith(f"{path}, line {line}: ")
    assert message in str(err)


def test_bad_file_counts_further_lines(write: Callable[..., Path]) -> None:
    path = write("ANFCI.csv", "observation_date,ANFCI\n2018-12-07,x\n2018-12-14,y\n2018-12-21,z\n")
    with pytest.raises(MacroInputError, match="line 2: .*'x'.*and 2 more such lines"):
        macro.read_fred_csv(path, "ANFCI")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "the file is empty"),
        ("observation_date,ANFCI\n", "a header but no observations"),
        ("observation_date,ANFCI\n2018-12-07,\n2018-12-14,.\n", "every value is missing"),
        (b"observation_date,ANFCI\n2018-12-07,\xff\n", "line 2: not UTF-8"),
    ],
    ids=["empty", "header-only", "all-missing", "latin-1"],
)
def test_files_without_observations_are_refused(
    write: Callable[..., Path], content: str | bytes, message: str
) -> None:
    path = write("ANFCI.csv", content)
    with pytest.raises(MacroInputError, match=message) as caught:
        macro.read_fred_csv(path, "ANFCI")
    assert str(path) in str(caught.value)


WEEKLY = "observation_date,ANFCI\n2018-12-07,-0.43\n2018-12-14,-0.42\n2018-12-21,-0.41\n"
MONTHLY = "observation_date,CFNAI\n2018-09-01,0.17\n2018-10-01,-0.21\n2018-11-01,0.01\n"
SPECS = [s for s in macro.DEFAULT_SERIES if s.id in ("ANFCI", "CFNAI")]


def test_read_macro_dir_gives_the_long_frame(tmp_path: Path, write: Callable[..., Path]) -> None:
    write("ANFCI.csv", WEEKLY)
    write("CFNAI.csv", MONTHLY)
    write("notes.txt", "ignored")
    result = macro.read_macro_dir(tmp_path, SPECS, min_years=0)
    assert result.frame.schema == pl.Schema(macro.MACRO_SCHEMA)
    assert result.series == ["ANFCI", "CFNAI"]
    assert result.uris == [str(tmp_path / "ANFCI.csv"), str(tmp_path / "CFNAI.csv")]
    rows = result.frame.filter(pl.col("series") == "CFNAI").select("obs_date", "available_date")
    assert rows.rows() == [
        (D("2018-09-01"), D("2018-10-31")),
        (D("2018-10-01"), D("2018-11-30")),
        (D("2018-11-01"), D("2018-12-31")),
    ]
    assert not result.synthetic and result.source == "folder"
    assert "latest vintage" in result.notes[0]
    assert result.short_series == []


def test_read_macro_dir_names_a_missing_file_or_folder(
    tmp_path: Path, write: Callable[..., Path]
) -> None:
    write("ANFCI.csv", WEEKLY)
    with pytest.raises(MacroInputError, match="no file for series CFNAI") as caught:
        macro.read_macro_dir(tmp_path, SPECS)
    assert caught.value.path == tmp_path / "CFNAI.csv"
    with pytest.raises(MacroInputError, match="does not exist"):
        macro.read_macro_dir(tmp_path / "nowhere", SPECS)


def test_the_shared_fred_files_read_point_in_time() -> None:
    real = Path(__file__).resolve().parents[3] / "shared" / "data" / "fred"
    if not (real / "ANFCI.csv").is_file():
        pytest.skip("the shared FRED files are not next to this checkout")
    result = macro.read_macro_dir(real, start=D("1990-01-02"), end=D("2018-12-31"))
    assert result.short_series == []
    counts = dict(result.frame.group_by("series").len().rows())
    assert counts["ANFCI"] == 2035 and counts["CFNAI"] == 468
    lag = (pl.col("available_date") - pl.col("obs_date")).dt.total_days()
    assert result.frame.select(lag.min()).item() >= 1


# --- the as-of join -------------------------------------------------------------------------


def weekdays(first: str, last: str) -> pl.DataFrame:
    days = pl.date_range(D(first), D(last), "1d", eager=True)
    return pl.DataFrame({"date": days.filter(days.dt.weekday() <= 5)})


def long_frame(series_id: str, rule: str, rows: list[tuple[str, float]]) -> pl.DataFrame:
    obs = [D(d) for d, _ in rows]
    return pl.DataFrame(
        {
            "series": [series_id] * len(rows),
            "obs_date": obs,
            "available_date": macro.availability_dates(obs, rule),
            "value": [v for _, v in rows],
        },
        schema=macro.MACRO_SCHEMA,
    )


def test_join_uses_what_was_published_by_each_day() -> None:
    anfci = long_frame(
        "ANFCI",
        "weekday:wed",
        [("2018-12-07", -0.43), ("2018-12-14", -0.42), ("2018-12-21", -0.41)],
    )
    daily = weekdays("2018-12-10", "2018-12-31").with_columns(x=pl.int_range(pl.len()))
    joined = macro.join_macro(daily, anfci)
    assert joined.columns == ["date", "x", "anfci", "anfci_obs_date"]
    by_day = {r[0]: (r[2], r[3]) for r in joined.rows()}
    assert by_day[D("2018-12-11")] == (None, None)  # the 12-07 value is out on Wed 12-12
    assert by_day[D("2018-12-12")] == (-0.43, D("2018-12-07"))
    assert by_day[D("2018-12-18")] == (-0.43, D("2018-12-07"))
    assert by_day[D("2018-12-19")] == (-0.42, D("2018-12-14"))
    assert by_day[D("2018-12-21")] == (-0.42, D("2018-12-14"))  # its own week is not out yet
    assert by_day[D("2018-12-26")] == (-0.41, D("2018-12-21"))
    assert by_day[D("2018-12-31")] == (-0.41, D("2018-12-21"))


def test_join_keeps_row_order_and_adds_requested_series() -> None:
    daily = weekdays("2018-12-17", "2018-12-28").reverse().with_columns(spx_close=pl.lit(1.0))
    dgs30 = long_frame("DGS30", "bday+1", [("2018-12-21", 3.0), ("2018-12-24", 2.98)])
    joined = macro.join_macro(daily, dgs30, series=["ICSA", "DGS30"])
    assert joined["date"].to_list() == daily["date"].to_list()
    assert joined.columns == [
        "date", "spx_close", "icsa", "icsa_obs_date", "dgs30", "dgs30_obs_date"
    ]  # fmt: skip
    assert joined["icsa"].null_count() == joined.height
    row = joined.filter(pl.col("date") == D("2018-12-26")).row(0, named=True)
    assert (row["dgs30"], row["dgs30_obs_date"]) == (2.98, D("2018-12-24"))
    row = joined.filter(pl.col("date") == D("2018-12-24")).row(0, named=True)
    assert (row["dgs30"], row["dgs30_obs_date"]) == (3.0, D("2018-12-21"))


def test_join_takes_the_newest_of_values_out_the_same_day() -> None:
    # Mon 12-24 and (a value dated on) Christmas both come out on Wed 12-26.
    frame = long_frame("X", "bday+1", [("2018-12-24", 1.0), ("2018-12-25", 2.0)])
    assert frame["available_date"].to_list() == [D("2018-12-26")] * 2
    joined = macro.join_macro(weekdays("2018-12-26", "2018-12-26"), frame)
    assert joined.select("x", "x_obs_date").row(0) == (2.0, D("2018-12-25"))


def test_join_refuses_clashes_and_non_dates() -> None:
    frame = long_frame("DGS30", "bday+1", [("2018-12-21", 3.0)])
    with pytest.raises(ValueError, match=r"already has columns \['dgs30'\]"):
        macro.join_macro(weekdays("2018-12-24", "2018-12-28").with_columns(dgs30=1.0), frame)
    with pytest.raises(ValueError, match="dtype Date"):
        macro.join_macro(pl.DataFrame({"date": ["2018-12-24"]}), frame)


# --- short histories ------------------------------------------------------------------------


def test_short_series_are_reported_and_still_joined(
    caplog: pytest.LogCaptureFixture,
) -> None:
    days = pl.date_range(D("2010-01-01"), D("2018-12-31"), "1d", eager=True)
    long = pl.concat(
        [
            long_frame("OLD", "bday+1", [(str(d), 1.0) for d in days.gather_every(7)]),
            long_frame(
                "NEW", "bday+1", [(str(d), 2.0) for d in days.filter(days.dt.year() >= 2016)]
            ),
        ]
    )
    with caplog.at_level(logging.WARNING, logger="volpred.data.macro"):
        short = macro.find_short_series(long, ["OLD", "NEW", "NONE"], 5)
    assert short == [
        {
            "series": "NEW",
            "first": D("2016-01-01"),
            "last": D("2018-12-31"),
            "observations": 1096,
            "years": 3.0,
        },
        {"series": "NONE", "first": None, "last": None, "observations": 0, "years": 0.0},
    ]
    assert "macro series NEW: 1096 observations over 3.0 years" in caplog.text
    assert "too short to train on" in caplog.text
    # Measured over the span joined: from 2015 on, OLD has four years only.
    assert [s["series"] for s in macro.find_short_series(long, ["OLD"], 5, D("2015-01-01"))] == [
        "OLD"
    ]
    joined = macro.join_macro(weekdays("2018-12-24", "2018-12-28"), long, ["OLD", "NEW"])
    assert joined["new"].null_count() == 0


def test_read_macro_dir_reports_short_series_in_the_window(
    tmp_path: Path, write: Callable[..., Path]
) -> None:
    write("ANFCI.csv", WEEKLY)
    write("CFNAI.csv", MONTHLY)
    # Counted by availability: CFNAI of 09-01 is out on 10-31, inside the window.
    result = macro.read_macro_dir(tmp_path, SPECS, min_years=5, start=D("2018-10-15"))
    assert [(s["series"], s["first"], s["observations"]) for s in result.short_series] == [
        ("ANFCI", D("2018-12-07"), 3),
        ("CFNAI", D("2018-09-01"), 3),
    ]
    result = macro.read_macro_dir(tmp_path, SPECS, min_years=5, end=D("2018-12-01"))
    assert [(s["series"], s["observations"]) for s in result.short_series] == [
        ("ANFCI", 0),
        ("CFNAI", 2),
    ]


# --- property: nothing from the future ------------------------------------------------------

BASE = date(2016, 1, 1)
RULES = st.one_of(
    st.builds(LagRule, st.sampled_from(["bday", "day"]), st.integers(0, 12)),
    st.builds(lambda n, wd: LagRule("weekday", n, wd), st.integers(0, 3), st.integers(1, 7)),
    st.builds(lambda n: LagRule("monthend", n), st.integers(0, 3)),
)
DAY_OFFSETS = st.lists(st.integers(0, 1500), min_size=1, max_size=40, unique=True)


@st.composite
def macro_case(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, LagRule], str]:
    calendar = draw(st.sampled_from(["us_federal", "weekday"]))
    rules: dict[str, LagRule] = {}
    pieces = []
    for index in range(draw(st.integers(1, 3))):
        series_id = f"S{index}"
        rules[series_id] = draw(RULES)
        obs = sorted(BASE + timedelta(days=o) for o in draw(DAY_OFFSETS))
        values = [float(o.toordinal()) for o in obs]  # the value names its observation
        pieces.append(
            pl.DataFrame(
                {
                    "series": [series_id] * len(obs),
                    "obs_date": obs,
                    "available_date": macro.availability_dates(obs, rules[series_id], calendar),
                    "value": values,
                },
                schema=macro.MACRO_SCHEMA,
            )
        )
    days = [BASE + timedelta(days=o) for o in draw(DAY_OFFSETS)]
    daily = pl.DataFrame({"date": days}, schema={"date": pl.Date})  # any order, any weekday
    return daily, pl.concat(pieces), rules, calendar


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(macro_case())
def test_no_joined_value_was_published_after_its_day(
    case: tuple[pl.DataFrame, pl.DataFrame, dict[str, LagRule], str],
) -> None:
    daily, long, rules, calendar = case
    joined = macro.join_macro(daily, long)
    assert joined["date"].to_list() == daily["date"].to_list()
    holidays = set(macro.holidays_for(calendar, 2014, 2022))  # type: ignore[arg-type]
    for series_id in rules:
        mine = long.filter(pl.col("series") == series_id)
        published = dict(zip(mine["obs_date"], mine["available_date"], strict=True))
        for available in published.values():
            assert available.weekday() < 5 and available not in holidays
        for obs, available in published.items():
            assert available >= obs
        column = series_id.lower()
        for day, value, obs in joined.select("date", column, f"{column}_obs_date").rows():
            known = [o for o, a in published.items() if a <= day]
            if obs is None:
                assert value is None and not known
                continue
            assert published[obs] <= day  # published by the day it is used
            assert obs <= day  # never a future observation
            assert value == float(obs.toordinal())  # the value of that observation
            assert obs == max(known)  # and the newest one known then
