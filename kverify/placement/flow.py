"""One flow over every placement: the rule table read at a symbolic arrival node.

The routing rules read an endpoint only through "is it on the handling node, on the client's node, or
elsewhere" (see ``kverify.symbolic.kinds``), so the flow's Situation needs three node views whatever
the cluster's size: endpoint ``j`` is at index 0 when its pod's slot equals the arrival slot ``h``,
else at index 2 ("another node"). In-cluster clients are handled on their own node (rule
``handling-node``: spec claims name no destination address), so the client's node is ``h`` too.

Everything that does not depend on the placement (the Service's addresses, source ranges, the
LocalTrafficDetector, which addresses accept NodePorts) comes from the concrete classifier run once
on a probe cluster: no rule is written a second time.
"""

from __future__ import annotations

from typing import Any

import attrs
import z3

from kverify.concrete.classify import resolve_port
from kverify.concrete.route import handlings
from kverify.errors import InputError, Problem
from kverify.model import ClientKind, Cluster, DropKind, Flow, Node, Service, ServicePort
from kverify.placement.design import Backend, Design
from kverify.placement.universe import PlacementUniverse, Pod
from kverify.semantics.decide import Decision, decide, via_ip_target
from kverify.semantics.load_balancer import excluded, may_receive, passes_probe
from kverify.semantics.vocabulary import (
    LB_LABEL_NONE,
    LB_LABEL_OTHER,
    NO_NODE,
    NO_ZONE,
    EndpointView,
    NodeView,
    Situation,
)
from kverify.symbolic.smt_ops import SmtOps, lift

HANDLING, OTHER = 0, 2
OPS = SmtOps()


@attrs.frozen(kw_only=True)
class Endpoint:
    """A pod that is an endpoint of the flow's Service port."""

    pod: Pod
    backend: Backend


@attrs.frozen(kw_only=True)
class FlowTerms:
    """The flow at arrival slot ``h`` and the Z3 terms claims read (one outcome: endpoint ``choice``)."""

    h: Any
    choice: Any
    endpoints: tuple[Endpoint, ...]
    situation: Situation
    decision: Decision
    lb_picks: Any  # the load balancer may send this flow to slot h
    delivered: Any
    crosses: Any
    client_ip_kept: Any
    reply_ok: Any
    drop_kind: Any
    chosen_ready: Any
    well_formed: tuple[Any, ...]


def template(design: Design, service: Service, flow: Flow) -> tuple[Situation, ServicePort]:
    """The concrete Situation of ``flow`` on a probe cluster: its placement-independent fields."""
    port = resolve_port(service, flow)
    probe_nodes = tuple(
        Node(name=f"probe-{i}", addresses=(f"192.168.255.{10 + i}",), pod_cidrs=(f"10.254.{i}.0/24",)) for i in range(3)
    )
    probe = attrs.evolve(design.cluster, nodes=probe_nodes)
    named = attrs.evolve(flow, node="probe-0")
    try:
        found = handlings(probe, named, service)
    except InputError as error:
        raise InputError([Problem(p.message, field=p.field) for p in error.problems]) from None
    return found[0].situation, port


def relation(slot: Any, h: Any) -> Any:
    """Index of the node view a pod on ``slot`` is seen at from arrival slot ``h``."""
    return (
        z3.If(slot == h, HANDLING, OTHER) if z3.is_expr(slot) or z3.is_expr(h) else (HANDLING if slot == h else OTHER)
    )


