from datetime import datetime
from zoneinfo import ZoneInfo

from volpred.runtime import cachekeys

NY = ZoneInfo("America/New_York")


def test_ingest_key_changes_with_the_trading_date_and_source(settings):
    monday = datetime(2026, 11, 23, 10, tzinfo=NY)
    same_day_later = datetime(2026, 11, 23, 23, tzinfo=NY)
    tuesday = datetime(2026, 11, 24, 10, tzinfo=NY)
    key = cachekeys.ingest_key(settings, monday)
    assert key == cachekeys.ingest_key(settings, same_day_later)
    assert key != cachekeys.ingest_key(settings, tuesday)
    assert key != cachekeys.ingest_key(settings.with_overrides(seed=1), monday)
    assert key != cachekeys.ingest_key(settings.with_overrides(source="fred"), monday)


def test_trading_date_is_the_exchange_date():
    late_utc = datetime(2026, 11, 24, 3, tzinfo=ZoneInfo("UTC"))  # still the 23rd in New York
    assert str(cachekeys.trading_date(late_utc)) == "2026-11-23"


def test_csv_ingest_key_follows_the_file_content(settings, tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("a")
    csv = settings.with_overrides(source="csv", csv_path=path)
    key = cachekeys.ingest_key(csv)
    path.write_text("b")
    assert cachekeys.ingest_key(csv) != key


def test_stage_key_follows_input_content_and_parameters(settings, tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("x")
    key = cachekeys.stage_key("clean", settings, path)
    assert key == cachekeys.stage_key("clean", settings, path)
    assert key.startswith("clean-")
    assert key != cachekeys.stage_key("clean", settings.with_overrides(ffill_limit=2), path)
    path.write_text("y")
    assert key != cachekeys.stage_key("clean", settings, path)


def test_outputs_intact(tmp_path):
    path = tmp_path / "f"
    path.write_text("x")
    result = {"outputs": [{"path": str(path), "sha256": cachekeys.sha256_file(path)}]}
    assert cachekeys.outputs_intact(result)
    path.write_text("changed")
    assert not cachekeys.outputs_intact(result)
    path.unlink()
    assert not cachekeys.outputs_intact(result)


def test_keys_depend_on_where_the_checkpoints_live(settings, tmp_path):
    other = settings.with_overrides(data_dir=tmp_path / "elsewhere")
    assert cachekeys.ingest_key(settings) != cachekeys.ingest_key(other)
    path = tmp_path / "raw.csv"
    path.write_text("x")
    assert cachekeys.stage_key("clean", settings, path) != cachekeys.stage_key("clean", other, path)
