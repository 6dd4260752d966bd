"""The report's content as data: every number the template shows, formatted here from the model
card, the cleaned data, the cleaning report and the walk-forward predictions.

The template only lays out what this module returns (strings, tables, findings); it never
computes or types a number. The executive summary's judgements (beat / lost to a benchmark,
band coverage off target, data gaps) are computed here from the card, so they cannot drift
from the metrics tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from volpred.model.card import Metrics, PeriodMetrics
from volpred.model.evaluation import VIX_REGIMES
from volpred.report import numbers
from volpred.report.inputs import ReportError, ReportInputs

#: Vol models in table order (selected first, candidates, then benchmarks) and their labels.
VOL_MODELS: dict[str, str] = {
    "selected": "Selected model",
    "harx": "HAR-X (ridge)",
    "gjr": "GJR-GARCH",
    "harx_gjr": "HAR-X + GJR combination",
    "gbm": "Gradient boosting",
    "har": "HAR-RV (benchmark)",
    "rw": "Random walk (benchmark)",
    "vix": "VIX (benchmark)",
    "vix_cal": "VIX calibrated (benchmark)",
    "garch": "GARCH(1,1) (benchmark)",
}
VOL_BENCHMARKS = ("har", "rw", "vix", "vix_cal", "garch")
RET_MODELS: dict[str, str] = {
    "selected": "Selected model",
    "vrp_ct": "VRP regression",
    "ridge_ct": "Ridge regression",
    "gbm": "Gradient boosting",
    "combo": "Combination",
    "hist_mean": "Historical mean (benchmark)",
    "zero": "Zero (benchmark)",
}
RET_BENCHMARKS = ("hist_mean", "zero")
#: Main series and features in the data summary: column, label, unit, formatter.
SUMMARY_COLUMNS: list[tuple[str, str, str]] = [
    ("spx_close", "SPX close", "level"),
    ("ret", "Daily log return", "num"),
    ("rv21", "Realized vol 21d (annualised)", "num"),
    ("parkinson21", "Parkinson vol 21d", "num"),
    ("vix", "VIX (points)", "level"),
    ("vrp", "Variance risk premium", "num"),
    ("term_spread", "10y-2y spread (pp)", "level"),
    ("dgs10", "10y yield (%)", "level"),
    ("drawdown", "Drawdown", "num"),
    ("target_ret", "Target: 21d log return", "num"),
    ("target_vol", "Target: 21d realized vol", "num"),
]
#: A band whose coverage is further than this from its nominal level is flagged.
COVERAGE_TOLERANCE = 0.05
VIX_REGIME = 30.0
SIGNIFICANCE = 0.05


@dataclass
class Table:
    """A table for the template: `numeric[i]` right-aligns column i; `row_classes` mark rows
    (e.g. "selected", "worse") for styling."""

    name: str
    caption: str
    columns: list[str]
    rows: list[list[str]]
    numeric: list[bool] = field(default_factory=list)
    row_classes: list[str] = field(default_factory=list)
    note: str = ""

    def __post_init__(self) -> None:
        if not self.numeric:
            self.numeric = [False] + [True] * (len(self.columns) - 1)
        if not self.row_classes:
            self.row_classes = [""] * len(self.rows)


@dataclass
class Finding:
    text: str
    level: str = "info"  # "info" | "good" | "warn"


def _get(node: Any, *path: str) -> Any:
    """A value deep in the card's plain-dict parts (scores, hyperparameters), None if absent."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _interval_level(inputs: ReportInputs, default: float) -> float:
    card = inputs.card
    level = card.metrics.final_model.interval_level
    level = level or _get(card.hyperparameters, "walkforward", "interval_level")
    return float(level or default)


# ----------------------------------------------------------------------------- title block


def title_block(
    inputs: ReportInputs, run_id: str, generated_at: datetime, level: float
) -> dict[str, Any]:
    data = inputs.card.data
    uris = inputs.raw_meta.get("uris") or []
    return {
        "run_id": run_id,
        "generated_at": generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "source": data.source,
        "source_uri": ", ".join(str(u) for u in uris),
        "first_date": str(data.first_date or inputs.cleaning.get("first_date")),
        "last_date": str(data.last_date or inputs.cleaning.get("last_date")),
        "rows": numbers.count(data.rows or inputs.table.height),
        "version": inputs.version,
        "trained_at": inputs.card.trained_at[:16].replace("T", " "),
        "horizon": inputs.card.horizon,
        "level_pct": f"{level * 100:.0f}%",
        "synthetic": inputs.synthetic,
        "notes": list(inputs.raw_meta.get("notes") or []),
    }


