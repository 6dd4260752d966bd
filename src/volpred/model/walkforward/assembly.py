"""Assembly, the walk-forward's second stage: block by block, in order, the nested choice
(`selection.choose_all`) on earlier blocks' realised forecasts, the served and reported
forecasts under that choice, and their conformal bands.

V band: conformal quantiles of log(realised / served forecast) at a level that adaptive
conformal inference (Gibbs & Candes 2021) moves with the band's realised misses: at each block
start the miscoverage of rows whose targets were realised since the last block (rows < s - gap,
forecast with earlier blocks' bands) nudges the level, so long-run coverage holds under regime
changes that make past residuals unrepresentative.
"""

from __future__ import annotations

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from volpred.data.features import TARGET_RETURN, TARGET_VOL
from volpred.model.families import COMBINATIONS, active
from volpred.model.intervals import (
    AdaptiveLevel,
    conformal_bounds,
    recency_weights,
    ret_band,
    ret_scores,
    vol_band,
    vol_scores,
)
from volpred.model.walkforward.fitting import BlockFit, fit_block
from volpred.model.walkforward.plan import Panel, WalkForwardConfig, plan_blocks
from volpred.model.walkforward.selection import Choice, choose_all

log = logging.getLogger(__name__)


@dataclass
class WalkForwardResult:
    frame: pl.DataFrame  # one row per forecast row (burn-in included, see `evaluated`)
    blocks: list[dict[str, Any]]
    vol_models: list[str]
    ret_models: list[str]
    config: WalkForwardConfig
    variants: dict[str, np.ndarray]  # every variant's forecasts on the frame's rows
    final_choice: Choice
    first_row: int
    #: The V band's adaptive level after every realised row (what the final model uses).
    vol_band_level: float | None = None


def reported(target: str, cfg: WalkForwardConfig) -> list[str]:
    """The frame's models of a target: every fitted family and combination, then the selected
    (served) forecast."""
    return [
        *active(target, cfg.use_gbm),
        *(c.name for c in COMBINATIONS[target]),
        "selected",
    ]


