"""Data in: sources -> the raw checkpoint -> the cleaned, featurised table.

`schema` (canonical raw columns), `rawcsv` (strict CSV parsing), `sources/` (one module per
source behind `sources.load`), `ingest` (ingest_data), `clean` (clean_data), `features` (Polars
feature and target expressions), `realized` (daily realized measures from a realized-measures
file or intraday bars, by partition). May import `volpred.config` and `volpred.runtime` only.
"""
