"""The twin check: on one concrete cluster and flow, the outcomes the Z3 encoding admits must be
exactly the outcomes the executable model returns.

For each way the flow is handled, every variable of a universe of exactly the cluster's size is
pinned to the concrete Situation; the solver then enumerates the admitted outcomes (which endpoint,
delivered or dropped how, masqueraded, reply ok) and the load balancer's admitted nodes.
"""

from __future__ import annotations

from typing import Any

import attrs
import z3

from kverify.concrete.classify import Handling
from kverify.concrete.route import _service, handlings
from kverify.model import ClientKind, Cluster, Destination, Flow
from kverify.semantics.decide import decide
from kverify.semantics.load_balancer import excluded, may_receive, passes_probe
from kverify.semantics.ops import CONCRETE
from kverify.semantics.vocabulary import LB_LABEL_NONE, LB_LABEL_OTHER, NO_NODE, NO_ZONE, Situation
from kverify.symbolic.kinds import CLIENT_NODE, HANDLING, NAMES_HANDLING, NAMES_OTHERS, NO_HINTS, OTHER, Kind
from kverify.symbolic.prove import _solver
from kverify.symbolic.smt_ops import SmtOps, lift
from kverify.symbolic.universe import FlowInputs, Universe, select

#: (delivered, endpoint index or None, drop kind, masqueraded, reply ok, PROXY header, LB rewrote the source,
#: lost on the way (hairpin, rule cni-hairpin-off), the Interface a masqueraded packet leaves by or -1)
Fate = tuple[bool, int | None, int, bool, bool, bool, bool, bool, int]


@attrs.frozen(kw_only=True)
class Comparison:
    """One handling's fates under both engines; ``well_formed`` is False if the encoding excludes it."""

    node: str | None
    concrete: frozenset[Fate]
    symbolic: frozenset[Fate]
    lb_nodes_concrete: frozenset[int]
    lb_nodes_symbolic: frozenset[int]
    well_formed: bool


def _flow_pins(u: FlowInputs, s: Situation, client_node: int) -> list[Any]:
    """Pin the configuration and flow inputs to a concrete Situation's values."""
    return [
        u.dataplane == int(s.dataplane),
        u.load_balancer == int(s.load_balancer),
        u.service_type == int(s.service_type),
        u.etp_local == bool(s.etp_local_spec),
        u.itp_local == bool(s.itp_local_spec),
        u.has_external_ips == bool(s.has_external_ips),
        u.has_vip_ingress == bool(s.has_vip_ingress),
        u.has_detector == bool(s.has_detector),
        u.masquerade_all == bool(s.masquerade_all),
        u.client == int(s.client),
        u.destination == int(s.destination),
        u.client_node == client_node,
        u.address_captured == bool(s.address_captured),
        u.dst_ip_mode_proxy == bool(s.dst_ip_mode_proxy),
        u.dst_is_localhost == bool(s.dst_is_localhost),
        u.src_in_cluster_cidr == bool(s.src_in_cluster_cidr),
        u.src_allowed_by_ranges == bool(s.src_allowed_by_ranges),
        u.k8s_minor == int(s.k8s_minor),
        u.gates["ProxyTerminatingEndpoints"] == bool(s.gate_terminating),
        z3.Or(u.gates["TopologyAwareHints"], u.gates["ServiceTrafficDistribution"]) == bool(s.gate_zone_hints),
        u.gates["PreferSameTrafficDistribution"] == bool(s.gate_node_hints),
        u.gates["KubeProxyDrainingTerminatingNodes"] == bool(s.gate_draining),
        u.hints_annotation == bool(s.hints_annotation),
        u.cni == int(s.cni),
        u.proxy_protocol == bool(s.proxy_protocol),
        u.lb_preserves_client_ip == bool(s.lb_preserves_client_ip),
        u.dst_status_ip_mode_proxy == bool(s.dst_status_ip_mode_proxy),
        u.cilium_minor == int(s.cilium_minor),
        u.cilium_external_cluster_ip == bool(s.cilium_external_cluster_ip),
        u.cilium_no_backend_reject == bool(s.cilium_no_backend_reject),
        u.cilium_source_ranges_all_types == bool(s.cilium_source_ranges_all_types),
        u.cilium_pod_socket_lb == bool(s.cilium_pod_socket_lb),
        u.metallb_counts == int(s.metallb_counts),
    ]


def _pins(u: Universe, h: Handling, cluster: Cluster) -> list[Any]:
    s = h.situation
    pins = _flow_pins(u, s, int(s.client_node))
    pins += [
        u.n_nodes == len(s.nodes),
        u.n_endpoints == len(s.endpoints),
        u.handling_node == max(int(s.handling_node), 0),
    ]
    for i, node in enumerate(s.nodes):
        pins += [u.node_zone[i] == int(node.zone), u.node_draining[i] == bool(node.draining)]
        pins += [u.node_lb_label[i] == int(node.lb_label)]
    for j, e in enumerate(s.endpoints):
        pins += [u.ep_node[j] == int(e.node), u.ep_ready[j] == bool(e.ready), u.ep_serving[j] == bool(e.serving)]
        pins += [u.ep_terminating[j] == bool(e.terminating), u.ep_is_client[j] == bool(e.is_client)]
        zones = {min(z, u.zones) for z in e.zone_hints}
        nodes = {min(n, u.max_nodes) for n in e.node_hints}
        pins += [bit == (z in zones) for z, bit in enumerate(u.ep_zone_hint[j])]
        pins += [bit == (n in nodes) for n, bit in enumerate(u.ep_node_hint[j])]
    return pins