def assemble(panel: Panel, fits: list[BlockFit], cfg: WalkForwardConfig) -> WalkForwardResult:
    """Nested prequential selection and conformal bands, block by block."""
    n, first = panel.n, fits[0].block.start
    keys = list(fits[0].preds)
    P = {k: np.full(n, np.nan) for k in keys}
    for f in fits:
        for k in keys:
            P[k][f.block.start : f.block.end] = f.preds[k]
    y_vol, y_ret = panel.y_vol, panel.y_ret
    fam: dict[str, np.ndarray] = {}
    lo_hi = {k: np.full(n, np.nan) for k in ("vol_lo", "vol_hi", "ret_lo", "ret_hi")}
    labelled = panel.labelled
    level = AdaptiveLevel(cfg.interval_level)
    counted = first  # rows before this have already updated the band level

    def update_level(end: int) -> None:
        """Feed the band misses of rows realised in [counted, end) into the adaptive level."""
        nonlocal counted
        new = np.arange(counted, max(counted, end))
        counted = max(counted, end)
        lo, hi = lo_hi["vol_lo"][new], lo_hi["vol_hi"][new]
        new = new[labelled[new] & np.isfinite(lo) & np.isfinite(hi)]
        if new.size:
            y = y_vol[new]
            level.update((y < lo_hi["vol_lo"][new]) | (y > lo_hi["vol_hi"][new]))

    blocks = []
    for f in fits:
        b = f.block
        rows = np.arange(first, max(first, b.train_end))
        rows = rows[labelled[rows]]
        update_level(b.train_end)
        choice, now = choose_all(
            P, rows, y_vol, y_ret, cfg.min_select_rows, fam or None, cfg.horizon - 1, b.start
        )
        sl = slice(b.start, b.end)
        for k, x in now.items():
            fam.setdefault(k, np.full(n, np.nan))[sl] = x[sl]
        for kind, pick in (("vol", choice.vol), ("ret", choice.ret)):
            fam.setdefault(f"{kind}/selected", np.full(n, np.nan))[sl] = fam[f"{kind}/{pick}"][sl]
        sel_v, sel_r = fam["vol/selected"], fam["ret/selected"]
        w = recency_weights(b.start - rows, cfg.half_life_rows)
        qv = conformal_bounds(vol_scores(y_vol[rows], sel_v[rows]), level.level, w)
        qr = conformal_bounds(
            ret_scores(y_ret[rows], sel_r[rows], sel_v[rows], cfg.horizon), cfg.interval_level, w
        )
        lo_hi["vol_lo"][sl], lo_hi["vol_hi"][sl] = vol_band(sel_v[sl], qv)
        lo_hi["ret_lo"][sl], lo_hi["ret_hi"][sl] = ret_band(sel_r[sl], sel_v[sl], qr, cfg.horizon)
        blocks.append(
            {
                "start": str(panel.dates[b.start]),
                "end": str(panel.dates[b.end - 1]),
                "train_end": str(panel.dates[b.train_end - 1]),
                "evaluated": b.evaluated,
                "selection_rows": int(rows.size),
                "choice": choice.as_dict(),
                "harx_groups": list(getattr(choice.vol_variants.get("harx"), "groups", ())),
                "vol_band_q": [qv[0], qv[1]],
                "vol_band_level": level.level,
                "ret_band_q": [qr[0], qr[1]],
                **f.info,
            }
        )
        log.debug("block %s..%s: %s", blocks[-1]["start"], blocks[-1]["end"], choice)

    # Over all realised OOS rows: the configuration and band level the final model uses.
    update_level(n)
    all_rows = np.arange(first, n)[labelled[first:]]
    final_choice, _ = choose_all(
        P, all_rows, y_vol, y_ret, cfg.min_select_rows, fam, cfg.horizon - 1, n
    )
    vol_models, ret_models = reported("vol", cfg), reported("ret", cfg)
    block_of = np.zeros(n, dtype=np.int64)
    evaluated = np.zeros(n, dtype=bool)
    for i, f in enumerate(fits):
        block_of[f.block.start : f.block.end] = i
        evaluated[f.block.start : f.block.end] = f.block.evaluated
    sl = slice(first, n)

    def column(target: str, model: str) -> np.ndarray:
        """The assembled forecast of a chosen family or combination, else the only variant's."""
        key = f"{target}/{model}"
        return (fam[key] if key in fam else P[key])[sl]

    frame = pl.DataFrame(
        {
            "date": panel.dates[sl],
            "block": block_of[sl],
            "evaluated": evaluated[sl],
            "vix": panel.X[sl, panel.names.index("vix")],
            TARGET_VOL: y_vol[sl],
            TARGET_RETURN: y_ret[sl],
            **{f"vol_{m}": column("vol", m) for m in vol_models},
            **{k: v[sl] for k, v in lo_hi.items() if k.startswith("vol")},
            **{f"ret_{m}": column("ret", m) for m in ret_models},
            **{k: v[sl] for k, v in lo_hi.items() if k.startswith("ret")},
        }
    ).with_columns(pl.col("date").cast(pl.Date), pl.col(TARGET_VOL, TARGET_RETURN).fill_nan(None))
    return WalkForwardResult(
        frame=frame,
        blocks=blocks,
        vol_models=vol_models,
        ret_models=ret_models,
        config=cfg,
        variants={k: v[sl] for k, v in P.items()},
        final_choice=final_choice,
        first_row=first,
        vol_band_level=level.level,
    )


def run_walkforward(panel: Panel, cfg: WalkForwardConfig) -> WalkForwardResult:
    blocks = plan_blocks(panel, cfg)
    jobs = max(1, min(cfg.n_jobs, len(blocks)))
    if jobs == 1:
        fits = [fit_block(panel, b, cfg) for b in blocks]
    else:
        # Each block runs in a copy of the caller's context, so that what a fit logs from the
        # pool's threads goes where the caller's logs go (a Prefect task run's log, say).
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="volpred-fit") as pool:
            runs = [
                pool.submit(contextvars.copy_context().run, fit_block, panel, b, cfg)
                for b in blocks
            ]
            fits = [run.result() for run in runs]
    return assemble(panel, fits, cfg)
