"""The rule table: every routing rule has an id, a statement, the source it models and a version.

A rule is a plain function written against :class:`~kverify.semantics.ops.Ops`; registering it here
is what makes it part of kverify's semantics. ``docs/semantics.md`` is generated from this table
(``python -m kverify.semantics.docs``), and the tests check that both engines evaluate every
decision rule and that the encoding abstracts every classification rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import attrs

RuleKind = Literal["decide", "classify"]
#: What a rule decides about: a flow to a Service (the per-Service encodings), or a packet to an address
#: of no Service (its own solver query, kverify.symbolic.address).
RuleFlow = Literal["service", "address"]
F = TypeVar("F", bound=Callable[..., Any])


@attrs.frozen(kw_only=True)
class Rule:
    """One rule of Service routing.

    ``kind`` is ``"decide"`` for rules both engines evaluate, and ``"classify"`` for rules that
    read concrete addresses (CIDR membership, which IP is whose); the Z3 encoding abstracts each of
    those as a free input it quantifies over, and names the rule it abstracts.
    """

    id: str
    title: str
    source: str
    since: str
    kind: RuleKind = "decide"
    dataplanes: str = "all"
    #: Where the rule's behaviour changed: ``(version, what changed, the change cited)``, oldest first.
    #: The rule holds as stated from the last entry on; kverify models the earlier behaviour too.
    history: tuple[tuple[str, str, str], ...] = ()
    flow: RuleFlow = "service"
    function: Callable[..., Any] | None = attrs.field(default=None, eq=False, repr=False)


RULES: dict[str, Rule] = {}
_evaluated: list[set[str]] = []


def rule(
    id: str,
    *,
    title: str,
    source: str,
    since: str,
    kind: RuleKind = "decide",
    dataplanes: str = "all",
    history: tuple[tuple[str, str, str], ...] = (),
    flow: RuleFlow = "service",
) -> Callable[[F], F]:
    """Register the decorated function as rule ``id``; record each evaluation (see :func:`recording`)."""

    def register(function: F) -> F:
        if id in RULES:
            raise ValueError(f"duplicate rule id {id!r}")

        @functools.wraps(function)
        def evaluate(*args: Any, **kwargs: Any) -> Any:
            for seen in _evaluated:
                seen.add(id)
            return function(*args, **kwargs)

        RULES[id] = Rule(
            id=id,
            title=title,
            source=source,
            since=since,
            kind=kind,
            dataplanes=dataplanes,
            history=history,
            flow=flow,
            function=function,
        )
        return evaluate  # type: ignore[return-value]

    return register


def declare(
    id: str,
    *,
    title: str,
    source: str,
    since: str,
    kind: RuleKind = "classify",
    dataplanes: str = "all",
    history: tuple[tuple[str, str, str], ...] = (),
) -> str:
    """Register a rule implemented outside a single function (e.g. address classification)."""
    if id in RULES:
        raise ValueError(f"duplicate rule id {id!r}")
    RULES[id] = Rule(id=id, title=title, source=source, since=since, kind=kind, dataplanes=dataplanes, history=history)
    return id


def mark(id: str) -> None:
    """Record that a declared rule was applied."""
    if id not in RULES:
        raise KeyError(id)
    for seen in _evaluated:
        seen.add(id)


class recording:  # a lower-case name: it is used as a function, ``with recording() as seen:``
    """Collect the ids of every rule evaluated inside the ``with`` block (the set ``as`` names).

    A class, not ``contextlib.contextmanager``: the executable model records the rules of each flow's
    handlings (``kverify.concrete.route.handlings``), a thousand times in a check of a snapshot, and the
    generator machinery cost more than the handlings it wrapped."""

    __slots__ = ("_seen",)

    def __enter__(self) -> set[str]:
        self._seen: set[str] = set()
        _evaluated.append(self._seen)
        return self._seen

    def __exit__(self, *_exc: object) -> None:
        # By identity: list.remove compares sets by value, and an enclosing recording may hold the same ids.
        for i, seen in enumerate(_evaluated):
            if seen is self._seen:
                del _evaluated[i]
                return
