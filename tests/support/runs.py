"""Settings and served models for tests that run the pipeline: a fast model on the sample source,
isolated folders, free ports."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from volpred.config import Settings
from volpred.data.clean import clean
from volpred.data.ingest import ingest
from volpred.model import candidate

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_served(served: Settings, root: Path, **overrides: object) -> Settings:
    """A private copy of the session's served model and data (tests that change files)."""
    shutil.copytree(served.data_dir, root / "data")
    shutil.copytree(served.artifacts_dir, root / "artifacts")
    return served.with_overrides(
        data_dir=root / "data", artifacts_dir=root / "artifacts", run_dir=root / "run", **overrides
    )
