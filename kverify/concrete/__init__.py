"""The executable model of Service routing."""

from typing import TYPE_CHECKING

from kverify.concrete.route import OutcomeGroup, iter_handling_groups, iter_outcome_groups, iter_route, route

if TYPE_CHECKING:
    from kverify.concrete.service_cidr import route_address

__all__ = ["OutcomeGroup", "iter_handling_groups", "iter_outcome_groups", "iter_route", "route", "route_address"]


def __getattr__(name: str) -> object:
    # Imported on first use: a packet to an address of no Service (``trace --to-address``, address
    # specs) is rare, and its module's rule classes cost every other command's start-up.
    if name == "route_address":
        from kverify.concrete.service_cidr import route_address

        return route_address
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
