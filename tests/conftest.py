"""Shared fixtures: small canonical raw frames (`tests.support`, never real data), isolated
settings, the session's served model and Prefect server."""

from __future__ import annotations

import os

# Before anything imports prefect: offline, and volpred's lines logged outside a flow run (unit
# tests) stay local instead of warning that they cannot reach the API.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from tests.support.markets import make_raw
from tests.support.runs import build_served
from volpred.config import Settings


@pytest.fixture
def raw_frame() -> pl.DataFrame:
    return make_raw()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for key in [k for k in os.environ if k.startswith("VOLPRED_")]:
        monkeypatch.delenv(key)
    return Settings(data_dir=tmp_path / "data", artifacts_dir=tmp_path / "artifacts")


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One small served model shared by the session's tests: read it, never change it (copy
    the folders first, or call `build_served`)."""
    return build_served(tmp_path_factory.mktemp("served"))


@pytest.fixture(scope="session")
def prefect_server():
    """A real temporary Prefect server (SQLite) shared by the session's flow tests."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
