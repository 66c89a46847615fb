"""Analytics: the event lake (Parquet files listed by a manifest in the store) and its DuckDB readers."""
