"""The executable model of Service routing."""

from kverify.concrete.route import OutcomeGroup, iter_outcome_groups, iter_route, route

__all__ = ["OutcomeGroup", "iter_outcome_groups", "iter_route", "route"]
