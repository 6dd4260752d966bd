"""A small served model on the synthetic sample, built by the product's own steps (ingest,
clean, train the candidate, promote it) with a short history and few refits, so that it takes
seconds. The benchmarks time what runs on top of it; the tests serve it too and import this
recipe from here, so that it exists once and no benchmark imports a test module."""

from __future__ import annotations

from pathlib import Path

from volpred.config import Settings
from volpred.data.auxiliary import ingest_all
from volpred.data.clean import clean
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


def build_served(root: Path, **overrides: object) -> Settings:
    """Ingest, clean, train and serve a small model under `root`; returns its settings."""
    settings = fast_settings(root, **overrides)
    ingest_all(settings)
    clean(settings)
    candidate.train_candidate(settings)
    candidate.promote(settings)
    return settings
