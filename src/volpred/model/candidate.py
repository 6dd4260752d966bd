"""The train_model checkpoint: a *candidate* under `artifacts/candidate/`.

Training is slow and promotion may wait for an analyst, so what training produced is kept
apart from what is served: the fitted model (skops), its card with every walk-forward metric,
and the out-of-sample predictions. `promote` turns the candidate into a served version once
`volpred.model.promotion` decided it should be.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from volpred.config import Settings
from volpred.data.features import TARGETS
from volpred.model import store
from volpred.model.card import DataSection, LatestForecast, Metrics, ModelCard
from volpred.runtime import cachekeys
from volpred.runtime.storage import (
    atomic_write_bytes,
    atomic_write_parquet,
    atomic_write_text,
    read_json,
    sha256_file,
)

if TYPE_CHECKING:
    from volpred.model.training import TrainResult

log = logging.getLogger(__name__)

MODEL = "trained_model.skops"
CARD = "model_card.json"
PREDICTIONS = store.PREDICTIONS_FILE


def candidate_dir(settings: Settings) -> Path:
    return settings.artifacts_dir / "candidate"


def build_card(
    result: TrainResult,
    settings: Settings,
    *,
    fingerprint: str,
    latest_forecast: LatestForecast,
) -> ModelCard:
    """Everything a reviewer needs to judge the model, minus what the saver adds (version)."""
    report = read_json(settings.cleaning_report_path) or {}
    return ModelCard(
        trained_at=datetime.now(UTC).isoformat(),
        data=DataSection(
            source=report.get("source", "unknown"),
            synthetic=bool(report.get("synthetic", False)),
            first_date=report.get("first_date"),
            last_date=report.get("last_date"),
            rows=report.get("rows_out"),
            cleaned_sha256=sha256_file(settings.cleaned_path),
        ),
        feature_names=list(result.model.feature_names),
        targets=dict(TARGETS),
        horizon=settings.horizon,
        hyperparameters=result.hyperparameters,
        # Per-block coefficients stay in the hyperparameters; the card keeps every metric.
        metrics=Metrics.model_validate({k: v for k, v in result.metrics.items() if k != "blocks"}),
        train_seconds=round(result.seconds, 2),
        fingerprint=fingerprint,
        latest_forecast=latest_forecast,
    )


def latest_forecast(model: Any, table: pl.DataFrame) -> LatestForecast:
    """The forecast from the last cleaned row, for run summaries that should not load models."""
    from volpred.model.final import ANSWER_KEYS, predict_table

    last = predict_table(model, table).tail(1).row(0, named=True)
    return LatestForecast(
        **{
            k: (v if k in ANSWER_KEYS else str(v) if k == "date" else float(v))
            for k, v in last.items()
        }
    )


def train_candidate(settings: Settings) -> dict[str, Any]:
    """Train from the cleaned checkpoint and write the candidate; returns its files' hashes."""
    from volpred.model.training import train  # heavy (scikit-learn, arch): only when training runs

    table = pl.read_parquet(settings.cleaned_parquet_path)
    result = train(table, settings)
    folder = candidate_dir(settings)
    # skops names arrays by object id, so equal models differ in bytes; training is
    # deterministic, so what it was trained from identifies a model instead.
    fingerprint = cachekeys.stage_key("train", settings, settings.cleaned_parquet_path)
    card = build_card(
        result,
        settings,
        fingerprint=fingerprint,
        latest_forecast=latest_forecast(result.model, table),
    )
    data = store.dumps(result.model)
    # The card last, with the hashes of the files written before it: a run killed between
    # the writes leaves a card that does not match, which `promote` refuses.
    atomic_write_bytes(folder / MODEL, data)
    atomic_write_parquet(folder / PREDICTIONS, result.predictions)
    card = card.with_candidate_files(
        {MODEL: sha256_file(folder / MODEL), PREDICTIONS: sha256_file(folder / PREDICTIONS)}
    )
    atomic_write_text(folder / CARD, card.to_json())
    return {
        "dir": str(folder),
        "headline": result.metrics.get("headline", {}),
        "fingerprint": fingerprint,
        "model_sha256": store.sha256_bytes(data),
    }


def candidate_card(settings: Settings) -> ModelCard:
    return store.read_card(candidate_dir(settings) / CARD)


def served_card(settings: Settings) -> ModelCard | None:
    """The served model's card, or None when nothing (loadable) is served yet."""
    try:
        version = store.latest_version(settings.artifacts_dir)
        return store.read_card(settings.artifacts_dir / "models" / version / store.CARD_FILE)
    except store.ModelLoadError:
        return None


def promote(settings: Settings) -> store.SavedModel:
    """Serve the candidate as a new version (`store.save_model` logs path and size)."""
    folder = candidate_dir(settings)
    card = store.read_card(folder / CARD)
    data = (folder / MODEL).read_bytes()
    extra = {store.PREDICTIONS_FILE: (folder / PREDICTIONS).read_bytes()}
    expected = card.candidate_files
    for name, content in ((MODEL, data), (PREDICTIONS, extra[store.PREDICTIONS_FILE])):
        if expected.get(name) != store.sha256_bytes(content):
            raise store.ModelLoadError(
                f"candidate {folder / name} does not match its card (a training run was "
                "interrupted while writing it): train again"
            )
    return store.save_bytes(data, card, settings.artifacts_dir, extra)
