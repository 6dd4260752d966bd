"""Model families behind one interface, and the registry of every family the walk-forward fits.

Modelled on the `arch` package's volatility processes, where `GARCH(p=1, o=1, q=1)` is the
GARCH process at one setting: a family is a class and an instance is one variant, whose fields
are its hyperparameters. `fit` takes a `design.Train` and returns a state of plain arrays,
floats and dicts (the saved model stores it with skops); `predict` turns `design.Inputs`
into forecasts with that state. The variant holds only hyperparameters and the state only what
was fitted, so one variant object serves every walk-forward block. `key` names the variant's
walk-forward series and its entry in choices ("harx@0.01/vol"), `label` names the family in
reports.

Why one registry (`VOL_FAMILIES`, `RET_FAMILIES` and the combinations below them): the
walk-forward fits every variant listed there, its selection chooses among them, the final fit
refits the chosen ones, and the out-of-sample frame's columns and the metrics' tables follow
its order. A family added there appears in all of them.

Combinations (`Pair`, `Pool`) weight their member families' forecasts; they are fitted by
fitting their members.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from volpred.model import benchmarks as bm
from volpred.model import estimators as cand
from volpred.model import garch
from volpred.model.design import GARCH_COL, Inputs, Train


class Family:
    """A model family; subclasses are frozen dataclasses whose fields are the hyperparameters."""

    name: ClassVar[str]
    label: ClassVar[str]
    target: ClassVar[str]  # "vol" or "ret"
    #: A yardstick: every model's metrics are relative to the benchmarks.
    benchmark: ClassVar[bool] = False
    #: The walk-forward chooses this family's variant and may serve the family.
    candidate: ClassVar[bool] = True
    #: Gradient boosting, which a walk-forward can leave out (`use_gbm`): it costs most.
    boosting: ClassVar[bool] = False

    @property
    def tag(self) -> str:
        """The hyperparameters as they appear in the key ("" for a family without any)."""
        return ""

    @property
    def key(self) -> str:
        return f"{self.name}@{self.tag}" if self.tag else self.name

    @property
    def series(self) -> str:
        """The walk-forward's name for this variant's forecasts, "<target>/<key>"."""
        return f"{self.target}/{self.key}"

    def fit(self, train: Train) -> Any:
        return None

    def predict(self, state: Any, x: Inputs) -> np.ndarray:
        raise NotImplementedError


# --------------------------------------------------------------------------- V benchmarks


@dataclass(frozen=True)
class RandomWalk(Family):
    """Next month's vol is the last month's realised vol."""

    name = "rw"
    label = "Random walk"
    target = "vol"
    benchmark = True
    candidate = False

    def predict(self, state: None, x: Inputs) -> np.ndarray:
        return bm.random_walk(x.X, x.cols)


@dataclass(frozen=True)
class HarRV(Family):
    """HAR in variance levels (Corsi 2009): the reference every V loss is relative to."""

    name = "har"
    label = "HAR-RV"
    target = "vol"
    benchmark = True
    candidate = False

    def fit(self, train: Train) -> np.ndarray:
        return bm.fit_har_var(train.X, train.y_vol, train.cols)

    def predict(self, state: np.ndarray, x: Inputs) -> np.ndarray:
        return bm.predict_har_var(x.X, x.cols, state)


@dataclass(frozen=True)
class VixRaw(Family):
    """The VIX itself: risk-neutral, so biased up by the variance premium."""

    name = "vix"
    label = "VIX"
    target = "vol"
    benchmark = True
    candidate = False

    def predict(self, state: None, x: Inputs) -> np.ndarray:
        return bm.vix_raw(x.X, x.cols)


@dataclass(frozen=True)
class VixCalibrated(Family):
    """a + b * VIX on the training window: the VIX without its average premium."""

    name = "vix_cal"
    label = "VIX calibrated"
    target = "vol"
    benchmark = True
    candidate = False

    def fit(self, train: Train) -> np.ndarray:
        return bm.fit_vix_calibrated(train.X, train.y_vol, train.cols)

    def predict(self, state: np.ndarray, x: Inputs) -> np.ndarray:
        return bm.predict_vix_calibrated(x.X, x.cols, state)


@dataclass(frozen=True)
class Garch11(Family):
    """GARCH(1,1) with normal innovations, estimated on the returns before the forecast rows
    and filtered through them with fixed parameters (its state is not a model input)."""

    name = "garch"
    label = "GARCH(1,1)"
    target = "vol"
    benchmark = True
    candidate = False

    def fit(self, train: Train) -> dict[str, np.ndarray]:
        params = garch.fit_garch(train.returns, asymmetric=False, dist="normal")
        return {"params": params, "coef": garch.forecast_coefficients(params, train.horizon)}

    def predict(self, state: dict[str, np.ndarray], x: Inputs) -> np.ndarray:
        if x.returns is None:
            raise ValueError("GARCH(1,1) needs the return history up to the forecast rows")
        path = garch.state_to_vol(garch.variance_path(x.returns, state["params"]))
        return garch.forecast_from_coefficients(path[path.size - x.n :], state["coef"])


# --------------------------------------------------------------------------- V candidates


@dataclass(frozen=True)
class Gjr(Family):
    """GJR-GARCH(1,1) with t innovations: returns and leverage. Its parameters are the
    pipeline's (they filter the `garch_vol` input), so fitting only maps them to the horizon."""

    name = "gjr"
    label = "GJR-GARCH"
    target = "vol"

    def fit(self, train: Train) -> np.ndarray:
        return garch.forecast_coefficients(train.gjr_params, train.horizon)

    def predict(self, state: np.ndarray, x: Inputs) -> np.ndarray:
        return garch.forecast_from_coefficients(x.X[:, x.cols[GARCH_COL]], state)


