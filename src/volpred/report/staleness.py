"""The one sentence that says a forecast was made without some of its inputs.

A feed that stops (the VIX weeks before the prices, a Treasury download at a year end) leaves
its inputs missing, and the forecast then comes from a fallback model. Whoever shows that
forecast must say so in the same words: the dashboard's Forecast page, the report's executive
summary and the flow's run summary all call `stale_warning` on a forecast record (a `/predict`
answer or the model card's `latest_forecast`), so they cannot tell different stories.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from volpred.data.features import SOURCE_LABELS


def source_label(source: str) -> str:
    """A source as a sentence names it: "the VIX", or a macro series' id."""
    return SOURCE_LABELS.get(source, source)


def _answered(record: Mapping[str, Any], what: str, fallback_key: str, model_key: str) -> str:
    fallback = record.get(fallback_key)
    if fallback:
        return f"the {what} forecast comes from the fallback model '{fallback}'"
    model = record.get(model_key)
    return f"the {what} forecast comes from the model's own '{model}'" if model else ""


def stale_warning(record: Mapping[str, Any] | None) -> str | None:
    """ "Stale input on D: the VIX was last observed on D0. The volatility forecast comes from
    the fallback model '...'; the return forecast ..." for a record with `stale_inputs`, or
    None when none of its inputs was missing."""
    if not record or not record.get("stale_inputs"):
        return None
    stale = list(record["stale_inputs"])
    as_of = record.get("inputs_as_of") or {}
    day = record.get("as_of") or record.get("date")
    parts = []
    for source in stale:
        last = as_of.get(source)
        label = source_label(source)
        parts.append(f"{label} was last observed on {last}" if last else f"{label} has no value")
    many = len(stale) > 1
    head = f"Stale input{'s' if many else ''}" + (f" on {day}" if day else "")
    limit, it = ("their fill limits", "them") if many else ("its fill limit", "it")
    text = (
        f"{head}: {'; '.join(parts)}, longer ago than {limit}, so the forecast was made "
        f"without {it} (not with a made-up value)."
    )
    models = [
        part
        for part in (
            _answered(record, "volatility", "fallback", "vol_model"),
            _answered(record, "return", "return_fallback", "ret_model"),
        )
        if part
    ]
    if models:
        sentence = "; ".join(models)
        text += f" {sentence[0].upper()}{sentence[1:]}."
    return text
