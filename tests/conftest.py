"""Shared fixtures: small canonical raw frames made here (never real data), isolated settings."""

from __future__ import annotations

import os

# Before anything imports prefect: offline, and volpred's lines logged outside a flow run (unit
# tests) stay local instead of warning that they cannot reach the API.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")

from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from volpred import candidate
from volpred.clean import clean
from volpred.config import Settings
from volpred.ingest import ingest
from volpred.schema import conform


def make_raw(n: int = 300, seed: int = 0, start: date = date(2020, 1, 1)) -> pl.DataFrame:
    """A coherent random-walk market: enough to exercise cleaning and features."""
    rng = np.random.default_rng(seed)
    dates = pl.date_range(start, date(2100, 1, 1), "1d", eager=True)
    dates = dates.filter(dates.dt.weekday() <= 5).head(n)
    ret = rng.normal(0.0003, 0.01, n)
    close = 100 * np.exp(np.cumsum(ret))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
    vix = 15 + 10 * np.abs(np.sin(np.arange(n) / 40)) + rng.normal(0, 0.5, n)
    dgs10 = 3 + np.cumsum(rng.normal(0, 0.02, n))
    dgs2 = dgs10 - 1 + np.cumsum(rng.normal(0, 0.01, n))
    return conform(
        pl.DataFrame(
            {
                "date": dates,
                "spx_open": open_,
                "spx_high": high,
                "spx_low": low,
                "spx_close": close,
                "spx_volume": rng.uniform(1e9, 3e9, n),
                "vix_open": vix,
                "vix_high": vix + 1,
                "vix_low": vix - 1,
                "vix_close": vix,
                "dgs10": dgs10.round(2),
                "dgs2": dgs2.round(2),
                "t10y2y": (dgs10.round(2) - dgs2.round(2)).round(2),
            }
        )
    )


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


#: A short history and few refits keep training to seconds (`VOLPRED_*`, for flow and CLI runs).
FAST_TRAINING = {
    "VOLPRED_SAMPLE_START": "2008-01-02",
    "VOLPRED_MIN_TRAIN_YEARS": "5",
    "VOLPRED_SELECTION_YEARS": "2",
    "VOLPRED_REFIT_EVERY": "504",
}


def fast_settings(root: Path, **overrides: object) -> Settings:
    """Settings for a small, quick model on the synthetic sample (2008-2025) under `root`."""
    fast = {k.removeprefix("VOLPRED_").lower(): v for k, v in FAST_TRAINING.items()}
    return Settings(
        data_dir=root / "data",
        artifacts_dir=root / "artifacts",
        run_dir=root / "run",
        **(fast | overrides),
    )


def isolated_run_env(root: Path) -> dict[str, str]:
    """Environment for a pipeline run in another process (`volpred run`, a Prefect worker):
    the fast model, this session's Prefect server, every folder under `root`, and no services
    or report, so that nothing the run starts outlives the test."""
    from prefect.settings import PREFECT_API_URL

    return (
        os.environ
        | FAST_TRAINING
        | {
            "PREFECT_API_URL": PREFECT_API_URL.value(),
            "VOLPRED_DATA_DIR": str(root / "data"),
            "VOLPRED_ARTIFACTS_DIR": str(root / "artifacts"),
            "VOLPRED_RESULTS_DIR": str(root / "results"),
            "VOLPRED_RUN_DIR": str(root / "run"),
            "VOLPRED_SERVICES": "[]",
            "VOLPRED_REPORT": "false",
        }
    )


def build_served(root: Path, **overrides: object) -> Settings:
    """Ingest, clean, train and serve a small model under `root`; returns its settings."""
    settings = fast_settings(root, **overrides)
    ingest(settings)
    clean(settings)
    candidate.train_candidate(settings)
    candidate.promote(settings)
    return settings


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