@dataclass(frozen=True)
class HarX(Family):
    """HAR-X on log(forward var / VIX^2) (see `estimators`): `lam` is the penalty per
    observation, `kind` the loss / back-transform ("vol", "var": ridge with smearing for the vol
    or the variance; "gamma": Gamma GLM)."""

    name = "harx"
    label = "HAR-X (ridge)"
    target = "vol"
    lam: float
    kind: str

    @property
    def tag(self) -> str:
        return f"{self.lam:g}/{self.kind}"

    def fit(self, train: Train) -> dict[str, Any]:
        if self.kind == "gamma":
            return cand.fit_harx_gamma(train.D, train.vix, train.y_vol, self.lam)
        ridge, resid = train.shared(
            (self.name, self.lam),
            lambda: cand.fit_harx_ridge(train.D, train.vix, train.y_vol, self.lam),
        )
        return ridge | {"smear": cand.smear(resid, self.kind)}

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return cand.predict_harx(x.D, x.vix, state)


#: Boosting settings every variant shares: no early stopping (no validation split to spare).
BOOSTING_COMMON: dict[str, Any] = {"l2_regularization": 1.0, "early_stopping": False}


def boosting_params(variant: GbmVol | GbmRet) -> dict[str, Any]:
    """HistGradientBoostingRegressor's parameters: the variant's fields and BOOSTING_COMMON."""
    return dataclasses.asdict(variant) | BOOSTING_COMMON


@dataclass(frozen=True)
class GbmVol(Family):
    """Gradient boosting on the HAR-X terms, predicting log(forward var / VIX^2)."""

    name = "gbm"
    label = "Gradient boosting"
    target = "vol"
    boosting = True
    max_leaf_nodes: int
    min_samples_leaf: int
    learning_rate: float = 0.05
    max_iter: int = 150

    @property
    def tag(self) -> str:
        return f"leaf{self.max_leaf_nodes}"

    def fit(self, train: Train) -> dict[str, Any]:
        return cand.fit_gbm_vol(train.D, train.vix, train.y_vol, boosting_params(self), train.seed)

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return cand.predict_gbm_vol(x.D, x.vix, state)


