"""API fixtures: an app over the session's served model, and free ports for live servers."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from volpred.api import create_app
from volpred.config import Settings


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


@pytest.fixture(scope="module")
def app(served):
    return create_app(served)


@pytest.fixture
def client(app):
    return app.test_client()
