"""The feature pipeline every fit runs: each walk-forward block and the saved model alike.

One function (`window`) so that the saved model sees its inputs exactly as the walk-forward that
scored it did:
- GARCH state augmentation: the cleaned features plus `garch_vol`, the GJR-GARCH state filtered
  with parameters estimated on returns before the forecast rows only. Parameters are
  re-estimated every `garch_refit_every` rows (anchored at the evaluation start, each fit
  warm-started from the one before), the state is filtered through every row;
- feature selection: a column missing in most training rows is dropped, not imputed (range
  vols when a source has no OHLC), and training rows are those with every kept input, except
  the optional groups' (`estimators.OPTIONAL_GROUPS`: rates, intraday measures, macro series),
  which start partway or end early: each family fits on the rows that have what it reads;
- no fill: a forecast row's missing input stays missing, and the families answer it without
  that input or not at all (`families.Fitted.answer`);
- design: the model terms (`estimators.design`) are built once per set of rows and shared by
  every variant that uses them.
"""

from __future__ import annotations

import threading
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
#: Columns of the optional groups: never required of a training row.
OPTIONAL_COLUMNS = frozenset(c for g in cand.OPTIONAL_GROUPS for c in cand.TERM_GROUPS[g])
_GARCH_LOCK = threading.Lock()


def feature_share(X: np.ndarray) -> np.ndarray:
    return np.isfinite(X).mean(axis=0) if len(X) else np.zeros(X.shape[1])