def _concrete_fates(h: Handling) -> frozenset[Fate]:
    d = decide(CONCRETE, h.situation)
    lb = (bool(d.proxy_header), bool(d.lb_rewrote_source))
    if not d.delivered:
        return frozenset({(False, None, int(d.drop_kind), False, False, *lb, False, -1)})
    return frozenset(
        (
            True,
            j,
            0,
            bool(d.masqueraded[j]),
            bool(d.reply_ok[j]),
            *lb,
            bool(d.lost[j]),
            int(d.snat_interface[j]) if d.masqueraded[j] else -1,
        )
        for j, chosen in enumerate(d.chosen)
        if chosen
    )


def _cni_observables(model: z3.ModelRef, pick: Any, d: Any, masqueraded: bool) -> tuple[bool, int]:
    """The picked endpoint's CNI observables (lost on the way, the masquerade's Interface) in a model."""
    lost = z3.is_true(model.eval(lift(pick(d.lost)), model_completion=True))
    interface = model.eval(lift(pick(d.snat_interface)), model_completion=True).as_long() if masqueraded else -1
    return lost, interface


def _lb_observables(model: z3.ModelRef, d: Any) -> tuple[bool, bool]:
    """The decision's load-balancer observables (PROXY header, source rewritten by the LB) in a model."""
    return (
        z3.is_true(model.eval(lift(d.proxy_header), model_completion=True)),
        z3.is_true(model.eval(lift(d.lb_rewrote_source), model_completion=True)),
    )


def compare(cluster: Cluster, flow: Flow) -> list[Comparison]:
    """Both engines' fates for every way ``flow`` is handled in ``cluster``."""
    service = _service(cluster, flow)
    if (
        flow.port is not None
        and service.port(flow.port, flow.protocol) is None
        and flow.destination is not Destination.NODE_PORT
    ):
        return []  # an unexposed port is decided before the rule table (rule service-port-unmatched)
    results = []
    for h in handlings(cluster, flow, service):
        if h.node is None:
            continue  # IP-target LBs bypass nodes; covered by the concrete tests
        u = Universe(max_nodes=len(cluster.nodes), max_endpoints=len(h.endpoints))
        ops = SmtOps()
        s = u.situation()
        d = decide(ops, s)
        solver = _solver(30_000)
        solver.add(*_pins(u, h, cluster))
        well_formed = True
        solver.push()
        solver.add(*u.well_formed())
        if solver.check() != z3.sat:  # compare the rules anyway, but report the exclusion
            well_formed = False
            solver.pop()
        symbolic: set[Fate] = set()
        k = u.endpoint_choice
        if h.endpoints:
            solver.add(k >= 0, k < len(h.endpoints), z3.Implies(lift(d.delivered), select(list(d.chosen), k)))
        while solver.check() == z3.sat:
            model = solver.model()
            delivered = z3.is_true(model.eval(lift(d.delivered), model_completion=True))
            lb = _lb_observables(model, d)
            if not delivered:
                drop = model.eval(lift(d.drop_kind), model_completion=True).as_long()
                fate: Fate = (False, None, drop, False, False, *lb, False, -1)
                symbolic.add(fate)
                break
            j = model.eval(k, model_completion=True).as_long()
            masq = z3.is_true(model.eval(select(list(d.masqueraded), k), model_completion=True))
            reply = z3.is_true(model.eval(select(list(d.reply_ok), k), model_completion=True))
            cni = _cni_observables(model, lambda values, k=k: select(list(values), k), d, masq)
            symbolic.add((True, j, 0, masq, reply, *lb, *cni))
            solver.add(k != j)
        lb_symbolic: set[int] = set()
        lb_concrete: set[int] = set()
        if flow.client is ClientKind.EXTERNAL and flow.destination is Destination.LOAD_BALANCER:
            solver_lb = _solver(30_000)
            solver_lb.add(*_pins(u, h, cluster))
            for i in range(len(cluster.nodes)):
                if CONCRETE.and_(may_receive(CONCRETE, h.situation, i)):
                    lb_concrete.add(i)
                solver_lb.push()
                solver_lb.add(lift(may_receive(ops, s, i)))
                if solver_lb.check() == z3.sat:
                    lb_symbolic.add(i)
                solver_lb.pop()
        results.append(
            Comparison(
                node=h.node.name,
                concrete=_concrete_fates(h),
                symbolic=frozenset(symbolic),
                lb_nodes_concrete=frozenset(lb_concrete),
                lb_nodes_symbolic=frozenset(lb_symbolic),
                well_formed=well_formed,
            )
        )
    return results


