from datetime import date

import pytest

from volpred.data.rawcsv import read_raw_csv, summarize

HEADER = "date,spx_open,spx_high,spx_low,spx_close,spx_volume,vix_close,dgs10,dgs2,t10y2y\n"
ROWS = (
    "2021-03-01,100,101,99,100.5,1000000,20.1,1.4,0.1,1.3\n"
    "2021-03-02,100.5,102,100,101.5,1100000,19.5,1.42,0.12,1.3\n"
)


def kinds(parsed):
    return sorted({p.kind for p in parsed.problems})


def test_reads_canonical_file(write_csv):
    parsed = read_raw_csv(write_csv("ok.csv", HEADER + ROWS))
    assert parsed.ok
    assert parsed.frame.height == 2
    assert parsed.frame["spx_close"].to_list() == [100.5, 101.5]
    assert parsed.frame["vix_open"].null_count() == 2  # absent optional column -> nulls


def test_columns_in_any_order_and_case_with_bom_and_semicolons(write_csv):
    text = "\ufeffVIX_Close;Date;SPX_Close\n20.1;2021-03-01;100.5\n19.5;2021-03-02;101.5\n"
    parsed = read_raw_csv(write_csv("semi.csv", text))
    assert parsed.ok, parsed.problems
    assert parsed.separator == ";"
    assert parsed.frame["date"].to_list() == [date(2021, 3, 1), date(2021, 3, 2)]


@pytest.mark.parametrize(
    ("value", "fmt"),
    [
        ("03/01/2021", "%m/%d/%Y"),
        ("2021/03/01", "%Y/%m/%d"),
        ("20210301", "%Y%m%d"),
        ("01.03.2021", "%d.%m.%Y"),
    ],
)
def test_other_date_formats_are_detected_and_recorded(write_csv, value, fmt):
    parsed = read_raw_csv(write_csv("d.csv", f"date,spx_close,vix_close\n{value},1,2\n"))
    assert parsed.ok
    assert parsed.date_format == fmt
    assert parsed.frame["date"][0] == date(2021, 3, 1)


def test_null_markers_become_nulls(write_csv):
    text = "date,spx_close,vix_close,dgs10\n2021-03-01,100,#N/A,.\n2021-03-02,101,NaN,\n"
    parsed = read_raw_csv(write_csv("n.csv", text))
    assert parsed.ok
    assert parsed.frame["vix_close"].null_count() == 2
    assert parsed.frame["dgs10"].null_count() == 2


def test_every_bad_cell_is_named_by_line_and_column(write_csv):
    text = HEADER + ROWS + "2021-03-03,1,2,0.5,abc,10,20,1,1,0\nnot-a-date,1,2,0.5,1,10,inf,1,1,0\n"
    parsed = read_raw_csv(write_csv("bad.csv", text))
    found = {(p.line, p.column) for p in parsed.problems}
    assert (4, "spx_close") in found
    assert (5, "date") in found
    assert (5, "vix_close") in found  # non-finite numbers are refused too
    message = summarize(parsed.problems)
    assert "line 4, column 'spx_close'" in message and "'abc'" in message


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("", "empty_file"),
        ("   \n", "empty_file"),
        ("date,spx_close,vix_close\n", "no_rows"),
        ("date,spx_close\n2021-01-04,1\n", "missing_required_column"),
    ],
)
def test_structural_problems(write_csv, text, kind):
    parsed = read_raw_csv(write_csv("s.csv", text))
    assert kind in kinds(parsed)
    assert parsed.frame.height == 0


def test_missing_required_column_is_named(write_csv):
    parsed = read_raw_csv(write_csv("m.csv", "date,spx_close\n2021-01-04,1\n"))
    assert "column 'vix_close'" in summarize(parsed.problems)


def test_unreadable_path(tmp_path):
    parsed = read_raw_csv(tmp_path / "absent.csv")
    assert kinds(parsed) == ["unreadable"]


def test_extra_columns_are_listed_not_fatal(write_csv):
    parsed = read_raw_csv(write_csv("x.csv", "date,spx_close,vix_close,foo\n2021-01-04,1,2,3\n"))
    assert parsed.ok
    assert parsed.extra_columns == ["foo"]
