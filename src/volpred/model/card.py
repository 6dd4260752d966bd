"""The model card (`model_card.json`) as one typed record, `ModelCard`.

A card travels far from the code that wrote it: it sits beside every saved version for as long
as the version is kept, the API serves it, and the report, the promotion rule, the flow's
summaries and the forecaster read it. Reading it through one schema makes a damaged or foreign
card fail once, at load, with the file named, instead of as a `KeyError` deep in a report.

The parts those readers use are typed. The wide parts that change with the model families
(per-model scores, hyperparameters, the final fit's coefficients) stay plain dicts, and fields
this code does not know are kept as they are: a card round-trips to the same JSON, whichever
version of volpred wrote it.

`schema_version` is "MAJOR.MINOR". A later minor version may only add fields, which this code
keeps without reading; a newer major version may have changed what a field means, so such a
card is refused. Cards written before the field existed are version 1.0.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

SCHEMA_MAJOR = 1
SCHEMA_VERSION = f"{SCHEMA_MAJOR}.0"
_VERSION = re.compile(r"^(\d+)\.(\d+)$")

Target = Literal["vol", "ret"]
#: One model's scores over one period (rmse, qlike, oos_r2: {benchmark: value}, dm_qlike...):
#: which scores exist depends on the target and the model family.
Scores = dict[str, Any]


class CardError(ValueError):
    """A model card that cannot be read or does not fit the schema; names the file and why."""


class _Part(BaseModel):
    # frozen: a card describes a model that already exists; a changed card is a new card.
    model_config = ConfigDict(extra="allow", frozen=True)


class DataSection(_Part):
    """The cleaned data the model was trained on, as its cleaning report described it."""

    source: str
    synthetic: bool
    first_date: str | None = None
    last_date: str | None = None
    rows: int | None = None
    cleaned_sha256: str | None = None


class LatestForecast(_Part):
    """The forecast from the last cleaned row, so that summaries need not load the model.
    Vols annualised, returns as log returns over the horizon, both with their band."""

    date: str
    vol: float
    vol_lo: float
    vol_hi: float
    ret: float
    ret_lo: float
    ret_hi: float
    #: Which forecasters answered (a fallback's description when an input was missing).
    vol_model: str | None = None
    ret_model: str | None = None


class Intervals(_Part):
    """How often the prediction bands held the realized value, and how wide they were."""

    vol_coverage: float | None = None
    vol_mean_width: float | None = None
    ret_coverage: float | None = None
    ret_mean_width: float | None = None


class PeriodMetrics(_Part):
    """Out-of-sample metrics over one period: per target, `Scores` per model name."""

    first: str | None = None
    last: str | None = None
    n: int | None = None
    vol: dict[str, Scores] = {}
    ret: dict[str, Scores] = {}
    intervals: Intervals | None = None

    def scores(self, target: Target, model: str) -> Scores:
        return (self.vol if target == "vol" else self.ret).get(model) or {}

    def score(self, target: Target, model: str, metric: str) -> float | None:
        """A top-level score as a float; None when the model or the score is missing."""
        value = self.scores(target, model).get(metric)
        return float(value) if isinstance(value, int | float) else None


class Headline(_Part):
    """The few scores per model that the training summary and the promotion rule compare."""

    overall: PeriodMetrics = PeriodMetrics()
    from_2010: PeriodMetrics | None = None


class YearVsBenchmark(_Part):
    """The selected vol model's relative change in loss against HAR in one year (< 0: better)."""

    qlike_change: float | None = None
    rmse_change: float | None = None


class FinalModel(_Part):
    """The final fit: which model each target uses, its band level and its training span.
    Coefficients and band quantiles stay as extra fields: they follow the model family."""

    interval_level: float | None = None
    choice: dict[str, Any] = {}
    train_start: str | None = None
    train_end: str | None = None


class GroupEvidence(_Part):
    """What one predictor group adds out of sample: HAR-X with every group against HAR-X
    without it (negative change: the group helps), its Diebold-Mariano p-values, the share of
    walk-forward blocks whose chosen HAR-X had it, and whether the served model's has it."""

    rmse_change: float | None = None
    dm_mse_p: float | None = None
    qlike_change: float | None = None
    dm_qlike_p: float | None = None
    chosen_share: float = 0.0
    selected: bool = False


class Evidence(_Part):
    """The evidence table: `variant` is the served HAR-X's penalty and loss, `n` the rows."""

    variant: str
    n: int
    groups: dict[str, GroupEvidence] = {}


