"""Issue 3's modelling core: benchmarks, candidates, walk-forward, intervals, the final model.

Modules (one job each): `metrics` (losses and tests), `garch` (GARCH/GJR parameters and
recursion), `benchmarks` (RW, HAR, VIX, historical mean), `candidates` (HAR-X, boosting, return
models), `walkforward` (splits, nested selection, bands), `intervals` (conformal quantiles),
`evaluation` (metric tables), `final` (the saved `VolpredModel`). `volpred.train.train` runs
them in order.
"""

from volpred.models.final import VolpredModel, feature_matrix, predict_table, what_if_rows
from volpred.models.walkforward import WalkForwardConfig, panel_from_table, run_walkforward

__all__ = [
    "VolpredModel",
    "WalkForwardConfig",
    "feature_matrix",
    "panel_from_table",
    "predict_table",
    "run_walkforward",
    "what_if_rows",
]
