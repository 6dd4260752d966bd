import json

import polars as pl
import pytest

from tests.conftest import make_raw
from tests.flows.conftest import task_states

pytestmark = pytest.mark.integration


@pytest.fixture
def run_flow(tmp_path, settings):
    """Run the pipeline with this test's own data, artifacts and results folders."""
    from flows.pipeline import volpred_pipeline

    def run(**params):
        params = {
            "data_dir": tmp_path / "data",
            "artifacts_dir": tmp_path / "artifacts",
            "results_dir": tmp_path / "results",
        } | params
        return volpred_pipeline(**params, return_state=True)

    return run


def test_sample_run_writes_the_plan_checkpoints(prefect_server, tmp_path, run_flow):
    data = tmp_path / "data"
    state = run_flow()
    assert state.is_completed(), state.message
    result = state.result()
    assert result["raw"]["source"] == "sample" and result["raw"]["synthetic"] is True
    raw = pl.read_csv(data / "raw_market.csv")
    cleaned = pl.read_csv(data / "cleaned_data.csv")
    assert raw.height == result["raw"]["rows"] > 9000
    assert cleaned.height == result["cleaned"]["rows_out"]
    meta = json.loads((data / "raw_market.meta.json").read_text())
    assert meta["synthetic"] is True and meta["uris"][0].startswith("sample://")
    assert json.loads((data / "cleaning_report.json").read_text())["synthetic"] is True


def test_second_run_is_served_from_checkpoints(prefect_server, tmp_path, run_flow):
    first = run_flow()
    assert set(task_states(first).values()) == {"Completed"}
    cleaned = (tmp_path / "data" / "cleaned_data.csv").read_bytes()
    second = run_flow()
    assert set(task_states(second).values()) == {"Cached"}
    assert second.result()["cleaned"] == first.result()["cleaned"]
    assert (tmp_path / "data" / "cleaned_data.csv").read_bytes() == cleaned
    refreshed = run_flow(refresh=True)
    assert set(task_states(refreshed).values()) == {"Completed"}


def test_a_damaged_checkpoint_file_is_recomputed_not_trusted(prefect_server, tmp_path, run_flow):
    assert run_flow().is_completed()
    cleaned = tmp_path / "data" / "cleaned_data.csv"
    good = cleaned.read_bytes()
    cleaned.write_text("tampered\n")
    state = run_flow()
    assert state.is_completed()
    assert cleaned.read_bytes() == good


def test_bad_csv_fails_the_run_and_keeps_the_checkpoint(prefect_server, tmp_path, run_flow):
    data = tmp_path / "data"
    good = tmp_path / "good.csv"
    make_raw(n=200).write_csv(good)
    assert run_flow(source="csv", csv_path=good).is_completed()
    before = (data / "raw_market.csv").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,spx_close,vix_close\n2021-01-04,abc,20\n")
    state = run_flow(source="csv", csv_path=bad)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"(?s)bad\.csv.*line 2, column 'spx_close'"):
        state.result()
    assert (data / "raw_market.csv").read_bytes() == before
