import json

import polars as pl
import pytest

from tests.support.markets import make_raw
from volpred.data import ingest as ingest_module
from volpred.data.ingest import find_revisions, ingest, merge_incremental
from volpred.data.sources import SourceError, SourceResult
from volpred.runtime.storage import sha256_file


@pytest.fixture
def real_like_csv(tmp_path, raw_frame):
    path = tmp_path / "user.csv"
    raw_frame.write_csv(path)
    return path


def test_csv_source_writes_raw_checkpoint_and_meta(settings, real_like_csv, raw_frame):
    settings = settings.with_overrides(source="csv", csv_path=real_like_csv)
    result = ingest(settings)
    assert result.rows == raw_frame.height
    written = pl.read_csv(settings.raw_path, try_parse_dates=True)
    assert written["spx_close"].to_list() == pytest.approx(raw_frame["spx_close"].to_list())
    meta = json.loads(settings.raw_meta_path.read_text())
    assert meta["source"] == "csv"
    assert meta["sha256"] == sha256_file(settings.raw_path)
    assert meta["rows"] == raw_frame.height
    assert meta["uris"] == [real_like_csv.resolve().as_uri()]
    assert meta["first_date"] == str(raw_frame["date"][0])
    assert "fetched_at" in meta


def test_date_range_is_applied(settings, real_like_csv, raw_frame):
    start, end = raw_frame["date"][10], raw_frame["date"][20]
    settings = settings.with_overrides(source="csv", csv_path=real_like_csv, start=start, end=end)
    assert ingest(settings).rows == 11


def test_corrupt_csv_is_refused_and_previous_checkpoint_kept(settings, real_like_csv, tmp_path):
    settings = settings.with_overrides(source="csv", csv_path=real_like_csv)
    ingest(settings)
    before = settings.raw_path.read_bytes()
    meta_before = settings.raw_meta_path.read_bytes()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,spx_close,vix_close\n2021-01-04,12x,20\n")
    with pytest.raises(SourceError) as err:
        ingest(settings.with_overrides(csv_path=bad))
    assert "bad.csv" in str(err.value) and "line 2, column 'spx_close'" in str(err.value)
    assert settings.raw_path.read_bytes() == before
    assert settings.raw_meta_path.read_bytes() == meta_before


def test_missing_csv_names_the_path(settings, tmp_path):
    with pytest.raises(SourceError, match=r"nope\.csv.*file not found"):
        ingest(settings.with_overrides(source="csv", csv_path=tmp_path / "nope.csv"))


def test_find_and_apply_revisions():
    old = make_raw(n=10)
    new = old.tail(4).with_columns(
        pl.when(pl.int_range(pl.len()) == 1)
        .then(pl.col("spx_close") + 1)
        .otherwise(pl.col("spx_close"))
        .alias("spx_close")
    )
    extra = make_raw(n=12).tail(2).with_columns(spx_close=pl.lit(123.0))
    new = pl.concat([new, extra])
    revisions = find_revisions(old, new)
    assert revisions.select("date", "column").rows() == [(old["date"][7], "spx_close")]
    merged, _ = merge_incremental(old, new)
    assert merged.height == 12
    assert merged["spx_close"][7] == pytest.approx(old["spx_close"][7] + 1)
    assert merged["spx_close"].tail(2).to_list() == [123.0, 123.0]


class FakeNetworkSource:
    """Stands in for a network source at the `sources.load` seam to test incremental logic."""

    def __init__(self, frame):
        self.frame, self.calls = frame, []

    def __call__(self, name, settings, since=None, session=None):
        self.calls.append(since)
        frame = self.frame if since is None else self.frame.filter(pl.col("date") >= since)
        return SourceResult(frame, name, [f"https://example.test/{name}"])


def test_incremental_fetch_starts_a_few_days_back_and_applies_revisions(settings, monkeypatch):
    settings = settings.with_overrides(source="fred", overlap_days=5)
    full = make_raw(n=100)
    fake = FakeNetworkSource(full.head(90))
    monkeypatch.setattr(ingest_module.sources, "load", fake)
    ingest(settings)
    revised = full.with_columns(
        pl.when(pl.col("date") == full["date"][88])
        .then(999.0)
        .otherwise(pl.col("vix_close"))
        .alias("vix_close")
    )
    fake.frame = revised
    result = ingest(settings)
    assert fake.calls == [None, full["date"][85]]
    assert result.rows == 100 and result.revisions == 1
    stored = pl.read_csv(settings.raw_path, try_parse_dates=True)
    assert stored.filter(pl.col("date") == full["date"][88])["vix_close"][0] == 999.0


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (make_raw(n=5).head(0), "no rows"),
        (make_raw(n=5).with_columns(vix_close=pl.lit(None, dtype=pl.Float64)), "no values"),
    ],
)
def test_empty_or_hollow_answer_is_an_error_never_a_table(settings, monkeypatch, frame, message):
    monkeypatch.setattr(ingest_module.sources, "load", FakeNetworkSource(frame))
    with pytest.raises(SourceError, match=message):
        ingest(settings.with_overrides(source="fred"))
    assert not settings.raw_path.exists()


def test_gap_between_stored_data_and_answer_is_refused(settings, monkeypatch):
    settings = settings.with_overrides(source="fred")
    full = make_raw(n=100)
    fake = FakeNetworkSource(full.head(50))
    monkeypatch.setattr(ingest_module.sources, "load", fake)
    ingest(settings)
    fake.frame = full.tail(20)
    with pytest.raises(SourceError, match="no overlap"):
        ingest(settings)
