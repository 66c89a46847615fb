"""Runtime settings, read from ``ECREDIT_*`` environment variables.

Only deployment facts live here (where data is, which engine, which mode). Law-bound periods and
thresholds live in the versioned policy files under ``ecredit/policy/`` with their legal sources.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Deployment settings; every field maps to ``ECREDIT_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ECREDIT_", extra="ignore")

    mode: Literal["development", "production", "test"] = "development"
    data_dir: Path = Field(default=Path("data"))
    database_url: str | None = None
    lake: str | None = None
    key_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Request hardening (RELIABILITY.md C5): bounded bodies and pages.
    max_body_bytes: int = 8 * 1024 * 1024
    max_page_size: int = 200
    # Rate limits per client and minute (RELIABILITY.md C7).
    rate_limit_public_per_minute: int = 300
    rate_limit_login_per_minute: int = 10
    # How long a verified credential is trusted in-process before the store is asked again (0: always ask).
    auth_cache_seconds: float = 10.0
    # Analytics engine (DESIGN.md §3): DuckDB in process, or Spark (local[N] or a cluster master URL).
    engine: Literal["duckdb", "spark"] = "duckdb"
    duckdb_threads: int | None = None  # default: DuckDB's own (one per core)
    duckdb_memory_limit: str | None = None  # e.g. "4GB"; default: analytics.engine.default_memory_limit()
    duckdb_temp_directory: str | None = None  # where DuckDB spills; default: a temporary directory per engine
    log_steps: bool = False  # log every analytics step with its time (and rows) to stderr
    spark_master: str = "local[2]"
    spark_shuffle_partitions: int = 4  # small data per job on a laptop-sized machine; raise on a cluster
    spark_driver_memory: str = "2g"  # read when the JVM starts (first Spark engine of the process)
    spark_scratch: str | None = (
        None  # where steps are written as Parquet (on a cluster: a shared file system)
    )

    @property
    def resolved_database_url(self) -> str:
        """The store URL: explicit, or the embedded SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'ecredit.db').resolve()}"

    @property
    def resolved_lake(self) -> str:
        """The event lake location (a path or an fsspec URL)."""
        return self.lake or str((self.data_dir / "lake").resolve())

    @property
    def resolved_key_file(self) -> Path:
        """The key ring file, outside the database."""
        return self.key_file or (self.data_dir / "keys.json")


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings()
