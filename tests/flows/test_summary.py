"""What a run shows in the Prefect UI, without a Prefect server: the run summary, the metrics
table, the links and the analyst's approval form."""

from __future__ import annotations

from tests.support.cards import headline, make_card
from volpred.flows import summary
from volpred.model.card import Headline
from volpred.model.promotion import decide

LATEST = {
    "date": "2025-12-31",
    "vol": 0.1398052516,
    "vol_lo": 0.1007969949,
    "vol_hi": 0.1663560982,
    "ret": 0.0057485815,
    "ret_lo": -0.0515977746,
    "ret_hi": 0.0411472976,
}
RAW = {
    "source": "sample",
    "synthetic": True,
    "first_date": "2008-01-02",
    "last_date": "2025-12-31",
    "rows": 4697,
}
CLEANED = {"rows_out": 4696}
SAVED = {"version": "20260102T030405Z", "promoted": True, "reason": "promoted"}


def test_number_formats():
    assert summary.pct(0.1398052516) == "14.0"
    assert summary.pct(0.1398052516, 2) == "13.98"
    assert summary.signed_pct(0.0057485815) == "+0.57"
    assert summary.signed_pct(-0.0515977746) == "-5.16"


def test_the_latest_forecast_line():
    card = make_card(latest_forecast=LATEST)
    assert summary.forecast_line(card) == (
        "- latest forecast (as of 2025-12-31, next 21 trading days): volatility 14.0% "
        "(80% band 10.1-16.6%), log return +0.57% (-5.16 to +4.11%)\n"
    )
    assert summary.forecast_line(make_card()) == "" == summary.forecast_line(None)
    at90 = make_card(latest_forecast=LATEST, metrics={"final_model": {"interval_level": 0.9}})
    assert "(90% band 10.1-16.6%)" in summary.forecast_line(at90)


def test_the_inputs_line_names_each_checkpoint():
    inputs = {
        "realized": {"kind": "bars", "synthetic": True, "first_date": "2005-01-03",
                     "last_date": "2025-12-31"},
        "macro": {"kind": "none"},
    }  # fmt: skip
    assert summary.inputs_line({"inputs": inputs}) == (
        "- inputs: realized: bars, synthetic, 2005-01-03 .. 2025-12-31; macro: none\n"
    )
    assert summary.inputs_line({}) == ""


def test_the_run_summary_with_and_without_services():
    card = make_card(latest_forecast=LATEST)
    text = summary.run_summary(RAW, CLEANED, SAVED, card)
    assert text == (
        "# volpred run\n\n"
        "- data: `sample` (**synthetic sample data**), 2008-01-02 .. 2025-12-31, 4697 rows "
        "(4696 after cleaning)\n"
        "- model: version `20260102T030405Z` (promoted)\n" + summary.forecast_line(card)
    )
    real = summary.run_summary(RAW | {"synthetic": False}, CLEANED, SAVED, None)
    assert "synthetic" not in real and "latest forecast" not in real
    api = {"url": "http://127.0.0.1:8000", "model_version": "20260102T030405Z"}
    dashboard = {"url": "http://127.0.0.1:8501"}
    analysis = {"pdf": "reports/analysis_report.pdf", "pages": 12}
    linked = summary.run_summary(RAW, CLEANED, SAVED, card, api, dashboard, analysis)
    assert linked.endswith(
        "- API: [http://127.0.0.1:8000](http://127.0.0.1:8000/docs) serving `20260102T030405Z`\n"
        "- dashboard: [http://127.0.0.1:8501](http://127.0.0.1:8501)\n"
        "- report: `reports/analysis_report.pdf` (12 pages)\n"
    )
    assert summary.links(None, dashboard, None) == [
        "- dashboard: [http://127.0.0.1:8501](http://127.0.0.1:8501)\n"
    ]


