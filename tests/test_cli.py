import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.support.markets import make_raw
from tests.support.runs import copy_served
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


def _served_card(settings) -> tuple[Path, dict]:
    version = (settings.artifacts_dir / "latest").read_text().strip()
    path = settings.artifacts_dir / "models" / version / "model_card.json"
    return path, json.loads(path.read_text())


def _train(settings, *flags: str) -> dict:
    args = ["train", "--data-dir", str(settings.data_dir)]
    result = runner.invoke(app, [*args, "--artifacts-dir", str(settings.artifacts_dir), *flags])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def retrained(served, tmp_path, settings, monkeypatch):
    """A copy of the served model whose training 'again' leaves its candidate as it is."""
    from volpred.model import candidate

    copy = copy_served(served, tmp_path)
    fingerprint = candidate.candidate_card(copy).fingerprint
    result = {"headline": {"overall": {"vol": {}}}, "fingerprint": fingerprint}
    monkeypatch.setattr(candidate, "train_candidate", lambda s: result)
    return copy


def test_train_saves_again_a_version_kept_without_its_predictions(retrained):
    """The same rule as the flow's: a version saved before predictions were kept with it is
    not 'already served'."""
    path, card = _served_card(retrained)
    del card["extra_files"]["oos_predictions.parquet"]
    path.write_text(json.dumps(card))
    out = _train(retrained)
    assert out["promoted"] is True and out["version"] != card["version"]
    assert "oos_predictions.parquet" in _served_card(retrained)[1]["extra_files"]
    again = _train(retrained)
    assert (again["promoted"], again["reason"]) == (False, "already served")


def test_train_keeps_the_served_model_when_the_new_one_is_worse_unless_forced(retrained):
    path, card = _served_card(retrained)
    card["fingerprint"] = "train-another-model"
    card["metrics"]["headline"]["overall"]["vol"]["selected"].update(rmse=1e-6, qlike=1e-6)
    path.write_text(json.dumps(card))
    out = _train(retrained)
    assert out["promoted"] is False and out["version"] == card["version"]
    assert out["reason"] == "worse than the served model (use --force)"
    assert {r["metric"] for r in out["comparison"] if not r["ok"]} == {
        "vol.selected.rmse",
        "vol.selected.qlike",
    }
    forced = _train(retrained, "--force")
    assert forced["promoted"] is True and forced["version"] != card["version"]
    assert list(forced) == ["headline", "promoted", "version", "path", "size_bytes"]
