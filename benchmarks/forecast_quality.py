"""Walk-forward forecast quality: every model and benchmark, both targets, overall and recent.

    python benchmarks/forecast_quality.py --data PATH [--realized FILE] [--macro-dir DIR]
                                          [--since 2010] [--refit-every 21] [--jobs 1]
                                          [--json metrics.json]

PATH is a raw market CSV in the canonical schema (e.g. the shared 1990-2018 file), FILE a daily
realized-measures file (e.g. the Oxford-Man rv5 file), DIR a folder of FRED downloads; they are
read, cleaned and featurised exactly as the pipeline does, then `volpred.model.training.train`
runs the walk-forward and the final fit. Prints: V table (RMSE in vol points), R table (RMSE in
%), per-year V against HAR, band coverage, the evidence table of the predictor groups, the
final configuration and the runtime, split by family.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from volpred.config import Settings  # noqa: E402
from volpred.data import macro, realized  # noqa: E402
from volpred.data.clean import build_table  # noqa: E402
from volpred.data.rawcsv import read_raw_csv  # noqa: E402
from volpred.model.training import train  # noqa: E402


def _f(x: float | None, fmt: str) -> str:
    return "n/a" if x is None else format(x, fmt)


def vol_table(sample: dict) -> str:
    v = sample["vol"]
    har = v["har"]
    lines = [
        f"  {'model':10s} {'RMSE':>6s} {'vsHAR':>7s} {'MAE':>6s} {'R2':>6s} {'QLIKE':>7s} "
        f"{'vsHAR':>7s} {'DM-MSE t':>8s} {'p':>6s} {'DM-QL t':>7s} {'p':>6s}"
    ]
    for name, m in v.items():
        dm, dq = m.get("dm_mse") or {}, m.get("dm_qlike") or {}
        lines.append(
            f"  {name:10s} {100 * m['rmse']:6.3f} {m['rmse'] / har['rmse'] - 1:+7.1%} "
            f"{100 * m['mae']:6.3f} {m['r2']:6.3f} {m['qlike']:7.4f} "
            f"{m['qlike'] / har['qlike'] - 1:+7.1%} {_f(dm.get('t'), '8.2f')} "
            f"{_f(dm.get('p'), '6.3f')} {_f(dq.get('t'), '7.2f')} {_f(dq.get('p'), '6.3f')}"
        )
    return "\n".join(lines)


def ret_table(sample: dict) -> str:
    lines = [
        f"  {'model':10s} {'RMSE%':>6s} {'R2':>7s} {'R2oos/HM':>9s} {'R2oos/0':>8s} "
        f"{'DM t':>6s} {'p':>6s} {'CW t':>6s} {'CW p':>6s} {'hit':>6s}"
    ]
    for name, m in sample["ret"].items():
        dm, cw = m.get("dm_mse") or {}, m.get("clark_west") or {}
        lines.append(
            f"  {name:10s} {100 * m['rmse']:6.3f} {m['r2']:7.4f} "
            f"{_f(m['oos_r2']['hist_mean'], '+9.4f')} {_f(m['oos_r2']['zero'], '+8.4f')} "
            f"{_f(dm.get('t'), '6.2f')} {_f(dm.get('p'), '6.3f')} {_f(cw.get('t'), '6.2f')} "
            f"{_f(cw.get('p'), '6.3f')} {m['hit_rate']:6.3f}"
        )
    return "\n".join(lines)


def per_year(metrics: dict) -> str:
    years = metrics["by_year"]
    models = [m for m in next(iter(years.values()))["vol"] if m != "har"]
    head = f"  {'year':4s} " + " ".join(f"{m:>8s}" for m in models) + "   QLIKE sel  cover V/R"
    lines = [head]
    wins = dict.fromkeys(models, 0)
    for year, s in years.items():
        har = s["vol"]["har"]
        cells = []
        for m in models:
            change = s["vol"][m]["rmse"] / har["rmse"] - 1
            wins[m] += change < 0
            cells.append(f"{change:+8.1%}")
        q = s["vol"]["selected"]["qlike"] / har["qlike"] - 1
        cov = s.get("intervals", {})
        lines.append(
            f"  {year:4s} " + " ".join(cells) + f"   {q:+8.1%}   "
            f"{_f(cov.get('vol_coverage'), '.2f')}/{_f(cov.get('ret_coverage'), '.2f')}"
        )
    lines.append(f"  {'wins':4s} " + " ".join(f"{wins[m]:>5d}/{len(years):<2d}" for m in models))
    return "\n".join(lines)


def regime_table(metrics: dict) -> str:
    """Band coverage by VIX regime and the return forecast's OOS R² by decade."""
    lines = ["\n== 80% vol band coverage by VIX regime (forecast date)"]
    for name, s in metrics.get("by_vix_regime", {}).items():
        cov = s.get("intervals", {}).get("vol_coverage")
        lines.append(f"  {name:9s} {s['n']:5d} rows ({s['share']:.0%}): coverage {_f(cov, '.3f')}")
    lines.append("== R: OOS R² of the selected return forecast vs the historical mean, by decade")
    for name, s in metrics.get("by_decade", {}).items():
        sel = s["ret"].get("selected", {})
        r2 = (sel.get("oos_r2") or {}).get("hist_mean")
        cw = (sel.get("clark_west") or {}).get("p")
        lines.append(
            f"  {name}: {s['n']} rows, R2oos {_f(r2, '+.4f')}, Clark-West p {_f(cw, '.3f')}"
        )
    return "\n".join(lines)


