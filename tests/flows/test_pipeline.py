import json

import polars as pl
import pytest

from tests.conftest import make_raw

pytestmark = pytest.mark.integration


def run_flow(**params):
    from flows.pipeline import volpred_pipeline

    return volpred_pipeline(**params, return_state=True)


def test_sample_run_writes_the_plan_checkpoints(prefect_server, tmp_path, settings):
    data = tmp_path / "data"
    state = run_flow(data_dir=data)
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


def test_bad_csv_fails_the_run_and_keeps_the_checkpoint(prefect_server, tmp_path, settings):
    data = tmp_path / "data"
    good = tmp_path / "good.csv"
    make_raw(n=200).write_csv(good)
    assert run_flow(source="csv", csv_path=good, data_dir=data).is_completed()
    before = (data / "raw_market.csv").read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,spx_close,vix_close\n2021-01-04,abc,20\n")
    state = run_flow(source="csv", csv_path=bad, data_dir=data)
    assert state.is_failed()
    with pytest.raises(Exception, match=r"(?s)bad\.csv.*line 2, column 'spx_close'"):
        state.result()
    assert (data / "raw_market.csv").read_bytes() == before
