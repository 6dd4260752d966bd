"""How the report and the dashboard write numbers: one place, so neither the report's template
nor a dashboard page formats (or types) one, and tests state the displayed precision by calling
the very function the reader's text came from (the dashboard's browser test compares the pages'
text with the API's numbers through `vol`, `ret` and their bands). Missing values print as
"n/a"."""

from __future__ import annotations

import math
from typing import Any

MISSING = "n/a"
#: Decimals for model metrics (R², RMSE, QLIKE, out-of-sample R²).
METRIC_DIGITS = 4
#: Decimals for p-values; smaller ones print as "<0.001".
P_DIGITS = 3


def _bad(x: Any) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def num(x: Any, digits: int = METRIC_DIGITS) -> str:
    """A plain decimal: 0.2651 (metrics, decimals)."""
    return MISSING if _bad(x) else f"{float(x):.{digits}f}"


def level(x: Any, digits: int = 2) -> str:
    """A level with thousands separators: 4,274.81 (prices, index points)."""
    return MISSING if _bad(x) else f"{float(x):,.{digits}f}"


def pct(x: Any, digits: int = 1) -> str:
    """A share or a decimal vol/return as percent: 0.1398 -> 13.98% with digits=2."""
    return MISSING if _bad(x) else f"{float(x) * 100:.{digits}f}%"


def signed_pct(x: Any, digits: int = 1) -> str:
    return MISSING if _bad(x) else f"{float(x) * 100:+.{digits}f}%"


def vol(x: Any) -> str:
    """The dashboard's annualised vol (decimal): percent with one decimal, 0.1834 -> 18.3%."""
    return pct(x, 1)


def ret(x: Any) -> str:
    """The dashboard's log return (decimal): signed percent, two decimals, 0.0055 -> +0.55%."""
    return signed_pct(x, 2)


def vol_band(lo: Any, hi: Any) -> str:
    return f"{vol(lo)} to {vol(hi)}"


def ret_band(lo: Any, hi: Any) -> str:
    return f"{ret(lo)} to {ret(hi)}"


def pval(p: Any) -> str:
    if _bad(p):
        return "–"
    threshold = 10**-P_DIGITS
    return f"<{threshold:.{P_DIGITS}f}" if float(p) < threshold else f"{float(p):.{P_DIGITS}f}"


def count(n: Any) -> str:
    return MISSING if _bad(n) else f"{int(n):,}"