def _unlabelled(
    u: PlacementUniverse, base: Situation, endpoints: tuple[Endpoint, ...], h: Any, client: ClientKind
) -> Situation:
    """``base`` seen from arrival slot ``h``, every node unlabelled."""
    views = tuple(
        EndpointView(
            node=relation(e.pod.node, h),
            # Steady state: every replica Ready, so publishNotReadyAddresses (which makes a not-Ready pod's
            # endpoint Ready, kverify.change.timeline) changes nothing here.
            ready=True,
            serving=True,
            terminating=False,
            zone_hints=(),
            has_zone_hints=False,
            node_hints=(),
            has_node_hints=False,
            is_client=False,  # the client is some other pod: spec claims are about any client
            present=e.pod.present,
        )
        for e in endpoints
    )
    if all(p is True for p in u.present):
        others: Any = u.k > 1  # every slot is a node: another one exists when there are two
    else:
        others = z3.Or(*[z3.And(lift(p), j != h) for j, p in enumerate(u.present)]) if u.k > 1 else False
    nodes = (
        NodeView(zone=NO_ZONE, draining=False, present=True),
        NodeView(zone=NO_ZONE, draining=False, present=False),  # the client's node is h (module doc)
        NodeView(zone=NO_ZONE, draining=False, present=others),
    )
    return attrs.evolve(
        base,
        handling_node=HANDLING,
        handling_zone=NO_ZONE,
        client_node=NO_NODE if client is ClientKind.EXTERNAL else HANDLING,
        endpoints=views,
        nodes=nodes,
    )


def situation_at(
    u: PlacementUniverse, base: Situation, endpoints: tuple[Endpoint, ...], h: Any, client: ClientKind
) -> Situation:
    """``base`` with the endpoints and nodes seen from arrival slot ``h``."""
    s = _unlabelled(u, base, endpoints, h, client)
    if all(label == LB_LABEL_NONE for label in u.lb_labels):
        return s  # no slot carries the LB exclusion label: the views are exact
    return attrs.evolve(s, nodes=_labelled(u, base, endpoints, h, client, s))


def _labelled(
    u: PlacementUniverse, base: Situation, endpoints: tuple[Endpoint, ...], h: Any, client: ClientKind, s: Situation
) -> tuple[NodeView, ...]:
    """The node views with the LB exclusion label (rule ``lb-exclude-label``): the arrival slot's own, and for
    "another node" whether some other slot is a target of the load balancer passing its probe, which is all
    fail-open (``lb-fail-open``) reads of the others (as in ``kverify.symbolic.kinds``)."""
    here, client_view, other = s.nodes
    passing, count = _targets_passing(u, base, endpoints, client)
    # Another slot passes when the count of passing targets exceeds the arrival slot's own share.
    mine = u.at(passing, h)
    another = z3.If(mine, count >= 2, count >= 1)
    other_label = z3.If(another, LB_LABEL_NONE, LB_LABEL_OTHER)
    return (
        attrs.evolve(here, lb_label=u.at(u.lb_labels, h)),
        client_view,
        attrs.evolve(other, lb_label=z3.If(lift(other.present), other_label, LB_LABEL_NONE)),
    )


def _targets_passing(
    u: PlacementUniverse, base: Situation, endpoints: tuple[Endpoint, ...], client: ClientKind
) -> tuple[list[Any], Any]:
    """Per slot, whether it is present, a target of the load balancer and passing its probe; and how many are.
    Built once per flow (``u.memo``): asked for every arrival slot, rebuilding it made labelled pools
    quadratic in the number of slots (a pool of 200 nodes took 50 s instead of 3)."""
    key = ("targets-passing", id(base), id(endpoints), client)
    found = u.memo.get(key)
    if found is None:
        passing = []
        for j, present in enumerate(u.present):
            at_j = _unlabelled(u, base, endpoints, j, client)
            own = attrs.evolve(at_j, nodes=(attrs.evolve(at_j.nodes[0], lb_label=u.lb_labels[j]), *at_j.nodes[1:]))
            passing.append(
                z3.And(
                    lift(present),
                    z3.Not(lift(excluded(OPS, own, HANDLING))),
                    lift(passes_probe(OPS, at_j, HANDLING)),
                )
            )
        count = z3.Sum([z3.If(p, 1, 0) for p in passing]) if passing else z3.IntVal(0)
        # The key's objects are kept alive with the entry, so their ids are not reused while it exists.
        found = u.memo[key] = (passing, count, base, endpoints)
    return found[0], found[1]


