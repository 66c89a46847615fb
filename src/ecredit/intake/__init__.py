"""Intake: platforms' records (accounts, listings, orders, payments, parcels, scans, reviews) into the event
lake, by REST batches with idempotency keys and by files (CSV, JSON Lines, Parquet)."""