# ----------------------------------------------------------------------------- summary


def latest_forecast(inputs: ReportInputs) -> dict[str, str]:
    f = inputs.card.latest_forecast
    if f is None:
        raise ReportError(f"the model card of version {inputs.version} has no latest_forecast")
    close = inputs.table.filter(pl.col("date").cast(pl.Utf8) == f.date)["spx_close"]
    if close.is_empty():
        close = inputs.table["spx_close"].tail(1)
    last = float(close[0])
    return {
        "date": f.date,
        "vol": numbers.pct(f.vol, 2),
        "vol_lo": numbers.pct(f.vol_lo, 2),
        "vol_hi": numbers.pct(f.vol_hi, 2),
        "ret": numbers.pct(f.ret, 2),
        "ret_lo": numbers.pct(f.ret_lo, 2),
        "ret_hi": numbers.pct(f.ret_hi, 2),
        "spx_last": numbers.level(last),
        "spx_lo": numbers.level(last * math.exp(f.ret_lo)),
        "spx_hi": numbers.level(last * math.exp(f.ret_hi)),
    }


def summary_findings(inputs: ReportInputs, level: float) -> list[Finding]:
    """The executive summary's verdicts, each computed from the card or the cleaning report."""
    out: list[Finding] = []
    overall = inputs.card.metrics.overall
    vol = overall.vol
    sel = overall.scores("vol", "selected")
    har = overall.scores("vol", "har")
    n = overall.n
    period = f"{overall.first} to {overall.last}"
    if sel and har:
        better = sel["qlike"] < har["qlike"]
        p = _get(sel, "dm_qlike", "p")
        significance = (
            "" if p is None or p < SIGNIFICANCE else f", not significantly at {SIGNIFICANCE:.0%}"
        )
        out.append(
            Finding(
                f"Vol: over {numbers.count(n)} out-of-sample forecasts ({period}) the selected "
                f"model's QLIKE is {numbers.num(sel['qlike'])} "
                f"against HAR's {numbers.num(har['qlike'])} "
                f"(out-of-sample R² against HAR {numbers.num(_get(sel, 'oos_r2', 'har'))}, "
                f"Diebold-Mariano p {numbers.pval(_get(sel, 'dm_qlike', 'p'))}): it "
                f"{'beats' if better else 'loses to'} HAR{significance}.",
                "good" if better else "warn",
            )
        )
        winners = []
        for bench in VOL_BENCHMARKS:
            b = vol.get(bench)
            if not b or bench == "selected":
                continue
            lost_on = [m.upper() for m in ("qlike", "rmse") if b[m] < sel[m]]
            if lost_on:
                label = VOL_MODELS.get(bench, bench).replace(" (benchmark)", "")
                winners.append(f"{label} on {' and '.join(lost_on)}")
        if winners:
            out.append(
                Finding(
                    "Benchmarks that beat the selected vol model: " + "; ".join(winners) + ".",
                    "warn",
                )
            )
        else:
            out.append(
                Finding("No vol benchmark beats the selected model on QLIKE or RMSE.", "good")
            )
    per_year = inputs.card.metrics.per_year_selected_vs_har
    lost = sorted(y for y, v in per_year.items() if (v.qlike_change or 0) > 0)
    if per_year:
        out.append(
            Finding(
                f"Year by year the selected vol model lost to HAR on QLIKE in {len(lost)} of "
                f"{len(per_year)} years" + (f" ({', '.join(lost)})." if lost else "."),
                "warn" if lost else "good",
            )
        )
    ret = overall.scores("ret", "selected")
    if ret:
        r2 = _get(ret, "oos_r2", "hist_mean")
        positive = r2 is not None and r2 > 0
        out.append(
            Finding(
                f"Return: out-of-sample R² against the historical mean is {numbers.num(r2)} "
                f"(Clark-West p {numbers.pval(_get(ret, 'clark_west', 'p'))}, hit rate "
                f"{numbers.pct(ret.get('hit_rate'))}): "
                + (
                    "a small edge over the historical mean."
                    if positive
                    else "no better than the historical mean; treat the return forecast's "
                    "centre as uninformative and use its band."
                ),
                "good" if positive else "warn",
            )
        )
    intervals = overall.intervals
    for key, label in (("vol_coverage", "vol"), ("ret_coverage", "return")):
        cov = getattr(intervals, key) if intervals else None
        if cov is None:
            continue
        off = abs(cov - level) > COVERAGE_TOLERANCE
        out.append(
            Finding(
                f"The {level:.0%} {label} band covered {numbers.pct(cov)} of outcomes"
                + (" (off its nominal level)." if off else "."),
                "warn" if off else "good",
            )
        )
    out.extend(data_findings(inputs))
    return out


