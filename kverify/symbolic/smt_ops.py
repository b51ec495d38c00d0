"""``Ops`` over Z3 terms: the rule table read as constraints.

Constants fold as the terms are built: Python ``bool``/``int`` values stay Python values until they
meet a Z3 term (``and_`` with a false argument is ``False``, ``ite`` on a true condition is its first
branch). The endpoint-kind universe fixes most endpoint attributes, and folding keeps its formulas
small. Results may therefore be Python values: :func:`lift` turns them into terms at the boundary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import z3


def lift(x: Any) -> Any:
    """A Z3 term for ``x`` (enums by their integer value, never their spelling)."""
    if isinstance(x, bool):
        return z3.BoolVal(x)
    if isinstance(x, int):
        return z3.IntVal(int(x))
    return x


class SmtOps:
    """Builds Z3 terms for the rules."""

    true = True
    false = False

    def and_(self, *xs: Any) -> Any:
        return self.all_(xs)

    def or_(self, *xs: Any) -> Any:
        return self.any_(xs)

    def not_(self, x: Any) -> Any:
        return (not x) if isinstance(x, bool) else z3.Not(x)

    def implies(self, a: Any, b: Any) -> Any:
        return self.or_(self.not_(a), b)

    def ite(self, cond: Any, then: Any, other: Any) -> Any:
        if isinstance(cond, bool):
            return then if cond else other
        if not z3.is_expr(then) and not z3.is_expr(other) and then == other and type(then) is type(other):
            return then
        return z3.If(cond, lift(then), lift(other))

    def eq(self, a: Any, b: Any) -> Any:
        if not z3.is_expr(a) and not z3.is_expr(b):
            return bool(a == b)
        return lift(a) == lift(b)

    def lt(self, a: Any, b: Any) -> Any:
        if not z3.is_expr(a) and not z3.is_expr(b):
            return bool(a < b)
        return lift(a) < lift(b)

    def any_(self, xs: Iterable[Any]) -> Any:
        items = []
        for x in xs:
            if isinstance(x, bool):
                if x:
                    return True
                continue
            items.append(x)
        if not items:
            return False
        return items[0] if len(items) == 1 else z3.Or(*items)

    def all_(self, xs: Iterable[Any]) -> Any:
        items = []
        for x in xs:
            if isinstance(x, bool):
                if not x:
                    return False
                continue
            items.append(x)
        if not items:
            return True
        return items[0] if len(items) == 1 else z3.And(*items)

    def member(self, x: Any, container: Sequence[Any]) -> Any:
        """``container`` is a tuple of Booleans indexed by the domain (zone or node index)."""
        if not z3.is_expr(x):  # a constant index: no disjunction needed
            return bool(0 <= x < len(container)) and container[x]
        return self.any_(self.and_(x == i, bit) for i, bit in enumerate(container))
