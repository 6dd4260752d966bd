"""Number formats shared by the pages and the browser test: what the analyst reads is what the
test compares with the API's numbers."""

from __future__ import annotations

import math


def _finite(x: float | None) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(x)


def vol(x: float | None) -> str:
    """Annualised vol (decimal) as a percent with one decimal: 0.1834 -> "18.3%"."""
    return f"{100 * x:.1f}%" if _finite(x) else "n/a"


def ret(x: float | None) -> str:
    """A log return (decimal) as a signed percent with two decimals: 0.0055 -> "+0.55%"."""
    return f"{100 * x:+.2f}%" if _finite(x) else "n/a"


def vol_band(lo: float | None, hi: float | None) -> str:
    return f"{vol(lo)} to {vol(hi)}"


def ret_band(lo: float | None, hi: float | None) -> str:
    return f"{ret(lo)} to {ret(hi)}"


def num(x: float | None, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if _finite(x) else "n/a"
