"""figure_export: finding the browser (unit) and exporting with one shared Chromium
(integration: starts a real browser, once for the module)."""

from __future__ import annotations

import io
import os
import stat
import threading
import time
from pathlib import Path

import plotly.graph_objects as go
import pytest

from volpred.config import Settings
from volpred.report import chart_export
from volpred.report.chart_export import (
    BrowserMissingError,
    FigureExportError,
    ImageSpec,
    find_browser,
)


def _executable(path: Path, body: str = "#!/bin/sh\nexit 1\n") -> Path:
    path.write_text(body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_missing_configured_browser_says_what_to_install(tmp_path):
    with pytest.raises(BrowserMissingError) as err:
        find_browser(Settings(chromium_path=tmp_path / "nowhere" / "chromium"))
    message = str(err.value)
    assert "apt-get install chromium" in message
    assert "VOLPRED_CHROMIUM_PATH" in message
    assert "nowhere" in message


def test_no_browser_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BrowserMissingError, match="apt-get install chromium"):
        find_browser(Settings())


def test_browser_found_on_path_and_by_setting(tmp_path, monkeypatch):
    fake = _executable(tmp_path / "chromium-browser")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_browser(None) == fake.resolve()
    assert find_browser(Settings(chromium_path=fake)) == fake.resolve()
    assert find_browser(str(fake)) == fake.resolve()


def test_not_executable_is_missing(tmp_path):
    plain = tmp_path / "chromium"
    plain.write_text("not a program")
    with pytest.raises(BrowserMissingError):
        find_browser(plain)


@pytest.mark.timeout(20)
def test_to_image_with_missing_browser_fails_fast_instead_of_hanging(tmp_path):
    started = time.perf_counter()
    with pytest.raises(BrowserMissingError):
        chart_export.to_image(go.Figure(), "png", browser=tmp_path / "no-chromium")
    assert time.perf_counter() - started < 5


def test_unsupported_format_is_refused():
    with pytest.raises(ValueError, match="png or svg"):
        chart_export.to_image(go.Figure(), "gif")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- integration


def _figure(title: str = "Export check") -> go.Figure:
    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="series"))
    fig.update_layout(title=title, xaxis_title="Lag in days", yaxis_title="Vol points")
    return fig


@pytest.fixture(scope="module")
def shared_exporter():
    exporter = chart_export.exporter()
    exporter.start()
    yield exporter
    chart_export.shutdown()


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_png_and_svg_from_one_reused_browser(shared_exporter):
    from PIL import Image

    kaleido_before = shared_exporter._kaleido
    png = chart_export.to_image(_figure(), "png", width=400, height=300, scale=2)
    assert png.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(png)).size == (800, 600)
    svg = chart_export.to_image(_figure(), "svg", width=400, height=300)
    assert svg.lstrip().startswith(b"<svg")
    assert b"Lag in days" in svg and b"Vol points" in svg
    # the same browser served both: no new process per figure
    assert chart_export.exporter() is shared_exporter
    assert shared_exporter._kaleido is kaleido_before


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_batch_and_concurrent_callers(shared_exporter):
    images = chart_export.to_images(
        [ImageSpec(_figure(f"Figure {i}"), "svg", 300, 200) for i in range(3)]
    )
    assert [f"Figure {i}".encode() in img for i, img in enumerate(images)] == [True] * 3
    results: dict[int, bytes] = {}

    def call(i: int) -> None:
        results[i] = chart_export.to_image(_figure(f"Thread {i}"), "svg", 300, 200)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(f"Thread {i}".encode() in results[i] for i in range(3))


@pytest.mark.integration
@pytest.mark.timeout(120)
def test_draw_error_keeps_the_browser_and_a_crash_restarts_it(shared_exporter, monkeypatch):
    from kaleido.errors import BrowserClosedError, KaleidoError

    shared_exporter.start()
    kaleido = shared_exporter._kaleido

    async def cannot_draw(*args, **kwargs):
        raise KaleidoError(525, "cannot draw this")

    monkeypatch.setattr(kaleido, "calc_fig", cannot_draw)
    with pytest.raises(FigureExportError, match="cannot draw this"):
        chart_export.to_image(_figure(), "svg", 300, 200)
    assert shared_exporter._kaleido is kaleido  # no restart for a bad figure

    crashes = []

    async def crashed(*args, **kwargs):
        crashes.append(1)
        raise BrowserClosedError("the browser went away")

    monkeypatch.setattr(kaleido, "calc_fig", crashed)
    svg = chart_export.to_image(_figure("After restart"), "svg", 300, 200)
    assert crashes == [1]
    assert b"After restart" in svg
    assert shared_exporter.running and shared_exporter._kaleido is not kaleido


@pytest.mark.integration
@pytest.mark.timeout(90)
def test_browser_that_dies_at_start_is_an_error_not_a_hang(tmp_path):
    broken = chart_export.FigureExporter(_executable(tmp_path / "chromium"), start_timeout=30)
    with pytest.raises(Exception) as err:  # noqa: PT011 - choreographer's or ours
        broken.start()
    assert not isinstance(err.value, BrowserMissingError)
    assert not broken.running
    assert os.getpid() > 0  # the process is still alive and responsive