def evidence_table(metrics: dict) -> str:
    """What each predictor group adds out of sample (HAR-X with all groups against all but it)."""
    ev = metrics.get("evidence")
    if not ev:
        return ""
    lines = [
        f"\n== Predictor groups: HAR-X ({ev['variant']}) with every group against without it, "
        f"{ev['n']} OOS rows",
        f"  {'group':13s} {'RMSE':>7s} {'p':>6s} {'QLIKE':>7s} {'p':>6s} {'chosen':>7s} selected",
    ]
    for g, e in ev["groups"].items():
        lines.append(
            f"  {g:13s} {_f(e['rmse_change'], '+7.1%')} {_f(e['dm_mse_p'], '6.3f')} "
            f"{_f(e['qlike_change'], '+7.1%')} {_f(e['dm_qlike_p'], '6.3f')} "
            f"{e['chosen_share']:7.0%} {'yes' if e['selected'] else 'no'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--realized", type=Path, default=None)
    parser.add_argument("--macro-dir", type=Path, default=None)
    parser.add_argument("--since", type=int, default=2010)
    parser.add_argument("--refit-every", type=int, default=Settings().refit_every)
    parser.add_argument("--jobs", type=int, default=Settings().train_jobs)
    parser.add_argument("--json", type=Path, default=None, help="also write the metrics here")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    settings = Settings()
    parsed = read_raw_csv(args.data)
    measures = (
        None if args.realized is None else realized.read_daily_measures(args.realized, settings)
    )
    series = None
    if args.macro_dir is not None:
        series = macro.read_macro_dir(args.macro_dir, macro.macro_specs(settings)).frame
    table, _ = build_table(
        parsed.frame, settings, None if measures is None else measures.frame, series
    )
    prep = time.perf_counter() - started
    result = train(table, settings, refit_every=args.refit_every, n_jobs=args.jobs)
    metrics = result.metrics
    since = f"from_{args.since}"
    if since not in metrics:
        from volpred.model.evaluation import evaluate

        metrics[since] = evaluate(result.walkforward, since=args.since)[since]

    cfg = result.hyperparameters["walkforward"]
    print(f"data {args.data}: {table.height} rows {table['date'].min()}..{table['date'].max()}")
    print(
        f"walk-forward: refit every {cfg['refit_every']} rows, gap {cfg['gap']}, horizon "
        f"{cfg['horizon']}, OOS from year {cfg['min_train_years'] + 1:g}, burn-in "
        f"{cfg['selection_years']:g} y for selection; {cfg['n_jobs']} threads"
    )
    for key in ("overall", since):
        s = metrics[key]
        print(
            f"\n== V (target_vol; RMSE/MAE in vol points), {key}: {s['n']} rows "
            f"{s['first']}..{s['last']}; DM vs HAR, Newey-West lags {metrics['lags']}"
        )
        print(vol_table(s))
        print(f"\n== R (target_ret; RMSE in %), {key}; DM and Clark-West vs historical mean")
        print(ret_table(s))
        iv = s.get("intervals", {})
        print(
            f"\n  80% bands: vol coverage {_f(iv.get('vol_coverage'), '.3f')}, "
            f"ret coverage {_f(iv.get('ret_coverage'), '.3f')}; mean width vol "
            f"{_f(iv.get('vol_mean_width'), '.4f')}, ret {_f(iv.get('ret_mean_width'), '.4f')}"
        )
    print(
        "\n== V per year: RMSE change vs HAR (negative = better), selected QLIKE change, "
        "band coverage"
    )
    print(per_year(metrics))
    final = result.model.info
    print(f"\nfinal model: {result.model!r}; choice {final['choice']}")
    print(
        f"V band: nominal {final['interval_level']:.0%}, adaptive level after the last realised "
        f"row {final['vol_band_level']:.1%}, log quantiles {final['vol_band_log_q']}"
    )
    print(
        f"dropped features: {final['dropped_features']}; trained on {final['train_rows']} rows "
        f"{final['train_start']}..{final['train_end']}"
    )
    print(regime_table(metrics))
    print(evidence_table(metrics))
    print(
        f"runtime: data {prep:.1f} s, walk-forward {metrics['walkforward_seconds']:.1f} s, "
        f"train total {result.seconds:.1f} s"
    )
    seconds: dict[str, float] = {}
    for block in metrics.get("blocks", []):
        for family, t in block.get("family_seconds", {}).items():
            seconds[family] = seconds.get(family, 0.0) + t
    print(
        "  fitting by family: "
        + ", ".join(f"{f} {t:.1f} s" for f, t in sorted(seconds.items(), key=lambda kv: -kv[1]))
    )
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=1, allow_nan=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
