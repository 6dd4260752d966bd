"""How the report writes numbers: one place, so the template never formats (or types) one and
tests can state the displayed precision. Missing values print as "n/a"."""

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


def pval(p: Any) -> str:
    if _bad(p):
        return "–"
    threshold = 10**-P_DIGITS
    return f"<{threshold:.{P_DIGITS}f}" if float(p) < threshold else f"{float(p):.{P_DIGITS}f}"


def count(n: Any) -> str:
    return MISSING if _bad(n) else f"{int(n):,}"