def data_findings(inputs: ReportInputs) -> list[Finding]:
    c = inputs.cleaning
    out = []
    dropped = int(c.get("rows_dropped") or 0)
    findings = c.get("findings") or []
    if dropped or findings:
        out.append(
            Finding(
                f"Cleaning dropped {numbers.count(dropped)} "
                f"of {numbers.count(c.get('rows_in'))} rows "
                f"and recorded {numbers.count(len(findings))} findings (see Data).",
                "warn",
            )
        )
    gaps = {k: v for k, v in (c.get("nulls_before") or {}).items() if v}
    if gaps:
        listed = ", ".join(f"{k} {numbers.count(v)}" for k, v in sorted(gaps.items()))
        left = {k: v for k, v in (c.get("nulls_after_fill") or {}).items() if v}
        remaining = ", ".join(f"{k} {numbers.count(v)}" for k, v in sorted(left.items()))
        tail = f"; missing after cleaning and filling: {remaining}" if left else "; all filled"
        out.append(Finding(f"Data gaps before filling (days): {listed}{tail}.", "warn"))
    if inputs.synthetic:
        out.append(
            Finding(
                "The data are synthetic sample data, not market data: no number here "
                "describes the real S&P 500.",
                "warn",
            )
        )
    return out


# ----------------------------------------------------------------------------- data


def summary_stats(table: pl.DataFrame) -> Table:
    cols = [c for c, _, _ in SUMMARY_COLUMNS if c in table.columns]
    stats = table.select(
        *[pl.col(c).count().alias(f"{c}:n") for c in cols],
        *[pl.col(c).null_count().alias(f"{c}:nulls") for c in cols],
        *[pl.col(c).mean().alias(f"{c}:mean") for c in cols],
        *[pl.col(c).std().alias(f"{c}:std") for c in cols],
        *[pl.col(c).min().alias(f"{c}:min") for c in cols],
        *[pl.col(c).median().alias(f"{c}:median") for c in cols],
        *[pl.col(c).max().alias(f"{c}:max") for c in cols],
    ).row(0, named=True)
    rows = []
    for col, label, kind in SUMMARY_COLUMNS:
        if col not in cols:
            continue
        f = numbers.level if kind == "level" else numbers.num
        rows.append(
            [
                label,
                numbers.count(stats[f"{col}:n"]),
                numbers.count(stats[f"{col}:nulls"]),
                *(f(stats[f"{col}:{s}"]) for s in ("mean", "std", "min", "median", "max")),
            ]
        )
    return Table(
        "data_summary",
        "Summary statistics of the cleaned series and features",
        ["Series", "N", "Nulls", "Mean", "Std", "Min", "Median", "Max"],
        rows,
        note="Vols and returns are decimals (0.15 = 15%); rolling features and the forward "
        "targets are undefined at the ends of the sample, hence their nulls.",
    )


def cleaning_table(cleaning: dict[str, Any]) -> Table:
    before = cleaning.get("nulls_before") or {}
    after = cleaning.get("nulls_after_fill") or {}
    rows = [
        [name, numbers.count(before.get(name)), numbers.count(after.get(name))]
        for name in sorted(set(before) | set(after))
    ]
    return Table(
        "data_nulls",
        f"Missing values in the raw columns before and after filling gaps of at most "
        f"{cleaning.get('ffill_limit', 'n/a')} days",
        ["Column", "Nulls before", "Nulls after filling"],
        rows,
    )


def coverage_table(cleaning: dict[str, Any]) -> Table:
    """Each input's coverage and freshness: its first and last observed day, the rows that
    have it and how many trading days old its newest value is on the last row."""
    rows = []
    for name, c in (cleaning.get("inputs") or {}).items():
        age = c.get("age_days")
        rows.append(
            [
                name,
                str(c.get("first_date") or "none"),
                str(c.get("last_date") or "none"),
                numbers.count(c.get("rows")),
                numbers.MISSING if age is None else numbers.count(age),
            ]
        )
    return Table(
        "data_coverage",
        "Inputs: coverage and freshness (age: trading days since last observed, on the last day)",
        ["input", "first", "last", "rows", "age"],
        rows,
        [False, False, False, True, True],
    )


