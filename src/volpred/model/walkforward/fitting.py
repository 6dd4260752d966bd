"""Fitting, the walk-forward's first stage: every registered variant fitted on a block's training
rows (the shared feature pipeline, `design.window`) and forecasting the block.

Blocks are independent of each other, so they can run on threads (`n_jobs`); every choice
among the forecasts is made later, in order (`assembly`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from volpred.model import garch
from volpred.model.design import Window, window
from volpred.model.families import FAMILIES, HARX_KINDS, HARX_LAMBDAS, HarX, active, only
from volpred.model.walkforward.plan import Block, Panel, WalkForwardConfig


@dataclass
class BlockFit:
    block: Block
    preds: dict[str, np.ndarray]  # variant series ("vol/harx@0.01/vol") -> the block's forecasts
    info: dict[str, Any] = field(default_factory=dict)


def fit_block(panel: Panel, block: Block, cfg: WalkForwardConfig) -> BlockFit:
    """Fit every variant on the block's training rows and forecast the block."""
    w = window(panel, block.start, block.end, block.train_end, cfg)
    states: dict[str, Any] = {}
    preds: dict[str, np.ndarray] = {}
    for target in FAMILIES:
        for grid in active(target, cfg.use_gbm).values():
            for variant in grid:
                states[variant.series] = variant.fit(w.train)
                preds[variant.series] = variant.predict(states[variant.series], w.test)
    return BlockFit(block, preds, record(w, states))


def record(w: Window, states: dict[str, Any]) -> dict[str, Any]:
    """What the metrics keep of a block's fit: its training rows, the inputs it dropped, both
    GARCH models' parameters and the HAR and HAR-X coefficients (by penalty, then kind)."""
    terms = w.train.vol_spec["terms"]
    harx = {
        v.tag: dict(zip(terms, states[v.series]["coef"].round(4).tolist(), strict=True))
        for v in (HarX(lam, kind) for lam in HARX_LAMBDAS for kind in HARX_KINDS)
    }
    return {
        "train_rows": int(w.rows.size),
        "dropped_features": w.dropped,
        "gjr": garch.describe(w.train.gjr_params),
        "garch": garch.describe(states[only("vol", "garch").series]["params"]),
        "har_coef": states[only("vol", "har").series].round(5).tolist(),
        "harx_coef": harx,
    }
