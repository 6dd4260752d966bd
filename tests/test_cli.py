import json

from typer.testing import CliRunner

from tests.support.markets import make_raw
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


def test_train_without_cleaned_data_says_what_to_run(tmp_path, settings):
    result = runner.invoke(app, ["train", "--data-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "cleaned_data.parquet is missing: run volpred clean" in result.stderr


def test_ingest_clean_train_on_the_sample(tmp_path, settings, monkeypatch):
    for key, value in {
        "VOLPRED_SAMPLE_START": "2008-01-02",
        "VOLPRED_MIN_TRAIN_YEARS": "5",
        "VOLPRED_SELECTION_YEARS": "2",
        "VOLPRED_REFIT_EVERY": "504",
    }.items():
        monkeypatch.setenv(key, value)
    data, artifacts = str(tmp_path / "d"), str(tmp_path / "a")
    assert runner.invoke(app, ["ingest", "--data-dir", data]).exit_code == 0
    assert runner.invoke(app, ["clean", "--data-dir", data]).exit_code == 0
    result = runner.invoke(app, ["train", "--data-dir", data, "--artifacts-dir", artifacts])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["promoted"] is True and out["headline"]["rmse"] > 0
    assert (tmp_path / "a" / "trained_model.skops").stat().st_size == out["size_bytes"]
    again = json.loads(
        runner.invoke(app, ["train", "--data-dir", data, "--artifacts-dir", artifacts]).stdout
    )
    assert (again["promoted"], again["reason"]) == (False, "already served")
    assert again["version"] == out["version"]
