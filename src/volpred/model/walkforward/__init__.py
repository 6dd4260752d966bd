"""Expanding-window walk-forward: every model and benchmark, nested selection, honest bands.

Timeline (row indices, one per trading day; the forecast for row t is made at t's close):
- Blocks of `refit_every` rows are anchored at the evaluation start (first row of the
  `min_train_years + 1`-th year). Each block is forecast by models fitted once, before it.
- A block starting at row s trains on labelled rows i < s - gap (gap >= horizon), so every
  training target (returns of days i+1..i+h) is realised before day s. GARCH parameters use
  returns of rows < s and are then filtered through the block without refitting.
- Selection is prequential and nested: blocks also run during `selection_years` before the
  evaluation start (burn-in). At block s every hyperparameter, combination weight, model
  choice and conformal quantile is decided from earlier blocks' out-of-sample forecasts whose
  targets are realised, i.e. rows < s - gap. No choice ever sees a target at or after s.
  Burn-in blocks are scored for selection only, never reported.

One module per job: `plan` (settings, the table as arrays, the blocks), `fitting` (stage 1:
every registered variant fitted and forecasting each block, independently, on threads if
asked), `selection` (the choice rules) and `assembly` (stage 2, sequential: the choices, the
served forecasts and their bands, block by block). The families fitted are those registered
in `volpred.model.families`.
"""

from volpred.model.families import RET_BENCHMARKS, VOL_BENCHMARKS
from volpred.model.walkforward.assembly import WalkForwardResult, assemble, run_walkforward
from volpred.model.walkforward.fitting import BlockFit, fit_block
from volpred.model.walkforward.plan import (
    Block,
    Panel,
    WalkForwardConfig,
    evaluation_start,
    panel_from_table,
    plan_blocks,
)
from volpred.model.walkforward.selection import (
    DEFAULT_RET,
    DEFAULT_VOL,
    ENSEMBLE,
    ENSEMBLE_HALF_LIFE,
    ENSEMBLE_POOL,
    ENSEMBLE_SHRINK,
    RET_MIN_SELECT_ROWS,
    RET_SWITCH_P,
    Choice,
    choose,
    choose_all,
    choose_with_evidence,
    ensemble_weights,
    ret_score,
    simplex_grid,
    vol_score,
)

__all__ = [
    "DEFAULT_RET",
    "DEFAULT_VOL",
    "ENSEMBLE",
    "ENSEMBLE_POOL",
    "ENSEMBLE_SHRINK",
    "ENSEMBLE_HALF_LIFE",
    "RET_BENCHMARKS",
    "RET_MIN_SELECT_ROWS",
    "RET_SWITCH_P",
    "VOL_BENCHMARKS",
    "Block",
    "BlockFit",
    "Choice",
    "Panel",
    "WalkForwardConfig",
    "WalkForwardResult",
    "assemble",
    "choose",
    "choose_all",
    "choose_with_evidence",
    "ensemble_weights",
    "evaluation_start",
    "fit_block",
    "panel_from_table",
    "plan_blocks",
    "ret_score",
    "run_walkforward",
    "simplex_grid",
    "vol_score",
]
