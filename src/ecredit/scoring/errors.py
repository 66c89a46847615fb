"""Errors of credit evaluation and classified supervision."""

from ecredit.errors import NotFound, ValidationFailed


class EvaluationNotFound(NotFound):
    """The subject exists (and the caller may see it) but no run has evaluated it yet."""

    code = "scoring.evaluation_not_found"


class NoScoreRun(NotFound):
    """A plan needs a finished score run: run ``ecredit score run`` first."""

    code = "scoring.no_score_run"


class InvalidPlan(ValidationFailed):
    code = "scoring.invalid_plan"
