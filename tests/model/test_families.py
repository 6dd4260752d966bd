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
