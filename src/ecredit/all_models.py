"""Imports every ORM model so that ``metadata`` is complete (for Alembic and tests)."""

from ecredit.db import Base
from ecredit.subjects import models as subjects_models
from ecredit.verification import models as verification_models

metadata = Base.metadata

__all__ = ["metadata", "subjects_models", "verification_models"]