def cleaning_facts(cleaning: dict[str, Any]) -> list[tuple[str, str]]:
    findings = cleaning.get("findings") or []
    return [
        ("Rows read", numbers.count(cleaning.get("rows_in"))),
        ("Rows kept", numbers.count(cleaning.get("rows_out"))),
        ("Rows dropped by cleaning", numbers.count(cleaning.get("rows_dropped"))),
        ("Cleaning findings", numbers.count(len(findings))),
        ("Date range", f"{cleaning.get('first_date')} to {cleaning.get('last_date')}"),
    ]


def findings_list(cleaning: dict[str, Any], limit: int = 12) -> list[str]:
    """One line per cleaning finding: what, which column, the policy applied, how many rows
    and the first dates (the full lists are in data/cleaning_report.json)."""
    out = []
    for f in (cleaning.get("findings") or [])[:limit]:
        if not isinstance(f, dict):
            out.append(str(f))
            continue
        dates = [str(d) for d in (f.get("dates") or [])]
        first = f", first on {', '.join(dates[:3])}" if dates else ""
        out.append(
            f"{f.get('kind', 'finding')} in {f.get('column', 'n/a')} "
            f"({f.get('policy', 'n/a')}): {numbers.count(f.get('count', len(dates)))} rows{first}"
        )
    return out


# ----------------------------------------------------------------------------- market


def market_facts(table: pl.DataFrame) -> list[tuple[str, str]]:
    row = table.select(
        pl.col("drawdown").min().alias("dd"),
        pl.col("date").get(pl.col("drawdown").arg_min()).alias("dd_date"),
        (pl.col("vix") > VIX_REGIME).mean().alias("vix_high"),
        pl.col("vix").mean().alias("vix_mean"),
        pl.col("rv21").mean().alias("rv_mean"),
        (pl.col("vrp") > 0).mean().alias("vrp_pos"),
        pl.corr("vix", "target_vol").alias("vix_corr"),
    ).row(0, named=True)
    return [
        ("Deepest drawdown", f"{numbers.pct(row['dd'])} on {row['dd_date']}"),
        (f"Days with VIX above {VIX_REGIME:g}", numbers.pct(row["vix_high"])),
        ("Mean VIX (points)", numbers.level(row["vix_mean"])),
        ("Mean 21-day realized vol", numbers.pct(row["rv_mean"])),
        ("Days with a positive VRP", numbers.pct(row["vrp_pos"])),
        ("Correlation of VIX with next-month realized vol", numbers.num(row["vix_corr"], 3)),
    ]


# ----------------------------------------------------------------------------- model


def vol_metrics_table(sample: PeriodMetrics, name: str, caption: str) -> Table:
    vol = sample.vol
    order = [m for m in VOL_MODELS if m in vol] + sorted(set(vol) - set(VOL_MODELS))
    sel = sample.scores("vol", "selected")
    rows, classes = [], []
    for m in order:
        v = vol[m]
        rows.append(
            [
                VOL_MODELS.get(m, m),
                numbers.num(v.get("r2")),
                numbers.num(v.get("rmse")),
                numbers.num(v.get("qlike")),
                numbers.num(_get(v, "oos_r2", "har")),
                numbers.pval(_get(v, "dm_mse", "p")),
                numbers.pval(_get(v, "dm_qlike", "p")),
            ]
        )
        worse = m != "selected" and sel and v.get("qlike", 1e9) < sel.get("qlike", -1e9)
        classes.append("selected" if m == "selected" else ("beats" if worse else ""))
    return Table(
        name,
        caption,
        ["Vol model", "R²", "RMSE", "QLIKE", "OOS R² vs HAR", "DM p (MSE)", "DM p (QLIKE)"],
        rows,
        row_classes=classes,
        note="Lower RMSE and QLIKE are better. OOS R² vs HAR = 1 − MSE/MSE(HAR). Diebold-Mariano "
        "p-values test equal loss against HAR (two-sided, Newey-West). Highlighted: models with a "
        "lower QLIKE than the selected one.",
    )


