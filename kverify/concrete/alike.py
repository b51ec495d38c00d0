"""Handling nodes that look alike are decided once (issue 11: trace from every node in linear time).

Traced from each of 1,000 nodes, a Service's flow meets at most a few kinds of node: with local
endpoints or without, in a hinted zone or not. The rule table reads the identity of a node only by
comparing it: ``eq(endpoint.node, handling_node)``, ``eq(client_node, handling_node)``,
``member(handling_node, node_hints)``, ``member(handling_zone, zone_hints)``; the per-node views
(``Situation.nodes``) are read by the load balancer's rules only, never by ``decide``. So renaming
the handling node (and its zone) to one placeholder throughout its reduced situation
(:attr:`~kverify.concrete.classify.Handling.reduced`) changes no answer, and two handlings whose
renamed situations are equal get the same decision and the same explanations: :func:`decided`
evaluates the rule table once per distinct renamed situation. ``Situation.nodes`` is hidden in the
renamed situation: a rule that read it would raise :class:`~kverify.errors.InternalError` rather than
see another node's view (``tests/test_endpoint_classes.py`` routes every handling this way).

This is an evaluation strategy of the executable model, not a rule: it changes no outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import Any

import attrs

from kverify.concrete import classify
from kverify.concrete.explain import explain, explain_decision
from kverify.errors import InternalError
from kverify.semantics.decide import Decision, decide
from kverify.semantics.ops import CONCRETE
from kverify.semantics.vocabulary import NO_NODE, NO_ZONE, EndpointView, Situation

#: The handling node, and its zone, after renaming (no node or zone has a negative index but these).
HANDLING = -3
HANDLING_ZONE = -3


class _Hidden:
    """``Situation.nodes`` of a renamed situation: reading it is a bug (the rule would see the views of
    whichever node the placeholder happens to index), so it raises."""

    def _refuse(self, *_: Any) -> Any:
        raise InternalError("a rule read Situation.nodes inside decide(): kverify.concrete.alike must not rename")

    __getitem__ = __iter__ = __len__ = _refuse

    def __repr__(self) -> str:
        return "<nodes hidden>"


_HIDDEN = _Hidden()


@attrs.frozen(kw_only=True)
class Decided:
    """The rule table's answer for one kind of handling node: ``reduced`` is the renamed situation
    (the explanation functions read it as a handling's ``reduced``), ``decision`` per endpoint class,
    ``common`` the rules that fired for the handling as a whole."""

    reduced: Situation
    decision: Decision
    common: tuple[str, ...]
    #: Whether the CNI masqueraded the pod's packet before it reached the node (rule cni-pod-to-node-snat):
    #: not in the situation, read by the explanations (a marker: only whether it is None matters).
    pod_ip: str | None = None
    _rules: dict[int | None, tuple[str, ...]] = attrs.field(factory=dict, eq=False)
    #: Values read from the decision alone, kept by whoever reads them (the outcomes' fields, in route).
    derived: dict[object, object] = attrs.field(factory=dict, eq=False)

    def rules(self, cls: int | None) -> tuple[str, ...]:
        """The rules that fired for an outcome delivered to endpoint class ``cls`` (``None``: the
        handling as a whole, as the health check reports it)."""
        found = self._rules.get(cls)
        if found is None:
            found = self._rules[cls] = explain(self, decision=self.decision, index=cls, common=self.common)  # type: ignore[arg-type]
        return found


def renamed(s: Situation) -> Situation:
    """``s`` with its handling node and zone renamed to placeholders and the node views hidden."""
    node, zone = s.handling_node, s.handling_zone
    if node == NO_NODE:  # bypassing nodes (IP-target LB): NO_NODE is compared with as such; keep it
        return attrs.evolve(s, nodes=_HIDDEN)  # type: ignore[arg-type]  # a stand-in that raises when read
    new_zone = HANDLING_ZONE if zone != NO_ZONE else NO_ZONE
    return attrs.evolve(
        s,
        handling_node=HANDLING,
        handling_zone=new_zone,
        client_node=HANDLING if s.client_node == node else s.client_node,
        endpoints=renamed_views(s.endpoints, node, zone),
        nodes=_HIDDEN,  # type: ignore[arg-type]  # a stand-in that raises when read
    )


def renamed_views(views: tuple[EndpointView, ...], node: Any, zone: Any) -> tuple[EndpointView, ...]:
    """``views`` as seen from a handling ``node`` (in ``zone``) renamed to the placeholders. Each view
    is built field by field (``attrs.evolve`` costs a trace from every node a tenth of a second);
    ``tests/test_alike.py`` checks that no field is left behind."""
    if node == NO_NODE:
        return views
    new_zone = HANDLING_ZONE if zone != NO_ZONE else NO_ZONE
    return tuple(
        EndpointView(
            node=HANDLING if v.node == node else v.node,
            ready=v.ready,
            serving=v.serving,
            terminating=v.terminating,
            zone_hints=frozenset(new_zone if z == zone else z for z in v.zone_hints),
            has_zone_hints=v.has_zone_hints,
            node_hints=frozenset(HANDLING if n == node else n for n in v.node_hints),
            has_node_hints=v.has_node_hints,
            is_client=v.is_client,
            present=v.present,
        )
        for v in views
    )


def decided(h: classify.Handling, memo: dict[tuple[object, object], Decided]) -> Decided:
    """The rule table on ``h``'s endpoint classes, evaluated once per kind of handling node in ``memo``.

    A handling built with its flow's shared fields (``h.shared``) is first looked up by what it adds
    to them, renamed (:func:`_kind`): handlings of one flow alike by that are alike by their renamed
    situations, and building and hashing a whole situation for each of 1,000 nodes is what it spares.
    Across flows (a check routes a thousand, one per Service) it is looked up in ``memo`` by the flow's
    shared fields but the node views (which the renamed situation hides) and that kind: equal keys make
    equal renamed situations, as within a flow."""
    shared = h.shared
    kind = None
    if shared is not None:
        kind = _kind(h, shared)
        found = shared.kinds.get(kind)
        if found is not None:
            return found  # type: ignore[return-value]
        found = memo.get((shared.key, kind))
        if found is not None:
            shared.kinds[kind] = found
            return found
    situation = renamed(h.reduced)
    snatted = h.pod_ip is not None
    found = memo.get((situation, snatted))
    if found is None:
        decision = decide(CONCRETE, situation)
        found = Decided(reduced=situation, decision=decision, common=(), pod_ip="snat" if snatted else None)
        found = attrs.evolve(found, common=explain_decision(found, decision))  # type: ignore[arg-type]
        memo[(situation, snatted)] = found
    if shared is not None:
        shared.kinds[kind] = memo[(shared.key, kind)] = found
    return found


def _kind(h: classify.Handling, shared: classify.FlowFrame) -> tuple[object, ...]:
    """What ``h``'s renamed reduced situation holds beyond its flow's shared fields: the handling's own
    fields (every field not shared: ``FlowFrame.own_names``), renamed as :func:`renamed` renames them,
    and its endpoint classes (their keys)."""
    s = h.frame
    node, zone = s.handling_node, s.handling_zone
    own = _own_getter(shared.own_names)(s)
    if node == NO_NODE:
        where: tuple[object, ...] = (NO_NODE, zone, s.client_node)
    else:
        where = (HANDLING, zone != NO_ZONE, HANDLING if s.client_node == node else s.client_node)
    # The classes' keys stand for their renamed views: each view is made from its key, the handling node
    # and its zone alone (endpoint_set._view), and ``where`` holds what of those the renaming keeps.
    return (where, own, h.classes.keys, h.pod_ip is not None)


#: The situation's fields :func:`_kind` renames (or, for the endpoints, takes from the classes).
_RENAMED = frozenset({"handling_node", "handling_zone", "client_node", "endpoints"})
_GETTERS: dict[tuple[str, ...], Callable[[Situation], tuple[object, ...]]] = {}


def _own_getter(names: tuple[str, ...]) -> Callable[[Situation], tuple[object, ...]]:
    """A function giving a situation's fields ``names`` but the renamed ones, as a tuple (made once per
    set of names: a trace from every node asks it at each node)."""
    getter = _GETTERS.get(names)
    if getter is None:
        kept = tuple(name for name in names if name not in _RENAMED)
        if len(kept) > 1:
            getter = attrgetter(*kept)
        else:  # attrgetter of one name gives the value, not a tuple

            def getter(s: Situation, kept: tuple[str, ...] = kept) -> tuple[object, ...]:
                return tuple(getattr(s, name) for name in kept)

        _GETTERS[names] = getter
    return getter
