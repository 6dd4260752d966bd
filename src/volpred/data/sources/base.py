"""What every source returns, and the error every source raises."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


class SourceError(RuntimeError):
    """A source could not deliver: the message names the source, the URI or path and the cause."""

    def __init__(self, source: str, uri: str, reason: str) -> None:
        self.source = source
        self.uri = uri
        self.reason = reason
        super().__init__(f"source {source!r} failed for {uri}: {reason}")


@dataclass
class SourceResult:
    """A canonical raw frame (see `volpred.data.schema.RAW_SCHEMA`) and where it came from."""

    frame: pl.DataFrame
    source: str
    uris: list[str]
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False
