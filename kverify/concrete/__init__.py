"""The executable model of Service routing."""

from kverify.concrete.route import iter_route, route

__all__ = ["iter_route", "route"]
