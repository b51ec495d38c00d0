"""The small algebra every routing rule is written in.

Rules never branch on their inputs in Python: they combine them with an :class:`Ops`. Interpreted by
:class:`ConcreteOps` the inputs are Python ``bool``/``int`` values and a rule computes a concrete
answer (the executable model); interpreted by ``kverify.symbolic.smt_ops.SmtOps`` the same inputs are
Z3 terms and the same rule builds a constraint (the proof engine). One definition, two meanings:
the design the claripy backends and CrossHair use, so the engines cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

#: A value a rule computes with: a Python bool/int (concrete) or a Z3 term (symbolic).
Term = Any


class Ops(Protocol):
    """Operations available to rules. ``any_``/``all_`` range over a finite, explicit collection."""

    true: Term
    false: Term

    def and_(self, *xs: Term) -> Term: ...
    def or_(self, *xs: Term) -> Term: ...
    def not_(self, x: Term) -> Term: ...
    def implies(self, a: Term, b: Term) -> Term: ...
    def ite(self, cond: Term, then: Term, other: Term) -> Term: ...
    def eq(self, a: Term, b: Term) -> Term: ...
    def lt(self, a: Term, b: Term) -> Term: ...
    def any_(self, xs: Iterable[Term]) -> Term: ...
    def all_(self, xs: Iterable[Term]) -> Term: ...
    def member(self, x: Term, container: Any) -> Term: ...


class ConcreteOps:
    """Python values: the executable model."""

    true = True
    false = False

    def and_(self, *xs: bool) -> bool:
        return all(xs)

    def or_(self, *xs: bool) -> bool:
        return any(xs)

    def not_(self, x: bool) -> bool:
        return not x

    def implies(self, a: bool, b: bool) -> bool:
        return (not a) or b

    def ite(self, cond: bool, then: Any, other: Any) -> Any:
        return then if cond else other

    def eq(self, a: Any, b: Any) -> bool:
        return bool(a == b)

    def lt(self, a: int, b: int) -> bool:
        """Integer order (versions)."""
        return bool(a < b)

    def any_(self, xs: Iterable[bool]) -> bool:
        return any(xs)

    def all_(self, xs: Iterable[bool]) -> bool:
        return all(xs)

    def member(self, x: Any, container: Any) -> bool:
        """``container`` is a frozenset of indexes (zones or nodes)."""
        return x in container


CONCRETE = ConcreteOps()
