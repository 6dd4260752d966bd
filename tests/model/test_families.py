"""The model registry: variant keys, labels, and the families every consumer lists."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.markets import small_config
from volpred.model.families import (
    COMBINATIONS,
    FAMILIES,
    RET_BENCHMARKS,
    VOL_BENCHMARKS,
    VOL_ENSEMBLE,
    GbmVol,
    HarX,
    RidgeCt,
)
from volpred.model.walkforward import fit_block, plan_blocks


def test_variant_keys_name_the_series_and_are_unique():
    for target, families in FAMILIES.items():
        keys = [v.key for grid in families.values() for v in grid]
        assert len(keys) == len(set(keys))
        for name, grid in families.items():
            assert all(v.name == name and v.target == target for v in grid)
            assert all(v.series == f"{target}/{v.key}" for v in grid)
    assert HarX(0.01, "vol").key == "harx@0.01/vol" and HarX(1.0, "var").key == "harx@1/var"
    assert GbmVol(max_leaf_nodes=7, min_samples_leaf=100).key == "gbm@leaf7"
    assert RidgeCt(100.0).key == "ridge_ct@100"
    assert FAMILIES["ret"]["gbm"][0].key == "gbm" and FAMILIES["vol"]["gjr"][0].key == "gjr"


def test_the_first_variant_is_the_prior_default():
    assert FAMILIES["vol"]["harx"][0] == HarX(0.01, "vol")
    assert FAMILIES["ret"]["ridge_ct"][0] == RidgeCt(10.0)


def test_variants_are_frozen_hyperparameters():
    v = FAMILIES["vol"]["harx"][0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.lam = 1.0  # type: ignore[misc]
    assert hash(v) == hash(HarX(0.01, "vol"))


def test_every_family_and_combination_has_a_label():
    named = [g[0] for fs in FAMILIES.values() for g in fs.values()]
    named += [*COMBINATIONS["vol"], *COMBINATIONS["ret"], VOL_ENSEMBLE]
    assert all(isinstance(x.label, str) and x.label for x in named)


def test_benchmarks_and_ensemble_members_come_from_the_registry():
    assert VOL_BENCHMARKS == ("rw", "har", "vix", "vix_cal", "garch")
    assert RET_BENCHMARKS == ("hist_mean", "zero")
    assert set(VOL_ENSEMBLE.members) <= set(FAMILIES["vol"])
    for pair in (*COMBINATIONS["vol"], *COMBINATIONS["ret"]):
        assert set(pair.members) <= set(FAMILIES[pair.target]) and pair.default in pair.weights


def test_a_block_forecasts_every_registered_variant(panel_small):
    cfg = small_config(use_gbm=True)
    fit = fit_block(panel_small, plan_blocks(panel_small, cfg)[0], cfg)
    expected = {v.series for families in FAMILIES.values() for g in families.values() for v in g}
    assert set(fit.preds) == expected
    assert all(p.shape == (fit.block.end - fit.block.start,) for p in fit.preds.values())


# ------------------------------------------------------------- optional groups and fallbacks


def _train_and_rows(panel_small, start_share: float = 0.6):
    """A window whose table gains intraday measures partway (from `start_share` of the rows)
    and forecast rows that have them or not."""
    import numpy as np

    from volpred.model.design import window

    cfg = small_config()
    block = [b for b in plan_blocks(panel_small, cfg) if b.evaluated][-1]
    names = [*panel_small.names, "irv1", "irv5", "irv21"]
    rng = np.random.default_rng(0)
    extra = np.abs(rng.normal(0.15, 0.03, (panel_small.n, 3)))
    extra[: int(start_share * panel_small.n)] = np.nan
    panel = dataclasses.replace(panel_small, X=np.column_stack([panel_small.X, extra]), names=names)
    return window(panel, block.start, block.end, block.train_end, cfg)


def test_a_group_that_starts_partway_is_fitted_on_its_rows_beside_a_design_without_it(
    panel_small,
):
    import numpy as np

    from volpred.model.design import Inputs

    w = _train_and_rows(panel_small)
    variant = HarX(0.1, "var", ("realized",))
    state = variant.fit(dataclasses.replace(w.train, needed=None))
    assert state["order"][0] == "rates+realized" and "rates" in state["order"]
    main, fallback = state["fits"]["rates+realized"], state["fits"]["rates"]
    assert any(t.startswith("log_var(irv") for t in main["spec"]["terms"])
    assert not any("irv" in t for t in fallback["spec"]["terms"])
    # a row without intraday data is answered by the design without it, and says so
    X = w.test.X.copy()
    X[0, [w.test.cols[c] for c in ("irv1", "irv5", "irv21")]] = np.nan
    x = Inputs(X=X, cols=w.test.cols, vol_spec=w.test.vol_spec, ret_spec=w.test.ret_spec)
    pred, labels = variant.answer(state, x)
    assert np.all(np.isfinite(pred))
    assert labels[0] == "harx without realized" and all(lab is None for lab in labels[1:])
    # no VIX: HAR-X cannot answer at all (its target is a ratio to the VIX)
    X[1, w.test.cols["vix"]] = np.nan
    x = Inputs(X=X, cols=w.test.cols, vol_spec=w.test.vol_spec, ret_spec=w.test.ret_spec)
    assert np.isnan(variant.answer(state, x)[0][1])


def test_too_few_rows_of_a_group_leave_the_design_without_it(panel_small):
    w = _train_and_rows(panel_small, start_share=0.97)
    state = HarX(0.1, "var", ("realized",)).fit(dataclasses.replace(w.train, needed=None))
    assert state["order"] == ["rates", ""]


def test_a_combination_without_a_member_rescales_the_others_and_names_the_gap():
    import numpy as np

    from volpred.model.families import Fitted, Pool, combine_answers, renormalized

    F = np.array([[1.0, np.nan, 3.0], [2.0, 2.0, np.nan]])
    np.testing.assert_allclose(renormalized(F, np.array([0.25, 0.75])), [1.75, 2.0, 3.0])
    assert np.isnan(renormalized(np.full((2, 1), np.nan), np.array([0.5, 0.5])))[0]

    @dataclasses.dataclass(frozen=True)
    class Fixed:
        name: str
        values: tuple[float, ...]

        def answer(self, state, x):
            return np.array(self.values), np.full(len(self.values), None, dtype=object)

    pool = Pool("ensemble", "test pool", "vol", ("a", "b"), shrink=0.5, half_life=252)
    members = (Fitted(Fixed("a", (1.0, np.nan)), None), Fitted(Fixed("b", (2.0, 2.0)), None))
    x = type("X", (), {"n": 2})()
    out, labels = combine_answers(pool.name, members, np.array([0.5, 0.5]), x)
    np.testing.assert_allclose(out, [1.5, 2.0])
    assert labels.tolist() == [None, "ensemble without a"]


def test_the_closed_form_ridge_is_scikit_learns_standardised_ridge():
    import numpy as np
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from volpred.model import estimators as cand

    rng = np.random.default_rng(0)
    D = rng.normal(size=(400, 5)) * [1, 2, 3, 0.1, 5] + 2
    D[:, 3] = 0.5  # a constant column: scale 1, as StandardScaler does
    y = D @ np.arange(5) + rng.normal(size=400)
    for lam in (0.001, 1.0):
        pipe = Pipeline([("s", StandardScaler()), ("r", Ridge(alpha=lam * len(y)))]).fit(D, y)
        ours = cand.fit_ridge(D, y, lam)
        np.testing.assert_allclose(cand.linear(D, ours), pipe.predict(D), rtol=1e-10)


def test_macro_terms_stay_in_their_training_range_and_volatility_terms_do_not():
    import numpy as np

    from volpred.model import estimators as cand

    names = ["rv5", "vix", "bamlh0a0hym2"]
    spec = cand.design_spec(names, ("macro",))
    train = np.array([[0.1, 15.0, 3.0], [0.2, 25.0, 5.0]])
    bounded = cand.bound_to(spec, cand.design(train, spec))
    crisis = cand.design(np.array([[0.8, 80.0, 20.0]]), bounded)
    assert crisis[0, spec["terms"].index("bamlh0a0hym2")] == 5.0
    assert crisis[0, spec["terms"].index("log_var(vix)")] == np.log(0.8**2 + 1e-6)
    assert "log_var(rv5)" in spec["terms"] and spec["groups"] == ["macro"]
