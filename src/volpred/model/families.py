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
        """Forecasts of the rows of `x`; NaN on a row missing an input the family cannot do
        without (a NaN input propagates through every design)."""
        raise NotImplementedError

    def answer(self, state: Any, x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts and, per row, None when the variant answered with every input it reads,
        else what it left out ("harx without realized"): a fallback is always named."""
        return self.predict(state, x), np.full(x.n, None, dtype=object)


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
    """GARCH(1,1) with normal innovations, estimated on the returns before the window's GARCH
    anchor and filtered through the forecast rows with fixed parameters (its state is not a
    model input)."""

    name = "garch"
    label = "GARCH(1,1)"
    target = "vol"
    benchmark = True
    candidate = False

    def fit(self, train: Train) -> dict[str, np.ndarray]:
        params = train.garch11_params
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


def _subsets(groups: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every subset of `groups` (order kept), largest first: the order designs are tried in."""
    out = [
        tuple(g for i, g in enumerate(groups) if mask >> i & 1) for mask in range(2 ** len(groups))
    ]
    return sorted(out, key=lambda sub: (-len(sub), [groups.index(g) for g in sub]))


@dataclass(frozen=True)
class HarX(Family):
    """HAR-X on log(forward var / VIX^2) (see `estimators`): `lam` is the penalty per
    observation, `kind` the loss / back-transform ("vol", "var": ridge with smearing for the vol
    or the variance; "gamma": Gamma GLM), `groups` the predictor groups beyond the base terms
    (`estimators.TERM_GROUPS`).

    Optional groups (rates, realized measures, macro: sources that start partway or end early)
    are handled by fitting one design per combination of them that the rows need, each on the
    training rows that have its inputs (at least `MIN_GROUP_ROWS`, else the design without
    that group stands in). A row is forecast by the largest design its inputs allow, and the
    answer names the groups it had to leave out.
    """

    name = "harx"
    label = "HAR-X (ridge)"
    target = "vol"
    lam: float
    kind: str
    groups: tuple[str, ...] = ()

    @property
    def tag(self) -> str:
        extra = f"/{'+'.join(self.groups)}" if self.groups else ""
        return f"{self.lam:g}/{self.kind}{extra}"

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(g for g in cand.OPTIONAL_GROUPS if g == "rates" or g in self.groups)

    @staticmethod
    def _design(train: Train, groups: tuple[str, ...]) -> dict[str, Any] | None:
        """A design on the training rows with all its inputs, shared by every variant of those
        groups (and its standardised moments by every penalty); None when an optional group has
        no columns here or too few rows, so that the design without it stands in. A required
        group without columns (no intraday data at all, say) just drops out."""
        spec = cand.design_spec(train.names, groups)
        if any(g in cand.OPTIONAL_GROUPS and g not in spec["groups"] for g in groups):
            return None
        used = cand.spec_columns(spec)
        rows = np.flatnonzero(np.all(np.isfinite(train.X[:, used]), axis=1))
        optional = [g for g in groups if g in cand.OPTIONAL_GROUPS and g != "rates"]
        if optional and rows.size < cand.MIN_GROUP_ROWS:
            return None
        D = cand.design(train.X[rows], spec)
        vix, y = train.vix[rows], train.y_vol[rows]
        target = cand.vix_log_ratio(vix, y)
        return {
            "spec": cand.bound_to(spec, D),
            "D": D,
            "vix": vix,
            "y": y,
            "target": target,
            "moments": cand.ridge_moments(D, target),
        }

    def _design_fit(self, train: Train, groups: tuple[str, ...]) -> dict[str, Any] | None:
        """One design's fit on the training rows with its inputs (None: see `_design`)."""
        d = train.shared(("harx-design", groups), lambda: self._design(train, groups))
        if d is None:
            return None
        if self.kind == "gamma":
            fit = cand.fit_harx_gamma(d["D"], d["vix"], d["y"], self.lam)
        else:

            def ridge() -> tuple[dict[str, Any], np.ndarray]:
                fitted = cand.ridge_from_moments(d["moments"], self.lam)
                return fitted, d["target"] - cand.linear(d["D"], fitted)

            fitted, resid = train.shared(("harx-ridge", self.lam, groups), ridge)
            fit = fitted | {"smear": cand.smear(resid, self.kind)}
        return fit | {"spec": d["spec"], "optional": [g for g in groups if g in self.optional]}

    def fit(self, train: Train) -> dict[str, Any]:
        required = tuple(g for g in self.groups if g not in cand.OPTIONAL_GROUPS)
        optional = self.optional
        if train.needed is None:
            patterns: list[frozenset[str]] = [frozenset(optional)]
            wanted = _subsets(optional)
        else:
            patterns = sorted(train.needed, key=sorted)
            wanted = []
        fits: dict[str, dict[str, Any]] = {}
        for pattern in patterns:
            for sub in _subsets(tuple(g for g in optional if g in pattern)):
                key = "+".join(sub)
                if key in fits:
                    break
                fit = self._design_fit(train, (*required, *sub))
                if fit is not None:
                    fits[key] = fit
                    break
        for sub in wanted:  # the saved model: every fallback design, for any row it may meet
            key = "+".join(sub)
            if key not in fits:
                fit = self._design_fit(train, (*required, *sub))
                if fit is not None:
                    fits[key] = fit
        order = [k for k in ("+".join(sub) for sub in _subsets(optional)) if k in fits]
        return {"fits": fits, "order": order}

    def main_fit(self, state: dict[str, Any]) -> dict[str, Any]:
        """The largest design fitted: the one a row with every input uses."""
        return state["fits"][state["order"][0]]

    def answer(self, state: dict[str, Any], x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        out = np.full(x.n, np.nan)
        labels = np.full(x.n, None, dtype=object)
        todo = np.ones(x.n, dtype=bool)
        for key in state["order"]:
            fit = state["fits"][key]
            rows = todo.copy()
            for g in fit["optional"]:
                rows &= x.present[g]
            if not rows.any():
                continue
            out[rows] = cand.predict_harx(cand.design(x.X[rows], fit["spec"]), x.vix[rows], fit)
            left_out = [g for g in self.optional if g not in fit["optional"]]
            if left_out:
                labels[rows] = f"{self.name} without {', '.join(left_out)}"
            todo &= ~rows
        return out, labels

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return self.answer(state, x)[0]


def finite_rows(D: np.ndarray) -> np.ndarray:
    """Rows of a design with every term: a tree model would answer a NaN row with a guess."""
    return np.all(np.isfinite(D), axis=1)


def masked(pred: np.ndarray, ok: np.ndarray) -> np.ndarray:
    return np.where(ok, pred, np.nan)


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
        ok = finite_rows(train.D)
        return cand.fit_gbm_vol(
            train.D[ok], train.vix[ok], train.y_vol[ok], boosting_params(self), train.seed
        )

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        ok = finite_rows(x.D)
        return masked(cand.predict_gbm_vol(np.nan_to_num(x.D), x.vix, state), ok)


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
        ok = finite_rows(train.R)
        return cand.fit_ridge(train.R[ok], train.y_ret[ok], self.lam)

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
        ok = finite_rows(train.R)
        return cand.fit_gbm_ret(train.R[ok], train.y_ret[ok], boosting_params(self), train.seed)

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return masked(cand.predict_gbm_ret(np.nan_to_num(x.R), state), finite_rows(x.R))


# ------------------------------------------------------------ fitted forecasters, combinations


@dataclass(frozen=True, eq=False)
class Fitted:
    """A variant (or combination) and its fitted state: what the saved model forecasts with."""

    model: Family | Pair | Pool
    state: Any

    def predict(self, x: Inputs) -> np.ndarray:
        return self.answer(x)[0]

    def answer(self, x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        """Forecasts and, per row, None or the description of the fallback that answered."""
        return self.model.answer(self.state, x)

    def parts(self) -> Iterator[Fitted]:
        """Itself, then (for a combination) its members."""
        yield self
        if isinstance(self.model, Pair | Pool):
            for member in self.state["members"]:
                yield from member.parts()


def renormalized(F: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """weights @ F (k x n), each column's weights rescaled over its finite forecasts; NaN
    where no weighted forecast is finite."""
    ok = np.isfinite(F)
    w = np.asarray(weights, dtype=float)[:, None] * ok
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (np.where(ok, F, 0.0) * w).sum(axis=0) / total, np.nan)


def combine_answers(
    name: str, members: tuple[Fitted, ...], weights: np.ndarray, x: Inputs
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted members' forecasts; on a row where a weighted member has no forecast (an input
    it needs is missing) the others' weights are rescaled to sum to one, and the label says
    which members were left out and which answered with a fallback of their own."""
    answers = [m.answer(x) for m in members]
    F = np.vstack([a[0] for a in answers])
    ok = np.isfinite(F)
    out = renormalized(F, weights)
    total = (np.asarray(weights, dtype=float)[:, None] * ok).sum(axis=0)
    labels = np.full(x.n, None, dtype=object)
    weighted = np.asarray(weights) > 0
    gaps = (weighted[:, None] & ~ok).any(axis=0)
    inner = np.array([[lab is not None for lab in a[1]] for a in answers]).reshape(len(members), -1)
    for i in np.flatnonzero((gaps | (inner & ok & weighted[:, None]).any(axis=0)) & (total > 0)):
        left = [m.model.name for j, m in enumerate(members) if weighted[j] and not ok[j, i]]
        own = [str(a[1][i]) for j, a in enumerate(answers) if weighted[j] and ok[j, i] and a[1][i]]
        text = f"{name} without {', '.join(left)}" if left else name
        labels[i] = f"{text} ({'; '.join(own)})" if own else text
    return out, labels


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
        """w * a + (1 - w) * b; where one is missing, the other alone (as `answer` does)."""
        out = w * a + (1.0 - w) * b
        return np.where(np.isfinite(a), np.where(np.isfinite(b), out, a), b)

    def fitted(self, a: Fitted, b: Fitted, w: float) -> Fitted:
        return Fitted(self, {"members": (a, b), "weight": float(w)})

    def answer(self, state: dict[str, Any], x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        w = state["weight"]
        return combine_answers(self.name, state["members"], np.array([w, 1.0 - w]), x)

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return self.answer(state, x)[0]


@dataclass(frozen=True)
class Pool:
    """Weights on several families' forecasts, chosen on recent past losses
    (`walkforward.ensemble_weights`) and shrunk by `shrink` towards equal weights."""

    name: str
    label: str
    target: str
    members: tuple[str, ...]
    shrink: float
    #: Half-life, in rows, of the past losses' weights: the combination follows the members'
    #: recent relative performance.
    half_life: float

    @property
    def series(self) -> str:
        return f"{self.target}/{self.name}"

    def fitted(self, members: tuple[Fitted, ...], weights: np.ndarray) -> Fitted:
        return Fitted(self, {"members": tuple(members), "weights": np.asarray(weights, float)})

    def answer(self, state: dict[str, Any], x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        return combine_answers(self.name, state["members"], state["weights"], x)

    def predict(self, state: dict[str, Any], x: Inputs) -> np.ndarray:
        return self.answer(state, x)[0]


# ------------------------------------------------------------------------------- registry


def _by_name(*grids: tuple[Family, ...]) -> dict[str, tuple[Family, ...]]:
    return {grid[0].name: grid for grid in grids}


#: Hyperparameter grids; the first value is the prior default used before any out-of-sample
#: evidence exists.
HARX_LAMBDAS = (0.01, 0.1, 1.0)
HARX_KINDS = ("vol", "var", "gamma")
#: The Gamma GLM (the slowest fit by far) at one penalty and on the base terms only: its
#: deviance is QLIKE itself, the loss-aware fit beside the smeared log-variance ridges.
HARX_GAMMA_LAMBDAS = (0.01,)
#: HAR-X's predictor-group sets: none, all, and all but each one. Selection chooses among them
#: inside each window; the evidence table compares "all" with "all but g" for each group g.
HARX_GROUP_SETS: tuple[tuple[str, ...], ...] = (
    (),
    cand.PREDICTOR_GROUPS,
    *(tuple(g for g in cand.PREDICTOR_GROUPS if g != left) for left in cand.PREDICTOR_GROUPS),
)
RIDGE_RET_LAMBDAS = (10.0, 1.0, 100.0)


def harx_grid() -> tuple[HarX, ...]:
    return tuple(
        HarX(lam, kind, groups)
        for groups in HARX_GROUP_SETS
        for kind in HARX_KINDS
        if kind != "gamma" or not groups
        for lam in (HARX_GAMMA_LAMBDAS if kind == "gamma" else HARX_LAMBDAS)
    )


#: family name -> its variants, in the order of the out-of-sample frame's columns and the
#: metrics' tables. The first variant is the prior default; the order breaks ties in selection.
VOL_FAMILIES: dict[str, tuple[Family, ...]] = _by_name(
    (RandomWalk(),),
    (HarRV(),),
    (VixRaw(),),
    (VixCalibrated(),),
    (Garch11(),),
    (Gjr(),),
    harx_grid(),
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
    half_life=2 * 252,
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
