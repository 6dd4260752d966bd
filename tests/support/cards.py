"""Model cards for tests that need one without training a model, and changed copies of real
ones."""

from __future__ import annotations

from typing import Any

from volpred.model.card import ModelCard


def make_card(**fields: Any) -> ModelCard:
    """The smallest card the schema accepts, with `fields` on top (extra fields allowed)."""
    base: dict[str, Any] = {
        "trained_at": "2026-01-02T03:04:05+00:00",
        "data": {
            "source": "sample",
            "synthetic": True,
            "first_date": "2008-01-02",
            "last_date": "2025-12-31",
            "rows": 4696,
            "cleaned_sha256": "0" * 64,
        },
        "feature_names": ["rv21", "vix"],
        "targets": {"target_vol": "forward realized vol", "target_ret": "forward log return"},
        "horizon": 21,
        "hyperparameters": {},
        "metrics": {},
        "train_seconds": 1.0,
    }
    return ModelCard.model_validate(base | fields)


def headline(
    vol_rmse: float = 0.05, vol_qlike: float = 0.3, ret_r2: float = 0.001
) -> dict[str, Any]:
    """`metrics` with just the headline scores the promotion rule compares."""
    return {
        "headline": {
            "overall": {
                "vol": {"selected": {"rmse": vol_rmse, "qlike": vol_qlike}},
                "ret": {"selected": {"oos_r2_hist_mean": ret_r2}},
            }
        }
    }


def changed(card: ModelCard, **changes: Any) -> ModelCard:
    """A copy of `card` with values set at paths spelled `metrics__overall__vol__har__qlike`."""
    data = card.to_dict()
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return ModelCard.model_validate(data)
