"""Fitting, the walk-forward's first stage: every registered variant fitted on a block's training
rows (the shared feature pipeline, `design.window`) and forecasting the block.

Blocks are independent of each other, so they can run on threads (`n_jobs`); every choice
among the forecasts is made later, in order (`assembly`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from volpred.model import garch
from volpred.model.design import Window, window
from volpred.model.families import FAMILIES, HarX, active, only
from volpred.model.walkforward.plan import Block, Panel, WalkForwardConfig


@dataclass
class BlockFit:
    block: Block
    preds: dict[str, np.ndarray]  # variant series ("vol/harx@0.01/vol") -> the block's forecasts
    info: dict[str, Any] = field(default_factory=dict)


def fit_block(panel: Panel, block: Block, cfg: WalkForwardConfig) -> BlockFit:
    """Fit every variant on the block's training rows and forecast the block."""
    started = time.perf_counter()
    w = window(panel, block.start, block.end, block.train_end, cfg)
    seconds = {"(inputs and GARCH)": time.perf_counter() - started}
    states: dict[str, Any] = {}
    preds: dict[str, np.ndarray] = {}
    for target in FAMILIES:
        for family, grid in active(target, cfg.use_gbm).items():
            started = time.perf_counter()
            for variant in grid:
                states[variant.series] = variant.fit(w.train)
                preds[variant.series] = variant.predict(states[variant.series], w.test)
            name = f"{target}/{family}"
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
    return BlockFit(block, preds, record(w, states) | {"family_seconds": seconds})


def record(w: Window, states: dict[str, Any]) -> dict[str, Any]:
    """What the metrics keep of a block's fit: its training rows, the inputs it dropped, both
    GARCH models' parameters and the HAR and base HAR-X coefficients (by variant tag)."""
    harx = {}
    for v in FAMILIES["vol"]["harx"]:
        if isinstance(v, HarX) and not v.groups:
            fit = v.main_fit(states[v.series])
            harx[v.tag] = dict(
                zip(fit["spec"]["terms"], fit["coef"].round(4).tolist(), strict=True)
            )
    return {
        "train_rows": int(w.rows.size),
        "dropped_features": w.dropped,
        "gjr": garch.describe(w.train.gjr_params),
        "garch": garch.describe(states[only("vol", "garch").series]["params"]),
        "har_coef": states[only("vol", "har").series].round(5).tolist(),
        "harx_coef": harx,
    }