def ret_metrics_table(sample: PeriodMetrics, name: str, caption: str) -> Table:
    ret = sample.ret
    order = [m for m in RET_MODELS if m in ret] + sorted(set(ret) - set(RET_MODELS))
    rows, classes = [], []
    for m in order:
        v = ret[m]
        rows.append(
            [
                RET_MODELS.get(m, m),
                numbers.num(v.get("r2")),
                numbers.num(v.get("rmse")),
                numbers.num(_get(v, "oos_r2", "hist_mean")),
                numbers.num(_get(v, "oos_r2", "zero")),
                numbers.pct(v.get("hit_rate")),
                numbers.pval(_get(v, "dm_mse", "p")),
                numbers.pval(_get(v, "clark_west", "p")),
            ]
        )
        classes.append("selected" if m == "selected" else "")
    return Table(
        name,
        caption,
        [
            "Return model",
            "R²",
            "RMSE",
            "OOS R² vs mean",
            "OOS R² vs zero",
            "Hit rate",
            "DM p",
            "Clark-West p",
        ],
        rows,
        row_classes=classes,
        note="OOS R² vs mean = 1 − MSE/MSE(historical mean): negative means the model did worse "
        "than the historical mean. DM and Clark-West p-values are against the historical mean. "
        "The regressions carry Campbell-Thompson restrictions (forecasts truncated at zero).",
    )


def interval_table(metrics: Metrics, level: float) -> Table:
    rows = []
    for period, label in ((metrics.overall, "All out-of-sample"), (metrics.from_2010, "From 2010")):
        iv = period.intervals if period else None
        if iv is None:
            continue
        rows.append(
            [
                label,
                numbers.pct(iv.vol_coverage),
                numbers.pct(iv.vol_mean_width, 2),
                numbers.pct(iv.ret_coverage),
                numbers.pct(iv.ret_mean_width, 2),
            ]
        )
    return Table(
        "interval_coverage",
        f"Coverage of the {level:.0%} prediction bands (nominal {level:.0%})",
        ["Period", "Vol coverage", "Vol mean width", "Return coverage", "Return mean width"],
        rows,
    )


def regime_table(metrics: Metrics, level: float) -> Table:
    """Band coverage where it matters most: within each VIX regime, not just on average."""
    rows = []
    for name in (r for r in VIX_REGIMES if r in metrics.by_vix_regime):  # low to high
        s = metrics.by_vix_regime[name]
        iv = s.intervals
        rows.append(
            [
                name.replace("vix", "VIX "),
                numbers.count(s.n),
                numbers.pct(iv.vol_coverage if iv else None),
                numbers.pct(iv.ret_coverage if iv else None),
            ]
        )
    return Table(
        "coverage_by_regime",
        f"Coverage of the {level:.0%} bands by VIX regime on the forecast date",
        ["VIX regime", "N", "Vol coverage", "Return coverage"],
        rows,
    )


def decade_table(metrics: Metrics) -> Table:
    """The return forecast must do no harm in any decade: its OOS R² against the mean."""
    rows = []
    for name, s in metrics.by_decade.items():
        sel = s.scores("ret", "selected")
        rows.append(
            [
                name,
                numbers.count(s.n),
                numbers.num(_get(sel, "oos_r2", "hist_mean")),
                numbers.num(_get(sel, "clark_west", "p"), 3),
            ]
        )
    return Table(
        "return_by_decade",
        "Return forecast by decade: out-of-sample R² against the historical mean",
        ["Decade", "N", "OOS R²", "Clark-West p"],
        rows,
        note="Skill is claimed only where the Clark-West p-value is below 0.05.",
    )


#: Reader-facing names of the predictor groups.
GROUP_NAMES = {
    "realized": "Realized measures (5-minute)",
    "asymmetry": "Asymmetry (semivariance, leverage)",
    "vix_dynamics": "VIX dynamics (level vs its past, changes, premium sign)",
    "macro": "Macro and credit",
}


def evidence_table(metrics: Metrics) -> Table:
    """What each predictor group adds out of sample, and whether the served model uses it."""
    ev = metrics.evidence
    rows = []
    for group, e in (ev.groups if ev else {}).items():
        rows.append(
            [
                GROUP_NAMES.get(group, group),
                numbers.signed_pct(e.rmse_change),
                numbers.num(e.dm_mse_p, 3),
                numbers.signed_pct(e.qlike_change),
                numbers.num(e.dm_qlike_p, 3),
                numbers.pct(e.chosen_share),
                "yes" if e.selected else "no",
            ]
        )
    note = (
        f"HAR-X ({ev.variant}) with every group against HAR-X without the group, on {ev.n} "
        "out-of-sample days; negative changes mean the group helps. Diebold-Mariano p-values "
        "(Newey-West). Chosen: the share of walk-forward blocks whose selected HAR-X had the "
        "group; selected: whether the served model's HAR-X has it."
        if ev
        else "Not available for this model."
    )
    return Table(
        "predictor_evidence",
        "What each predictor group adds out of sample",
        ["Group", "RMSE change", "DM p", "QLIKE change", "DM p", "Chosen", "Selected"],
        rows,
        numeric=[False, True, True, True, True, True, False],
        note=note,
    )


