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

_CTX = z3.main_ctx()
_TRUE, _FALSE = z3.BoolVal(True), z3.BoolVal(False)
_INTS: dict[int, Any] = {}


def lift(x: Any) -> Any:
    """A Z3 term for ``x`` (enums by their integer value, never their spelling)."""
    if isinstance(x, bool):
        return _TRUE if x else _FALSE
    if isinstance(x, int):
        value = int(x)
        term = _INTS.get(value)
        if term is None:
            term = _INTS[value] = z3.IntVal(value)
        return term
    return x


# Building terms through z3's C API directly. ``z3.And``/``z3.Or``/``==``/``z3.If`` coerce and
# sort-check every argument in Python, which was half the time of building the encodings; the
# rules only ever combine Boolean and integer terms of the main context, so these fast paths build
# the same terms (the same Z3 function applied to the same arguments) and fall back to the general
# functions for anything else.


def _connective(make: Any, items: list[Any]) -> Any:
    if not all(type(x) is z3.BoolRef for x in items):
        return None
    array = (z3.Ast * len(items))()
    for i, x in enumerate(items):
        array[i] = x.ast
    return z3.BoolRef(make(_CTX.ref(), len(items), array), _CTX)


def _and(items: list[Any]) -> Any:
    term = _connective(z3.Z3_mk_and, items)
    return z3.And(*items) if term is None else term


def _or(items: list[Any]) -> Any:
    term = _connective(z3.Z3_mk_or, items)
    return z3.Or(*items) if term is None else term


_TERMS = (z3.BoolRef, z3.ArithRef, z3.IntNumRef)


def _binary(make: Any, *args: Any) -> Any:
    """``make`` (Z3_mk_eq, Z3_mk_ite) on Boolean/integer terms, or ``None``: Z3 itself rejects
    arguments of different sorts, and the caller then takes the general (coercing) path."""
    if not all(type(x) in _TERMS for x in args):
        return None
    try:
        return z3.z3._to_expr_ref(make(_CTX.ref(), *(x.ast for x in args)), _CTX)
    except z3.Z3Exception:
        return None


class SmtOps:
    """Builds Z3 terms for the rules."""

    true = True
    false = False

    def and_(self, *xs: Any) -> Any:
        return self.all_(xs)

    def or_(self, *xs: Any) -> Any:
        return self.any_(xs)

    def not_(self, x: Any) -> Any:
        if isinstance(x, bool):
            return not x
        if type(x) is z3.BoolRef:
            return z3.BoolRef(z3.Z3_mk_not(_CTX.ref(), x.ast), _CTX)
        return z3.Not(x)

    def implies(self, a: Any, b: Any) -> Any:
        return self.or_(self.not_(a), b)

    def ite(self, cond: Any, then: Any, other: Any) -> Any:
        if isinstance(cond, bool):
            return then if cond else other
        if not z3.is_expr(then) and not z3.is_expr(other) and then == other and type(then) is type(other):
            return then
        a, b = lift(then), lift(other)
        term = _binary(z3.Z3_mk_ite, cond, a, b) if type(cond) is z3.BoolRef else None
        return z3.If(cond, a, b) if term is None else term

    def eq(self, a: Any, b: Any) -> Any:
        if not z3.is_expr(a) and not z3.is_expr(b):
            return bool(a == b)
        x, y = lift(a), lift(b)
        term = _binary(z3.Z3_mk_eq, x, y)
        return x == y if term is None else term

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
        return items[0] if len(items) == 1 else _or(items)

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
        return items[0] if len(items) == 1 else _and(items)

    def member(self, x: Any, container: Sequence[Any]) -> Any:
        """``container`` is a tuple of Booleans indexed by the domain (zone or node index)."""
        if not z3.is_expr(x):  # a constant index: no disjunction needed
            return bool(0 <= x < len(container)) and container[x]
        return self.any_(self.and_(x == i, bit) for i, bit in enumerate(container))
