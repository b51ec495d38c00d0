"""Helpers for users' own tests: assertions, Hypothesis strategies (``kverify.testing.strategies``), the
pytest plugin.

Names are re-exported lazily (PEP 562): pytest imports this package in every session of a project
that installs kverify, so importing it must not load the engines (nor z3, nor Hypothesis).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kverify.testing.assertions import (
        Predicate,
        Trace,
        assert_holds,
        assert_refuted,
        flow_to,
        load_cluster,
        trace,
    )

__all__ = ["Predicate", "Trace", "assert_holds", "assert_refuted", "flow_to", "load_cluster", "trace"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("kverify.testing.assertions"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