def by_year_table(metrics: Metrics) -> Table:
    by_year = metrics.by_year
    rows, classes = [], []
    for year in sorted(by_year):
        s = by_year[year]
        sel, har = s.scores("vol", "selected"), s.scores("vol", "har")
        against = metrics.per_year_selected_vs_har.get(year)
        change = against.qlike_change if against else None
        rows.append(
            [
                year,
                numbers.count(s.n),
                numbers.num(sel.get("rmse")),
                numbers.num(har.get("rmse")),
                numbers.num(sel.get("qlike")),
                numbers.num(har.get("qlike")),
                numbers.signed_pct(change),
                numbers.num(_get(s.scores("ret", "selected"), "oos_r2", "hist_mean")),
                numbers.pct(s.intervals.vol_coverage if s.intervals else None),
            ]
        )
        classes.append("worse" if change is not None and change > 0 else "")
    return Table(
        "metrics_by_year",
        "Walk-forward metrics by year (forecast date)",
        [
            "Year",
            "N",
            "RMSE",
            "RMSE HAR",
            "QLIKE",
            "QLIKE HAR",
            "QLIKE vs HAR",
            "Ret OOS R²",
            "Vol coverage",
        ],
        rows,
        row_classes=classes,
        note="Selected model against HAR. Highlighted: years in which HAR had the lower QLIKE.",
    )


# ----------------------------------------------------------------------------- method


def method(inputs: ReportInputs, level: float) -> dict[str, str]:
    card = inputs.card
    wf = _get(card.hyperparameters, "walkforward") or {}
    overall = card.metrics.overall
    final = card.metrics.final_model
    choice = final.choice or _get(card.hyperparameters, "final") or {}
    return {
        "horizon": str(card.horizon),
        "refit_every": str(wf.get("refit_every", "n/a")),
        "gap": str(wf.get("gap", "n/a")),
        "min_train_years": f"{wf.get('min_train_years', 'n/a'):g}"
        if isinstance(wf.get("min_train_years"), (int, float))
        else "n/a",
        "selection_years": f"{wf.get('selection_years'):g}"
        if isinstance(wf.get("selection_years"), (int, float))
        else "n/a",
        "oos_first": str(overall.first),
        "oos_last": str(overall.last),
        "oos_n": numbers.count(overall.n),
        "level": f"{level:.0%}",
        "vol_choice": str(choice.get("vol", "n/a")),
        "ret_choice": str(choice.get("ret", "n/a")),
        "train_start": str(final.train_start or card.data.first_date),
        "train_end": str(final.train_end or "n/a"),
    }


# ----------------------------------------------------------------------------- all


def build_context(
    inputs: ReportInputs,
    *,
    run_id: str,
    generated_at: datetime,
    default_level: float,
    figures: dict[str, dict[str, str]],
) -> tuple[dict[str, Any], list[Table]]:
    """The template context and the tables it shows (their names go to the log)."""
    level = _interval_level(inputs, default_level)
    metrics = inputs.card.metrics
    tables = [
        summary_stats(inputs.table),
        cleaning_table(inputs.cleaning),
        coverage_table(inputs.cleaning),
        vol_metrics_table(
            metrics.overall, "vol_metrics", "Walk-forward metrics, 21-day realized vol"
        ),
        ret_metrics_table(
            metrics.overall, "ret_metrics", "Walk-forward metrics, 21-day log return"
        ),
        interval_table(metrics, level),
        regime_table(metrics, level),
        by_year_table(metrics),
        evidence_table(metrics),
        decade_table(metrics),
    ]
    findings = summary_findings(inputs, level)
    context = {
        "title": title_block(inputs, run_id, generated_at, level),
        "latest": latest_forecast(inputs),
        "findings": findings,
        "warnings": [f for f in findings if f.level == "warn"],
        "data": {
            "facts": cleaning_facts(inputs.cleaning),
            "findings": findings_list(inputs.cleaning),
            "findings_total": len(inputs.cleaning.get("findings") or []),
        },
        "market": {"facts": market_facts(inputs.table)},
        "method": method(inputs, level),
        "tables": {t.name: t for t in tables},
        "figures": figures,
    }
    return context, tables
