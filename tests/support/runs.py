"""Settings and served models for tests that run the pipeline: a fast model on the sample source
(its recipe, `FAST_TRAINING` and `build_served`, is shared with the benchmarks and lives in
benchmarks/_served.py), isolated folders, free ports."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from benchmarks._served import FAST_TRAINING, build_served, fast_settings
from volpred.config import Settings

__all__ = [
    "FAST_TRAINING",
    "build_served",
    "copy_served",
    "fast_settings",
    "free_port",
    "isolated_run_env",
]


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