def test_the_metrics_table_rows_leave_missing_scores_out():
    h = Headline.model_validate(
        {
            "overall": {
                "first": "2013-01-01",
                "last": "2025-12-02",
                "vol": {"selected": {"rmse": 0.05, "qlike": None}, "har": {"rmse": 0.06}},
                "ret": {"selected": {"oos_r2_hist_mean": -0.001}},
            }
        }
    )
    assert summary.metrics_rows(h) == [
        {"target": "vol", "model": "selected", "rmse": 0.05},
        {"target": "vol", "model": "har", "rmse": 0.06},
        {"target": "ret", "model": "selected", "oos_r2_hist_mean": -0.001},
    ]
    assert summary.metrics_description(h) == "Out-of-sample metrics, 2013-01-01 .. 2025-12-02"
    assert summary.metrics_rows(Headline()) == []


def test_the_approval_form_says_why_compares_and_says_what_silence_means():
    served = make_card(version="20260101T000000Z", metrics=headline(vol_qlike=0.3))
    new = make_card(metrics=headline(vol_qlike=0.41234567))
    decision = decide(served, new, require_approval=False, force=False)
    text = summary.approval_request(decision, 3600)
    assert text.startswith(
        "**Promote the new model?** (the candidate is worse on a metric; "
        "served version 20260101T000000Z)\n\n| metric | served | candidate | better |\n|---|"
    )
    assert "| vol.selected.qlike | 0.3 | 0.41235 | lower |" in text
    assert text.endswith("\n\nNo answer within 3600 s keeps the current model.")


def test_a_run_with_a_report_says_it_is_a_draft_and_how_to_review_it():
    from volpred.flows.summary import report_line

    line = report_line({"pdf": "reports/analysis_report.pdf", "pages": 8})
    assert "DRAFT — not reviewed" in line and "volpred report review" in line
    assert report_line(None) == ""


def test_the_review_form_names_the_report_and_what_silence_means():
    from volpred.flows.summary import review_outcome, review_request

    draft = {"pdf": "reports/analysis_report.pdf", "pages": 8}
    meta = {"run_id": "r1", "model_version": "v1", "source": "sample", "synthetic": True,
            "status": "draft", "draft": draft}  # fmt: skip
    text = review_request(meta, 3600)
    assert "run `r1`" in text and "`v1`" in text and "synthetic" in text
    assert "No answer within 3600 s leaves the draft as it is." in text
    done = review_outcome(
        {"status": "reviewed", "review": {"by": "A", "at": "t", "notes": "**ok**"},
         "model_version": "v1", "run_id": "r1", "pdf": "x.pdf", "metadata": "m.json"}
    )  # fmt: skip
    assert done.startswith("# Report reviewed") and "**ok**" in done and "`x.pdf`" in done
    assert "left as a draft" in review_outcome({"status": "draft", "message": "no answer"})


def test_the_alerts_artifact_shows_values_thresholds_and_what_fired():
    from volpred.flows.summary import alerts_markdown

    facts = {
        "vol": 0.32, "vol_lo": 0.25, "vol_hi": 0.41, "vix": 28.0, "vol_minus_vix": 4.0,
        "vol_change": 0.061, "data_age_days": 0, "data_last_date": "2026-01-12",
        "as_of": "2026-01-12", "stale_inputs": [], "forecast_date": "2026-01-12",
        "model_version": "v1",
        "thresholds": {"vol_above": 0.3, "vol_jump": 0.05, "max_data_age": 3,
                       "input_max_age": {"*": 5}},
    }  # fmt: skip
    alerts = [{"kind": "forecast-vol-high", "message": "above"}]
    text = alerts_markdown(facts, alerts)
    assert "| forecast vol | 32.0% | above 30.0% | **yes** |" in text
    assert "| change since the last run | +6.1 points | more than 5.0 points | **yes** |" in text
    assert "VIX 28.00, forecast minus VIX +4.00 points" in text
    assert "- **forecast-vol-high**: above" in text
    assert "No alert raised." in alerts_markdown(facts | {"vol_change": None}, [])