def augmented(panel: Panel, end: int, gjr_params: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Features of rows < end plus the GJR state filtered with these parameters."""
    state = garch.state_to_vol(garch.variance_path(panel.ret[:end], gjr_params))
    return np.column_stack([panel.X[:end], state]), [*panel.names, GARCH_COL]


def select_features(
    X: np.ndarray, names: list[str], min_share: float
) -> tuple[list[int], list[str]]:
    """Columns present in at least `min_share` of the training rows, and every optional
    column present in any; the rest are dropped (e.g. range vols when the source has no OHLC).
    Returns (kept indices, dropped names)."""
    share = feature_share(X)
    keep = [
        i for i, s in enumerate(share) if s >= min_share or (names[i] in OPTIONAL_COLUMNS and s > 0)
    ]
    dropped = [names[i] for i in range(len(names)) if i not in keep]
    lost = [c for c in REQUIRED_FEATURES if c in dropped]
    if lost:
        raise ValueError(f"required features {lost} are missing in most training rows")
    return keep, dropped


def garch_anchor(start: int, origin: int, every: int) -> int:
    """The row whose preceding returns estimate the GARCH parameters used from `start` on."""
    return origin + ((start - origin) // every) * every


def garch_params(
    panel: Panel, anchor: int, every: int, asymmetric: bool, dist: str, min_rows: int
) -> np.ndarray:
    """(GJR-)GARCH parameters on returns of rows < anchor, warm-started from the estimate at
    anchor - every (itself computed the same way), so the result depends only on the anchor:
    the walk-forward and a model trained on the data up to a block get the same parameters.
    Cached on the panel; the lock keeps threads from fitting the same anchor twice."""
    key = (anchor, every, asymmetric, dist)
    with _GARCH_LOCK:
        hit = panel.garch_cache.get(key)
    if hit is not None:
        return hit[0]
    prev = anchor - every
    start = None
    if prev >= min_rows:
        garch_params(panel, prev, every, asymmetric, dist, min_rows)
        start = panel.garch_cache[(prev, every, asymmetric, dist)][1]
    result = garch.estimate(panel.ret[:anchor], asymmetric, dist, start)
    with _GARCH_LOCK:
        panel.garch_cache[key] = result
    return result[0]


def present_groups(X: np.ndarray, cols: dict[str, int]) -> dict[str, np.ndarray]:
    """Per optional group, the rows with every one of its columns that the inputs have."""
    out = {}
    for g in cand.OPTIONAL_GROUPS:
        idx = [cols[c] for c in cand.TERM_GROUPS[g] if c in cols]
        out[g] = np.all(np.isfinite(X[:, idx]), axis=1) if idx else np.zeros(len(X), bool)
    return out


@dataclass(frozen=True, eq=False, kw_only=True)
class Inputs:
    """Rows to forecast: inputs (columns `cols`, NaN where missing) and the model designs built
    from them, computed on first use and then shared by every variant."""

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
    def names(self) -> list[str]:
        return list(self.cols)

    @property
    def vix(self) -> np.ndarray:
        return self.X[:, self.cols["vix"]]

    @cached_property
    def present(self) -> dict[str, np.ndarray]:
        """Per optional group, the rows that have it."""
        return present_groups(self.X, self.cols)

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
    #: GJR-GARCH parameters behind the `garch_vol` column, and GARCH(1,1)'s.
    gjr_params: np.ndarray
    garch11_params: np.ndarray
    horizon: int
    seed: int
    #: The combinations of optional groups the forecast rows have (None: every combination,
    #: as the saved model needs): a family fits the designs these rows need, no others.
    needed: frozenset[frozenset[str]] | None = None
    _shared: dict[Any, Any] = field(default_factory=dict, repr=False)

    def shared(self, key: Any, compute: Callable[[], Any]) -> Any:
        """`compute()` once per window: variants that differ only after a common fit (HAR-X's
        two back-transforms of one ridge, designs that share their rows) reuse it."""
        if key not in self._shared:
            self._shared[key] = compute()
        return self._shared[key]


@dataclass(frozen=True, eq=False)
class Window:
    """One fit's data: training rows (indices `rows` into the panel) and forecast rows."""

    names: list[str]  # input columns: kept features, then GARCH_COL
    dropped: list[str]
    rows: np.ndarray
    train: Train
    test: Inputs


def window(panel: Panel, start: int, end: int, train_end: int, cfg: WalkForwardConfig) -> Window:
    """Train on the labelled rows < `train_end`, forecast rows `start`..`end` - 1; the GARCH
    parameters come from returns of rows before `start`'s anchor. The saved model is the window
    (n, n, n): every labelled row, nothing to forecast."""
    from volpred.model.walkforward.plan import evaluation_start

    origin = evaluation_start(panel.dates, cfg.min_train_years)
    anchor = garch_anchor(start, origin, cfg.garch_refit_every)
    params = {
        asym: garch_params(panel, anchor, cfg.garch_refit_every, asym, dist, cfg.min_train_rows)
        for asym, dist in ((True, "t"), (False, "normal"))
    }
    Xa, names = augmented(panel, end, params[True])
    candidates = np.flatnonzero(panel.labelled[:train_end])
    keep, dropped = select_features(Xa[candidates], names, cfg.min_feature_share)
    Xa, names = Xa[:, keep], [names[i] for i in keep]
    cols = {n: i for i, n in enumerate(names)}
    required = [i for i, n in enumerate(names) if n not in OPTIONAL_COLUMNS]
    rows = candidates[np.all(np.isfinite(Xa[candidates][:, required]), axis=1)]
    base = [n for n in names if n != GARCH_COL]
    specs = {"vol_spec": cand.design_spec(base), "ret_spec": cand.design_spec(base, returns=True)}
    test = Inputs(X=Xa[start:end], cols=cols, **specs, returns=panel.ret[:end])
    needed = None
    if end > start:
        present = test.present
        needed = frozenset(
            frozenset(g for g in cand.OPTIONAL_GROUPS if present[g][i]) for i in range(test.n)
        )
    train = Train(
        X=Xa[rows],
        cols=cols,
        **specs,
        returns=panel.ret[:start],
        y_vol=panel.y_vol[rows],
        y_ret=panel.y_ret[rows],
        gjr_params=params[True],
        garch11_params=params[False],
        horizon=cfg.horizon,
        seed=cfg.seed,
        needed=needed,
    )
    return Window(names, dropped, rows, train, test)
