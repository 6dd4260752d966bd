"""What each checkpoint depends on, hashed: the flow's cache keys.

A stage is skipped only when its inputs' *content*, its parameters and the code that computes
it are all unchanged. Keys hash file contents rather than Python objects because a DataFrame
passed as a task input hashes differently on every run (Prefect issues 16185, 17547).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from volpred.config import Settings
from volpred.runtime.storage import sha256_file

EXCHANGE_TZ = ZoneInfo("America/New_York")
#: The modules whose code determines each stage's output.
STAGE_MODULES: dict[str, list[str]] = {
    "ingest": [
        "volpred.data.ingest",
        "volpred.data.rawcsv",
        "volpred.data.schema",
        "volpred.data.sources",
        "volpred.data.auxiliary",
        "volpred.data.realized",
        "volpred.data.macro",
        "volpred.flows.realized",
    ],
    "clean": [
        "volpred.data.clean",
        "volpred.data.features",
        "volpred.data.macro",
        "volpred.data.realized",
        "volpred.data.rawcsv",
        "volpred.data.schema",
    ],
    "train": ["volpred.model.training", "volpred.model", "volpred.data.features"],
    "report": ["volpred.report", "volpred.report.charts", "volpred.report.chart_export"],
}
#: The settings each stage reads (secrets excluded: a key changes access, not the data).
STAGE_SETTINGS: dict[str, list[str]] = {
    "ingest": [
        "source",
        "csv_path",
        "start",
        "end",
        "sample_start",
        "sample_end",
        "fred_start",
        "stooq_url",
        "stooq_symbol",
        "seed",
        "overlap_days",
        "realized_path",
        "realized_symbol",
        "bars_path",
        "bars_timezone",
        "bars_label",
        "bars_min_share",
        "sample_bars_start",
        "macro_dir",
        "macro_source",
        "macro_series",
        "macro_lags",
        "macro_calendar",
        "macro_min_years",
        "macro_vintage_date",
    ],
    "clean": ["fill_limits", "max_close_jump", "min_clean_rows", "horizon", "macro_series"],
    "train": [
        "horizon",
        "seed",
        "refit_every",
        "min_train_years",
        "selection_years",
        "wf_gap",
        "interval_level",
        "interval_half_life_years",
    ],
    "report": ["report_dir", "interval_level", "horizon"],
}


def digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def code_hash(stage: str) -> str:
    """Hash of the source files of the stage's modules (a package counts all its files)."""
    digest_ = hashlib.sha256()
    for name in STAGE_MODULES[stage]:
        spec = importlib.util.find_spec(name)  # locates the file without importing the module
        origin = Path(spec.origin if spec and spec.origin else "")
        files = sorted(origin.parent.rglob("*.py")) if origin.name == "__init__.py" else [origin]
        for file in files:
            digest_.update(file.read_bytes())
    return digest_.hexdigest()[:32]


def stage_params(settings: Settings, stage: str) -> dict[str, Any]:
    """The stage's settings, and where it writes: a result cached for one data folder must
    not stand in for another's."""
    return {name: getattr(settings, name) for name in STAGE_SETTINGS[stage]} | {
        "data_dir": settings.data_dir.resolve(),
        "artifacts_dir": settings.artifacts_dir.resolve(),
    }


def trading_date(now: datetime | None = None) -> date:
    """The exchange's calendar date, so that a scheduled run fetches once per trading day."""
    return (now or datetime.now(EXCHANGE_TZ)).astimezone(EXCHANGE_TZ).date()


def ingest_key(settings: Settings, now: datetime | None = None) -> str:
    """Source, its parameters and the trading date; files it reads also by their content (a
    folder of bars by its files' names, sizes and modification times: hashing an archive of
    bars would cost as much as reading it)."""
    content: list[Any] = []
    if settings.source.partition("+")[0] == "csv" and settings.csv_path.is_file():
        content.append(sha256_file(settings.csv_path))
    for path in (settings.realized_path, settings.macro_dir, settings.bars_path):
        content.append(_content(Path(path)) if path is not None else None)
    return "ingest-" + digest(
        stage_params(settings, "ingest"), trading_date(now), content, code_hash("ingest")
    )


def _content(path: Path) -> Any:
    if path.is_file():
        return sha256_file(path) if path.stat().st_size < 1 << 28 else _listing([path], path)
    if path.is_dir():
        return _listing(sorted(p for p in path.rglob("*") if p.is_file()), path)
    return "missing"


def _listing(files: list[Path], root: Path) -> str:
    stats = [(str(f.relative_to(root) if f != root else f.name), f.stat()) for f in files]
    return digest([(name, s.st_size, s.st_mtime_ns) for name, s in stats])


def stage_key(stage: str, settings: Settings, *input_paths: Path) -> str:
    """Content of the stage's input files, the stage's parameters and its code."""
    content = [sha256_file(p) if Path(p).is_file() else "missing" for p in input_paths]
    if len(content) == 1:  # keys of single-input stages stay what they were
        content = content[0]
    return f"{stage}-" + digest(content, stage_params(settings, stage), code_hash(stage))


def report_key(settings: Settings, served_card: Path, templates: Path) -> str:
    """The cleaned data, the served model's card, the templates, the report's code."""
    contents = [
        sha256_file(p) if p.is_file() else "missing"
        for p in (settings.cleaned_parquet_path, served_card, *sorted(templates.glob("*")))
    ]
    return "report-" + digest(contents, stage_params(settings, "report"), code_hash("report"))


def outputs_intact(result: dict[str, Any]) -> bool:
    """Whether every file a (possibly cached) result names still has the recorded content."""
    for output in result.get("outputs", []):
        path = Path(output["path"])
        if not path.is_file() or sha256_file(path) != output["sha256"]:
            return False
    return True
