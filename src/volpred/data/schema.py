"""Names and dtypes shared by every stage, so a column is spelled in one place only."""

from __future__ import annotations

import polars as pl

DATE = "date"

SPX_OHLC = ["spx_open", "spx_high", "spx_low", "spx_close"]
VIX_OHLC = ["vix_open", "vix_high", "vix_low", "vix_close"]
RATES = ["dgs10", "dgs2", "t10y2y"]

#: The canonical raw table every source returns, one row per trading day, in this order.
RAW_COLUMNS: list[str] = [DATE, *SPX_OHLC, "spx_volume", *VIX_OHLC, *RATES]
#: A raw table without these is useless; every other column may be absent or empty.
REQUIRED_COLUMNS: list[str] = [DATE, "spx_close", "vix_close"]
NUMERIC_COLUMNS: list[str] = [c for c in RAW_COLUMNS if c != DATE]

RAW_SCHEMA: dict[str, pl.DataType] = {
    DATE: pl.Date(),
    **{c: pl.Float64() for c in NUMERIC_COLUMNS},
}


def empty_raw() -> pl.DataFrame:
    """An empty canonical frame: the neutral element when merging source pieces."""
    return pl.DataFrame(schema=RAW_SCHEMA)


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """Add absent canonical columns as nulls, cast to canonical dtypes and order them.

    Sources deliver subsets (FRED has no OHLC); downstream code can then rely on every column.
    """
    exprs = []
    for name, dtype in RAW_SCHEMA.items():
        if name in frame.columns:
            exprs.append(pl.col(name).cast(dtype))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs)