def flow_terms(
    u: PlacementUniverse, base: Situation, endpoints: tuple[Endpoint, ...], flow: Flow, arrival: int | None
) -> FlowTerms:
    """The flow arriving at a symbolic slot (or the named one), decided by the rule table."""
    h = z3.Int("arrival") if arrival is None else arrival
    s = situation_at(u, base, endpoints, h, flow.client)
    d = decide(OPS, s)
    choice = z3.Int("endpoint_choice")
    n = len(endpoints)

    def pick(values: tuple[Any, ...]) -> Any:
        if not values:
            return z3.BoolVal(False)
        result = lift(values[-1])
        for i in range(n - 2, -1, -1):
            result = z3.If(choice == i, lift(values[i]), result)
        return result

    delivered = lift(d.delivered)
    ip_target = lift(via_ip_target(OPS, s))
    on_h = pick(tuple(lift(v.node) == HANDLING for v in s.endpoints))
    c: list[Any] = []
    if z3.is_expr(h):
        c += [h >= 0, h < u.k]
        if not all(p is True for p in u.present):
            c.append(u.at(u.present, h))
    if n:
        c += [choice >= 0, choice < n, z3.Implies(delivered, pick(tuple(lift(x) for x in d.chosen)))]
    else:
        c += [z3.Not(delivered)]
    return FlowTerms(
        h=h,
        choice=choice,
        endpoints=endpoints,
        situation=s,
        decision=d,
        lb_picks=lift(may_receive(OPS, s, HANDLING)),
        delivered=delivered,
        crosses=z3.And(z3.Not(ip_target), z3.Not(on_h)),
        client_ip_kept=z3.And(z3.Not(pick(tuple(lift(x) for x in d.masqueraded))), z3.Not(lift(d.lb_rewrote_source))),
        reply_ok=pick(tuple(lift(x) for x in d.reply_ok)),
        drop_kind=lift(d.drop_kind),
        chosen_ready=pick(tuple(lift(v.ready) for v in s.endpoints)),
        well_formed=tuple(c),
    )


def holds(t: FlowTerms, prop: str, hops: int | None) -> Any:
    """The property of one outcome, as the concrete ``kverify.check.exhaustive.PROPERTIES`` define it."""
    if prop == "delivered":
        return z3.And(t.delivered, t.reply_ok)
    if prop == "client-ip-preserved":
        return z3.Implies(t.delivered, t.client_ip_kept)
    if prop == "stays-on-arrival-node":
        return z3.Implies(t.delivered, z3.Not(t.crosses))
    if prop == "never-dropped":
        return t.drop_kind != int(DropKind.DROP)
    if prop == "never-rejected":
        return t.drop_kind != int(DropKind.REJECT)
    if prop == "reaches-ready-pod":
        return z3.Implies(t.delivered, t.chosen_ready)
    if prop == "at-most-hops":
        # In-cluster clients are handled on their own node: the only node-to-node hop is to the endpoint.
        return z3.Or(z3.Not(t.delivered), z3.If(t.crosses, 1, 0) <= (hops or 0))
    raise ValueError(f"unknown property {prop!r}")


def endpoints_of(u: PlacementUniverse, backends: tuple[Backend, ...]) -> tuple[Endpoint, ...]:
    return tuple(Endpoint(pod=p, backend=b) for b in backends for p in u.pods_of(b.workload))


def no_node_announces(
    u: PlacementUniverse, base: Situation, endpoints: tuple[Endpoint, ...], flow: Flow, cluster: Cluster
) -> Any:
    """The load balancer sends the flow to no node at all (MetalLB with nobody announcing)."""
    picks = []
    for j in range(u.k):
        s = situation_at(u, base, endpoints, j, flow.client)
        picks.append(z3.And(lift(u.present[j]), lift(may_receive(OPS, s, HANDLING))))
    return z3.Not(z3.Or(*picks))