def kind_of(s: Situation, j: int) -> Kind:
    """The endpoint kind (kinds.py) of concrete endpoint ``j`` as seen from the handling node."""
    e = s.endpoints[j]
    if e.node == NO_NODE:
        role = NO_NODE
    elif e.node == s.handling_node:
        role = HANDLING
    elif e.node == s.client_node:
        role = CLIENT_NODE
    else:
        role = OTHER

    def hint_class(has: bool, names_handling: bool) -> int:
        return NO_HINTS if not has else (NAMES_HANDLING if names_handling else NAMES_OTHERS)

    return Kind(
        node=role,
        ready=bool(e.ready),
        serving=bool(e.serving),
        terminating=bool(e.terminating),
        zone_hints=hint_class(bool(e.has_zone_hints), s.handling_zone != NO_ZONE and s.handling_zone in e.zone_hints),
        node_hints=hint_class(bool(e.has_node_hints), s.handling_node in e.node_hints),
        is_client=bool(e.is_client),
    )


def compare_kinds(cluster: Cluster, flow: Flow) -> list[Comparison]:
    """Like :func:`compare`, through the endpoint-kind abstraction (fates name kinds, not endpoints)."""
    from kverify.symbolic.prove import kinds_encoding

    service = _service(cluster, flow)
    if (
        flow.port is not None
        and service.port(flow.port, flow.protocol) is None
        and flow.destination is not Destination.NODE_PORT
    ):
        return []
    u, world, solver = kinds_encoding()
    d = world.decision
    index = {kind: i for i, kind in enumerate(u.kinds)}
    results = []
    for h in handlings(cluster, flow, service):
        if h.node is None:
            continue
        s = h.situation
        hn, cn = int(s.handling_node), int(s.client_node)
        kinds = [kind_of(s, j) for j in range(len(s.endpoints))]
        others = [i for i in range(len(s.nodes)) if i not in (hn, cn)]
        role = NO_NODE if cn == NO_NODE else (HANDLING if cn == hn else CLIENT_NODE)
        pins = _flow_pins(u, s, role)
        pins += [
            u.handling_has_zone == (s.handling_zone != NO_ZONE),
            u.other_node_present == bool(others),
            u.draining[HANDLING] == bool(s.nodes[hn].draining),
            # "Some other node passes /healthz" is what the rules can see of the other nodes.
            u.draining[OTHER] == bool(others and all(s.nodes[i].draining for i in others)),
        ]
        if role == CLIENT_NODE:
            pins.append(u.draining[CLIENT_NODE] == bool(s.nodes[cn].draining))
            pins.append(u.lb_label[CLIENT_NODE] == int(s.nodes[cn].lb_label))
        pins.append(u.lb_label[HANDLING] == int(s.nodes[hn].lb_label))
        # What fail-open reads of the other nodes: whether one of them is a target passing its probe.
        target_passes = any(not excluded(CONCRETE, s, i) and passes_probe(CONCRETE, s, i) for i in others)
        pins.append(u.lb_label[OTHER] == (LB_LABEL_NONE if target_passes or not others else LB_LABEL_OTHER))
        pins += [p == (k in kinds) for k, p in zip(u.kinds, u.present, strict=True)]
        symbolic: set[Fate] = set()
        lb_symbolic: frozenset[int] = frozenset()
        solver.push()
        try:
            solver.add(*pins)
            well_formed = solver.check() == z3.sat
            if well_formed and z3.is_true(solver.model().eval(world.lb_may_pick_node, model_completion=True)):
                lb_symbolic = frozenset({hn})
            k = u.endpoint_choice
            while well_formed and solver.check() == z3.sat:
                model = solver.model()
                lb = _lb_observables(model, d)
                if not z3.is_true(model.eval(lift(d.delivered), model_completion=True)):
                    drop = model.eval(lift(d.drop_kind), model_completion=True).as_long()
                    symbolic.add((False, None, drop, False, False, *lb, False, -1))
                    break
                j = model.eval(k, model_completion=True).as_long()
                masq = z3.is_true(model.eval(u.pick(d.masqueraded), model_completion=True))
                reply = z3.is_true(model.eval(u.pick(d.reply_ok), model_completion=True))
                symbolic.add((True, j, 0, masq, reply, *lb, *_cni_observables(model, u.pick, d, masq)))
                solver.add(k != j)
        finally:
            solver.pop()
        concrete = frozenset(
            (f[0], index[kinds[f[1]]] if f[1] is not None else None, *f[2:]) for f in _concrete_fates(h)
        )
        lb_concrete = frozenset({hn}) if may_receive(CONCRETE, s, hn) else frozenset()
        results.append(
            Comparison(
                node=h.node.name,
                concrete=concrete,
                symbolic=frozenset(symbolic),
                lb_nodes_concrete=lb_concrete,
                lb_nodes_symbolic=lb_symbolic,
                well_formed=well_formed,
            )
        )
    return results
