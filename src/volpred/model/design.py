"""The feature pipeline every fit runs: each walk-forward block and the saved model alike.

One function (`window`) so that the saved model sees its inputs exactly as the walk-forward that
scored it did:
- GARCH state augmentation: the cleaned features plus `garch_vol`, the GJR-GARCH state filtered
  with parameters estimated on the returns before the forecast rows only;
- feature selection: a column missing in most training rows is dropped, not imputed (range
  vols when a source has no OHLC), and training rows are those with every kept input;
- median fill: a forecast row's missing input takes its training median (the saved model keeps
  the medians for what-if rows);
- design: the model terms (`estimators.design`) are built once per set of rows and shared by
  every variant that uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from volpred.model import estimators as cand
from volpred.model import garch

if TYPE_CHECKING:
    from volpred.model.walkforward.plan import Panel, WalkForwardConfig

#: The GJR-GARCH one-day conditional vol (annualised decimal) as of each row's close.
GARCH_COL = "garch_vol"
#: Benchmarks need these; without them there is nothing to compare against.
REQUIRED_FEATURES = ("ret", "rv1", "rv5", "rv21", "vix")


def feature_share(X: np.ndarray) -> np.ndarray:
    return np.isfinite(X).mean(axis=0) if len(X) else np.zeros(X.shape[1])


def fill_missing(X: np.ndarray, values: np.ndarray) -> np.ndarray:
    nan = np.isnan(X)
    return np.where(nan, values, X) if nan.any() else X


def augmented(panel: Panel, end: int, gjr_params: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Features of rows < end plus the GJR state filtered with these parameters."""
    state = garch.state_to_vol(garch.variance_path(panel.ret[:end], gjr_params))
    return np.column_stack([panel.X[:end], state]), [*panel.names, GARCH_COL]


def select_features(
    X: np.ndarray, names: list[str], min_share: float
) -> tuple[list[int], list[str]]:
    """Columns present in at least `min_share` of the training rows; the rest are dropped
    (e.g. range vols when the source has no OHLC). Returns (kept indices, dropped names)."""
    share = feature_share(X)
    keep = [i for i, s in enumerate(share) if s >= min_share]
    dropped = [names[i] for i in range(len(names)) if i not in keep]
    lost = [c for c in REQUIRED_FEATURES if c in dropped]
    if lost:
        raise ValueError(f"required features {lost} are missing in most training rows")
    return keep, dropped


@dataclass(frozen=True, eq=False, kw_only=True)
class Inputs:
    """Rows to forecast: NaN-free inputs (columns `cols`) and the model designs built from them,
    computed on first use and then shared by every variant."""

    X: np.ndarray
    cols: dict[str, int]
    vol_spec: dict[str, Any]
    ret_spec: dict[str, Any]
    #: Daily returns through the last row, for a model that filters its own GARCH state
    #: (GARCH(1,1)); None where only the rows are known (the saved model's `predict`).
    returns: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.X)

    @property
    def vix(self) -> np.ndarray:
        return self.X[:, self.cols["vix"]]

    @cached_property
    def D(self) -> np.ndarray:  # noqa: N802 - a design matrix's usual name, as in `estimators`
        """The V design (log RV terms, VIX, linear terms)."""
        return cand.design(self.X, self.vol_spec)

    @cached_property
    def R(self) -> np.ndarray:  # noqa: N802 - see D
        """The R design: the V terms plus the VRP, drawdown and the 10y yield."""
        return cand.design(self.X, self.ret_spec)


@dataclass(frozen=True, eq=False, kw_only=True)
class Train(Inputs):
    """The training rows of a window: inputs, targets and what every fit needs besides them.
    `returns` are those before the forecast rows (GARCH(1,1) is estimated on them)."""

    y_vol: np.ndarray
    y_ret: np.ndarray
    #: GJR-GARCH parameters behind the `garch_vol` column.
    gjr_params: np.ndarray
    horizon: int
    seed: int
    _shared: dict[Any, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()` once per window: variants that differ only after a common fit (HAR-X's
        two back-transforms of one ridge) reuse it instead of refitting."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]


@dataclass(frozen=True, eq=False)
class Window:
    """One fit's data: training rows (indices `rows` into the panel) and forecast rows."""

    names: list[str]  # input columns: kept features, then GARCH_COL
    dropped: list[str]
    rows: np.ndarray
    fill_values: np.ndarray  # training medians
    train: Train
    test: Inputs


def window(panel: Panel, start: int, end: int, train_end: int, cfg: WalkForwardConfig) -> Window:
    """Train on the labelled rows < `train_end`, forecast rows `start`..`end` - 1; the GJR
    parameters come from returns of rows < `start`. The saved model is the window
    (n, n, n): every labelled row, nothing to forecast."""
    gjr_params = garch.fit_garch(panel.ret[:start], asymmetric=True, dist="t")
    Xa, names = augmented(panel, end, gjr_params)
    candidates = np.flatnonzero(panel.labelled[:train_end])
    keep, dropped = select_features(Xa[candidates], names, cfg.min_feature_share)
    Xa, names = Xa[:, keep], [names[i] for i in keep]
    cols = {n: i for i, n in enumerate(names)}
    rows = candidates[np.all(np.isfinite(Xa[candidates]), axis=1)]
    medians = np.median(Xa[rows], axis=0)
    base = [n for n in names if n != GARCH_COL]
    specs = {"vol_spec": cand.design_spec(base), "ret_spec": cand.design_spec(base, returns=True)}
    train = Train(
        X=Xa[rows],
        cols=cols,
        **specs,
        returns=panel.ret[:start],
        y_vol=panel.y_vol[rows],
        y_ret=panel.y_ret[rows],
        gjr_params=gjr_params,
        horizon=cfg.horizon,
        seed=cfg.seed,
    )
    test = Inputs(
        X=fill_missing(Xa[start:end], medians), cols=cols, **specs, returns=panel.ret[:end]
    )
    return Window(names, dropped, rows, medians, train, test)
