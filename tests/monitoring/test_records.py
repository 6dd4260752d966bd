"""The JSON-lines record of runs and alerts: appended whole, read newest first, a damaged line
skipped, and kept beside the data unless a folder is set."""

from __future__ import annotations

from volpred.monitoring import records


def test_facts_and_alerts_are_appended_and_read_newest_first(settings, tmp_path):
    assert settings.alerts_folder == settings.data_dir / "alerts"
    assert records.last_facts(settings) is None and records.recent_alerts(settings) == []
    records.append_facts(settings, {"run_id": "a", "vol": 0.1})
    records.append_facts(settings, {"run_id": "b", "vol": 0.2})
    assert records.last_facts(settings) == {"run_id": "b", "vol": 0.2}
    records.append_alerts(settings, [{"kind": "x", "n": i} for i in range(5)])
    records.append_alerts(settings, [])  # nothing to write: no empty line
    assert [a["n"] for a in records.recent_alerts(settings, limit=3)] == [4, 3, 2]


def test_a_damaged_line_is_skipped(settings, tmp_path):
    moved = settings.with_overrides(alerts_dir=tmp_path / "elsewhere")
    records.append_alerts(moved, [{"kind": "a"}])
    with (tmp_path / "elsewhere" / records.ALERTS_FILE).open("a") as f:
        f.write('{"kind": "cut mid-li')
    assert [a["kind"] for a in records.recent_alerts(moved)] == ["a"]
