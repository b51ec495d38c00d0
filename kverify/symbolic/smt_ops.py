"""``Ops`` over Z3 terms: the rule table read as constraints."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import z3


def _bool(x: Any) -> Any:
    """Lift a Python value into a Z3 term (enums by their integer value, never their spelling)."""
    if isinstance(x, bool):
        return z3.BoolVal(x)
    if isinstance(x, int):
        return z3.IntVal(int(x))
    return x


class SmtOps:
    """Builds Z3 terms. Counts endpoint/node aggregates (``any_``/``all_``) for the cutoff argument."""

    true = z3.BoolVal(True)
    false = z3.BoolVal(False)

    def __init__(self) -> None:
        self.aggregates = 0

    def and_(self, *xs: Any) -> Any:
        return z3.And(*[_bool(x) for x in xs])

    def or_(self, *xs: Any) -> Any:
        return z3.Or(*[_bool(x) for x in xs])

    def not_(self, x: Any) -> Any:
        return z3.Not(_bool(x))

    def implies(self, a: Any, b: Any) -> Any:
        return z3.Implies(_bool(a), _bool(b))

    def ite(self, cond: Any, then: Any, other: Any) -> Any:
        return z3.If(_bool(cond), _bool(then), _bool(other))

    def eq(self, a: Any, b: Any) -> Any:
        if not z3.is_expr(a) and not z3.is_expr(b):
            return z3.BoolVal(bool(a == b))
        return _bool(a) == _bool(b)

    def any_(self, xs: Iterable[Any]) -> Any:
        self.aggregates += 1
        items = [_bool(x) for x in xs]
        return z3.Or(*items) if items else z3.BoolVal(False)

    def all_(self, xs: Iterable[Any]) -> Any:
        self.aggregates += 1
        items = [_bool(x) for x in xs]
        return z3.And(*items) if items else z3.BoolVal(True)

    def member(self, x: Any, container: Sequence[Any]) -> Any:
        """``container`` is a tuple of Booleans indexed by the domain (zone or node index)."""
        return z3.Or(*[z3.And(x == i, _bool(bit)) for i, bit in enumerate(container)]) if container else z3.BoolVal(False)
