import json

from typer.testing import CliRunner

from tests.conftest import make_raw
from volpred.cli import app

runner = CliRunner()


def test_ingest_then_clean_from_a_csv(tmp_path, settings):
    source = tmp_path / "in.csv"
    make_raw(n=200).write_csv(source)
    data = tmp_path / "d"
    result = runner.invoke(
        app, ["ingest", "--source", "csv", "--path", str(source), "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows"] == 200
    result = runner.invoke(app, ["clean", "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rows_out"] == 200
    assert (data / "cleaned_data.csv").is_file() and (data / "cleaned_data.parquet").is_file()


def test_env_vars_configure_and_flags_override(tmp_path, settings, monkeypatch):
    source = tmp_path / "in.csv"
    make_raw(n=150).write_csv(source)
    monkeypatch.setenv("VOLPRED_SOURCE", "csv")
    monkeypatch.setenv("VOLPRED_CSV_PATH", str(tmp_path / "missing.csv"))
    monkeypatch.setenv("VOLPRED_DATA_DIR", str(tmp_path / "env"))
    result = runner.invoke(app, ["ingest"])
    assert result.exit_code == 1
    assert "missing.csv" in result.stderr and "file not found" in result.stderr
    result = runner.invoke(app, ["ingest", "--path", str(source)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env" / "raw_market.csv").is_file()


def test_bad_csv_exits_non_zero_with_the_reason(tmp_path, settings):
    bad = tmp_path / "bad.csv"
    bad.write_text("date;spx_close\n2020-01-01;1\n")
    result = runner.invoke(
        app, ["ingest", "--source", "csv", "--path", str(bad), "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "vix_close" in result.stderr and "required column" in result.stderr


def test_unknown_source_is_a_usage_error(settings):
    result = runner.invoke(app, ["ingest", "--source", "bloomberg"])
    assert result.exit_code == 2
    assert "source" in result.output.lower()
