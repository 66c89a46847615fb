"""Response models of REST intake."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from ecredit.kit.schemas import Schema


class IntakeAccepted(Schema):
    """A batch durably stored in the event lake."""

    batch_id: str = Field(description="The lake batch (manifest row) holding the records.")
    kind: str
    platform: str = Field(description="The caller's platform code.")
    records: int = Field(description="Records stored.")
    files: int = Field(description="Parquet files written (one per partition date).")
    received_at: dt.datetime = Field(description="When the batch was accepted (UTC).")