class Metrics(_Part):
    """Every walk-forward metric the trainer reports; `headline` is what promotion compares,
    `overall`, `from_2010` and `by_year` what the report and the dashboard tabulate."""

    headline: Headline = Headline()
    overall: PeriodMetrics = PeriodMetrics()
    from_2010: PeriodMetrics | None = None
    by_year: dict[str, PeriodMetrics] = {}
    per_year_selected_vs_har: dict[str, YearVsBenchmark] = {}
    by_vix_regime: dict[str, PeriodMetrics] = {}
    by_decade: dict[str, PeriodMetrics] = {}
    evidence: Evidence | None = None
    final_model: FinalModel = FinalModel()


class ModelCard(_Part):
    """What a reviewer needs to judge a model and what a reader needs to use it.

    The trainer fills the first part (a candidate's card); `saved_as` adds what the store
    knows once the candidate is a version. Optional fields are those older cards lack."""

    schema_version: str = SCHEMA_VERSION
    trained_at: str
    data: DataSection
    feature_names: list[str]
    targets: dict[str, str]
    horizon: int
    hyperparameters: dict[str, Any]
    metrics: Metrics
    train_seconds: float
    fingerprint: str | None = None
    latest_forecast: LatestForecast | None = None
    #: A candidate's files and their sha256, so that a torn candidate is refused.
    candidate_files: dict[str, str] = {}
    # Added by the store when the candidate becomes a version:
    version: str | None = None
    saved_at: str | None = None
    model_file: str | None = None
    model_sha256: str | None = None
    model_size_bytes: int | None = None
    library_versions: dict[str, str] = {}
    #: Files saved with the version (walk-forward predictions...) and their sha256.
    extra_files: dict[str, str] = {}

    @model_validator(mode="before")
    @classmethod
    def _known_schema(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        raw = data.get("schema_version", SCHEMA_VERSION)
        text = f"{raw}.0" if isinstance(raw, int) and not isinstance(raw, bool) else raw
        match = _VERSION.match(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"schema_version {raw!r} is not MAJOR.MINOR (e.g. {SCHEMA_VERSION})")
        if int(match[1]) != SCHEMA_MAJOR:
            newer = int(match[1]) > SCHEMA_MAJOR
            raise ValueError(
                f"schema_version {match[0]} is {'newer' if newer else 'older'} than this volpred "
                f"reads ({SCHEMA_MAJOR}.x)" + ("; upgrade volpred to read it" if newer else "")
            )
        return data | {"schema_version": match[0]}

    @classmethod
    def from_dict(cls, obj: Any, source: str = "the given data") -> ModelCard:
        """`obj` as a card, or a CardError that names `source` and says what does not fit, in
        words an operator can act on (callers need not know pydantic)."""
        try:
            return cls.model_validate(obj)
        except ValidationError as exc:
            problem = _problem(exc)
            raise CardError(f"{source} is not a model card volpred can read: {problem}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The card as JSON-ready data, keys sorted as in the file: exactly the fields it was
        made or read with (an absent optional field stays absent), plus `schema_version`."""
        return _sorted(self.model_dump(exclude_unset=True))

    def to_json(self) -> str:
        """The file's text: every writer of a card writes this."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n"

    def with_candidate_files(self, files: dict[str, str]) -> ModelCard:
        return self.model_copy(update={"candidate_files": dict(files)})

    def saved_as(
        self,
        *,
        version: str,
        saved_at: str,
        model_file: str,
        model_sha256: str,
        model_size_bytes: int,
        library_versions: dict[str, str],
        extra_files: dict[str, str],
    ) -> ModelCard:
        """The card of the version the store is saving. The candidate's file hashes go: they
        describe the candidate folder, which the next training overwrites."""
        fields = self.model_dump(exclude_unset=True)
        fields.pop("candidate_files", None)
        return ModelCard.model_validate(
            fields
            | {
                "version": version,
                "saved_at": saved_at,
                "model_file": model_file,
                "model_sha256": model_sha256,
                "model_size_bytes": model_size_bytes,
                "library_versions": dict(library_versions),
                "extra_files": dict(extra_files),
            }
        )


def read_card(path: Path) -> ModelCard:
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CardError(f"model card {path} is unreadable: {exc}") from exc
    return ModelCard.from_dict(obj, source=f"model card {path}")


def _problem(exc: ValidationError, most: int = 3) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    parts = []
    for error in errors[:most]:
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    more = len(errors) - most
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _sorted(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _sorted(obj[k]) for k in sorted(obj, key=str)}
    if isinstance(obj, list):
        return [_sorted(v) for v in obj]
    return obj
