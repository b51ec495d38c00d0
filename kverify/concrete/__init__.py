"""The executable model of Service routing."""

from kverify.concrete.route import OutcomeGroup, iter_handling_groups, iter_outcome_groups, iter_route, route
from kverify.concrete.service_cidr import route_address

__all__ = ["OutcomeGroup", "iter_handling_groups", "iter_outcome_groups", "iter_route", "route", "route_address"]