# --------------------------------------------------------------------------- R families


@dataclass(frozen=True)
class HistMean(Family):
    """The mean of the training targets: the benchmark, and a candidate the others must beat."""

    name = "hist_mean"
    label = "Historical mean"
    target = "ret"
    benchmark = True

    def fit(self, train: Train) -> float:
        return float(np.mean(train.y_ret))

    def predict(self, state: float, x: Inputs) -> np.ndarray:
        return np.full(x.n, state)


@dataclass(frozen=True)
class Zero(Family):
    """A zero expected return."""

    name = "zero"
    label = "Zero"
    target = "ret"
    benchmark = True
    candidate = False

    def predict(self, state: None, x: Inputs) -> np.ndarray:
        return np.zeros(x.n)


@dataclass(frozen=True)
class VrpCt(Family):
    """The return on the VRP with Campbell-Thompson restrictions; the historical mean when the
    data have no VRP."""

    name = "vrp_ct"
    label = "VRP regression"
    target = "ret"

    def fit(self, train: Train) -> dict[str, Any]:
        if "vrp" not in train.cols:
            return {"mean": float(np.mean(train.y_ret))}
        return cand.fit_vrp_ct(train.X[:, train.cols["vrp"]], train.y_ret)

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        if "mean" in state:
            return cand.truncate(np.full(x.n, state["mean"]))
        return cand.truncate(cand.linear(x.X[:, [x.cols["vrp"]]], state))


@dataclass(frozen=True)
class RidgeCt(Family):
    """A heavily shrunk ridge on the R design, truncated at zero; `lam` per observation."""

    name = "ridge_ct"
    label = "Ridge regression"
    target = "ret"
    lam: float

    @property
    def tag(self) -> str:
        return f"{self.lam:g}"

    def fit(self, train: Train) -> dict[str, Any]:
        return cand.fit_ridge(train.R, train.y_ret, self.lam)

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return cand.truncate(cand.linear(x.R, state))


@dataclass(frozen=True)
class GbmRet(Family):
    """Gradient boosting on the R design, truncated at zero; small and slow-learning, since
    returns are nearly unpredictable."""

    name = "gbm"
    label = "Gradient boosting"
    target = "ret"
    boosting = True
    max_leaf_nodes: int = 7
    min_samples_leaf: int = 200
    learning_rate: float = 0.03
    max_iter: int = 100

    def fit(self, train: Train) -> dict[str, Any]:
        return cand.fit_gbm_ret(train.R, train.y_ret, boosting_params(self), train.seed)

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return cand.predict_gbm_ret(x.R, state)


# ------------------------------------------------------------ fitted forecasters, combinations


@dataclass(frozen=True, eq=False)
class Fitted:
    """A variant (or combination) and its fitted state: what the saved model forecasts with."""

    model: Family | Pair | Pool
    state: Any

    def predict(self, x: Inputs) -> np.ndarray:
        return self.model.predict(self.state, x)

    def parts(self) -> Iterator[Fitted]:
        """Itself, then (for a combination) its members."""
        yield self
        if isinstance(self.model, Pair | Pool):
            for member in self.state["members"]:
                yield from member.parts()


