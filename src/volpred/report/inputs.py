"""What the report is made from, read once: the served model's card and walk-forward
predictions, the cleaned table, its cleaning report and the raw checkpoint's metadata.

A missing input is a `ReportError` that names the file and the command that makes it, raised
before anything is written, so a failed report leaves the previous one in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from volpred.config import Settings
from volpred.model import store
from volpred.model.card import ModelCard
from volpred.runtime.storage import read_json


class ReportError(RuntimeError):
    """The report cannot be made; the message says what is missing and what to run first."""


@dataclass(frozen=True)
class ReportInputs:
    card: ModelCard
    version_dir: Path
    oos: pl.DataFrame  # walk-forward out-of-sample predictions of the served version
    table: pl.DataFrame  # cleaned data with features and targets, sorted by date
    cleaning: dict[str, Any]  # data/cleaning_report.json
    raw_meta: dict[str, Any]  # data/raw_market.meta.json ({} when absent)

    @property
    def version(self) -> str:
        return self.card.version or self.version_dir.name

    @property
    def synthetic(self) -> bool:
        """Synthetic when any source says so: the card, the cleaning report or the raw meta."""
        data = self.card.data
        return (
            data.synthetic
            or data.source == "sample"
            or bool(self.cleaning.get("synthetic"))
            or self.cleaning.get("source") == "sample"
        )


def load_inputs(settings: Settings) -> ReportInputs:
    try:
        folder = store.version_dir(settings.artifacts_dir)
        card = store.read_card(folder / store.CARD_FILE)
    except store.ModelLoadError as exc:
        raise ReportError(
            f"no served model to report on ({exc}): run `volpred train` (or `volpred run`) first"
        ) from exc
    oos_path = folder / store.PREDICTIONS_FILE
    if not oos_path.is_file():
        raise ReportError(
            f"{oos_path} is missing: the served version {folder.name} predates walk-forward "
            "predictions; run `volpred train --force` to serve a model that has them"
        )
    if card.latest_forecast is None:
        why = card.latest_refusal or "run `volpred train --force`"
        raise ReportError(
            f"the served model card {folder / store.CARD_FILE} has no latest_forecast: {why}"
        )
    if not settings.cleaned_parquet_path.is_file():
        raise ReportError(
            f"{settings.cleaned_parquet_path} is missing: run `volpred clean` (or `volpred run`)"
        )
    cleaning = read_json(settings.cleaning_report_path)
    if cleaning is None:
        raise ReportError(
            f"{settings.cleaning_report_path} is missing: run `volpred clean` (or `volpred run`)"
        )
    try:
        oos = pl.read_parquet(oos_path).sort("date")
        table = pl.read_parquet(settings.cleaned_parquet_path).sort("date")
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ReportError(f"cannot read the report's inputs: {exc}") from exc
    return ReportInputs(
        card=card,
        version_dir=folder,
        oos=oos,
        table=table,
        cleaning=cleaning,
        raw_meta=read_json(settings.raw_meta_path) or {},
    )
