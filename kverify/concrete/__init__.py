"""The executable model of Service routing."""

from kverify.concrete.route import route

__all__ = ["route"]
