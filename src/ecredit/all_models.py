"""Imports every ORM model so that ``metadata`` is complete (for Alembic and tests)."""

from ecredit.analytics import models as lake_models
from ecredit.db import Base
from ecredit.intake import models as intake_models
from ecredit.kit import workdays as calendar_models
from ecredit.lists import models as lists_models
from ecredit.monitoring import models as monitoring_models
from ecredit.records import models as records_models
from ecredit.scoring import models as scoring_models
from ecredit.security import approvals as approvals_models
from ecredit.security import audit as audit_models  # noqa: F401  (the audit trail's tables)
from ecredit.security import models as security_models
from ecredit.subjects import models as subjects_models
from ecredit.verification import models as verification_models

metadata = Base.metadata

__all__ = [
    "approvals_models",
    "calendar_models",
    "intake_models",
    "lake_models",
    "lists_models",
    "metadata",
    "monitoring_models",
    "records_models",
    "scoring_models",
    "security_models",
    "subjects_models",
    "verification_models",
]