@dataclass(frozen=True)
class Pair:
    """w * a + (1 - w) * b of two families' forecasts, w from a small grid."""

    name: str
    label: str
    target: str
    members: tuple[str, str]
    weights: tuple[float, ...]  # the grid the walk-forward chooses w from
    default: float  # w until enough realised rows exist to choose

    @property
    def series(self) -> str:
        return f"{self.target}/{self.name}"

    @staticmethod
    def combine(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
        return w * a + (1.0 - w) * b

    def fitted(self, a: Fitted, b: Fitted, w: float) -> Fitted:
        return Fitted(self, {"members": (a, b), "weight": float(w)})

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        a, b = state["members"]
        return self.combine(a.predict(x), b.predict(x), state["weight"])


@dataclass(frozen=True)
class Pool:
    """Weights on several families' forecasts: the best simplex grid point (resolution `step`)
    on past losses, shrunk by `shrink` towards equal weights (`walkforward.ensemble_weights`)."""

    name: str
    label: str
    target: str
    members: tuple[str, ...]
    shrink: float
    step: float

    @property
    def series(self) -> str:
        return f"{self.target}/{self.name}"

    def fitted(self, members: tuple[Fitted, ...], weights: np.ndarray) -> Fitted:
        return Fitted(self, {"members": tuple(members), "weights": np.asarray(weights, float)})

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return np.column_stack([m.predict(x) for m in state["members"]]) @ state["weights"]


# ------------------------------------------------------------------------------- registry


def _by_name(*grids: tuple[Family, ...]) -> dict[str, tuple[Family, ...]]:
    return {grid[0].name: grid for grid in grids}


#: Hyperparameter grids; the first value is the prior default used before any out-of-sample
#: evidence exists.
HARX_LAMBDAS = (0.01, 0.001, 0.1, 1.0)
HARX_KINDS = ("vol", "var", "gamma")
RIDGE_RET_LAMBDAS = (10.0, 1.0, 100.0)

#: family name -> its variants, in the order of the out-of-sample frame's columns and the
#: metrics' tables. The first variant is the prior default; the order breaks ties in selection.
VOL_FAMILIES: dict[str, tuple[Family, ...]] = _by_name(
    (RandomWalk(),),
    (HarRV(),),
    (VixRaw(),),
    (VixCalibrated(),),
    (Garch11(),),
    (Gjr(),),
    tuple(HarX(lam, kind) for kind in HARX_KINDS for lam in HARX_LAMBDAS),
    (
        GbmVol(max_leaf_nodes=7, min_samples_leaf=100),
        GbmVol(max_leaf_nodes=15, min_samples_leaf=50),
    ),
)
RET_FAMILIES: dict[str, tuple[Family, ...]] = _by_name(
    (HistMean(),),
    (Zero(),),
    (VrpCt(),),
    tuple(RidgeCt(lam) for lam in RIDGE_RET_LAMBDAS),
    (GbmRet(),),
)
FAMILIES = {"vol": VOL_FAMILIES, "ret": RET_FAMILIES}

#: The reported V combination of the HAR-X and GJR forecasts.
HARX_GJR = Pair(
    "harx_gjr",
    "HAR-X + GJR combination",
    "vol",
    ("harx", "gjr"),
    weights=(0.25, 0.5, 0.75),
    default=0.5,
)
#: The R combination: half the historical mean, half the VRP forecast.
RET_COMBO = Pair(
    "combo",
    "Historical mean + VRP combination",
    "ret",
    ("hist_mean", "vrp_ct"),
    weights=(0.5,),
    default=0.5,
)
#: The served V forecast: four forecasts with different information (HAR-X: log RV terms and
#: the VIX; GJR: returns and leverage; the calibrated VIX: the option market; HAR: RV levels).
VOL_ENSEMBLE = Pool(
    "ensemble",
    "Ensemble of HAR-X, GJR-GARCH, calibrated VIX and HAR-RV",
    "vol",
    ("harx", "gjr", "vix_cal", "har"),
    shrink=0.5,
    step=0.05,
)
COMBINATIONS = {"vol": (HARX_GJR,), "ret": (RET_COMBO,)}

VOL_BENCHMARKS = tuple(f for f, grid in VOL_FAMILIES.items() if grid[0].benchmark)
RET_BENCHMARKS = tuple(f for f, grid in RET_FAMILIES.items() if grid[0].benchmark)


def active(target: str, use_gbm: bool) -> dict[str, tuple[Family, ...]]:
    """The target's families a walk-forward fits (boosting only with `use_gbm`)."""
    return {f: grid for f, grid in FAMILIES[target].items() if use_gbm or not grid[0].boosting}


def only(target: str, family: str) -> Family:
    """The first (for a family without hyperparameters: the only) variant of a family."""
    return FAMILIES[target][family][0]
