"""Proofs for clusters of any size: the endpoint-kind abstraction.

The rules read an endpoint only through predicates of that endpoint alone (its conditions, whether
its node is the handling node or the client's node, whether its hints name the handling node or its
zone, whether it is the client) combined by ``any_``/``all_`` aggregates, and read nodes only as the
handling node, the client's node, and "some other node" (no rule counts). So what matters about a
cluster is *which kinds* of endpoint it has, never how many of each: a cluster of any size and the
cluster with one endpoint per kind present give every rule the same value.

A :class:`KindUniverse` therefore has one Boolean per kind (about 500) and three nodes: the handling
node (index 0), the client's node when it is another one (1), and one node standing for all others
(2). A claim proved here holds for every cluster, of any number of nodes and endpoints. Both
directions of the abstraction are checked: ``decode`` realises every kind set as a concrete cluster
that is replayed through the executable model, and a differential test maps random concrete
clusters to kind sets and compares the two engines' outcomes.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import z3

from kverify.model import Endpoint, Node
from kverify.semantics.vocabulary import (
    LB_LABEL_NONE,
    LB_LABEL_OTHER,
    NO_NODE,
    NO_ZONE,
    EndpointView,
    NodeView,
    Situation,
)
from kverify.symbolic.decode import Decoded, assemble, lb_labels, node_name
from kverify.symbolic.universe import FlowInputs, select

HANDLING, CLIENT_NODE, OTHER = 0, 1, 2
#: Hint classes: no hints, hints that name the handling node (or its zone), hints that name others only.
NO_HINTS, NAMES_HANDLING, NAMES_OTHERS = 0, 1, 2


@attrs.frozen
class Kind:
    node: int  # HANDLING, CLIENT_NODE, OTHER or NO_NODE
    ready: bool
    serving: bool
    terminating: bool
    zone_hints: int  # hint class
    node_hints: int  # hint class
    is_client: bool


def all_kinds() -> tuple[Kind, ...]:
    kinds = []
    for node, ready, serving, terminating, zone, hint, client in itertools.product(
        (HANDLING, CLIENT_NODE, OTHER, NO_NODE),
        (True, False),
        (True, False),
        (True, False),
        (NO_HINTS, NAMES_HANDLING, NAMES_OTHERS),
        (NO_HINTS, NAMES_HANDLING, NAMES_OTHERS),
        (False, True),
    ):
        if client and node == OTHER:
            continue  # the client pod runs on its own node
        kinds.append(Kind(node, ready, serving, terminating, zone, hint, client))
    return tuple(kinds)


def _hints(kind_class: int) -> tuple[bool, bool]:
    """Membership bits over the two-value domain (0: the handling node or its zone, 1: any other)."""
    return (kind_class == NAMES_HANDLING, kind_class == NAMES_OTHERS)


class KindUniverse(FlowInputs):
    """Z3 variables for one flow in a cluster of any size, up to which endpoint kinds it has."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds = all_kinds()
        self.present_names = [f"kind{i}" for i in range(len(self.kinds))]
        self.present = [z3.Bool(name) for name in self.present_names]
        self.other_node_present = z3.Bool("other_node_present")
        self.handling_has_zone = z3.Bool("handling_has_zone")
        self.draining = [z3.Bool(f"node{i}_draining") for i in range(3)]
        # The LB exclusion label (LB_LABEL_*). The "other" node's stands for whether some other node that is
        # a target of the load balancer passes its probe: all the fail-open rule reads of the others.
        self.lb_label = [z3.Int(f"node{i}_lb_label") for i in range(3)]
        self.endpoint_choice = z3.Int("endpoint_choice")

    def node_present(self, i: int) -> Any:
        return (z3.BoolVal(True), self.client_node == CLIENT_NODE, self.other_node_present)[i]

    def endpoint_views(self) -> tuple[EndpointView, ...]:
        return tuple(
            EndpointView(
                node=k.node,
                ready=k.ready,
                serving=k.serving,
                terminating=k.terminating,
                zone_hints=_hints(k.zone_hints),
                has_zone_hints=k.zone_hints != NO_HINTS,
                node_hints=_hints(k.node_hints),
                has_node_hints=k.node_hints != NO_HINTS,
                is_client=k.is_client,
                present=present,
            )
            for k, present in zip(self.kinds, self.present, strict=True)
        )

    def situation(self) -> Situation:
        nodes = tuple(
            NodeView(zone=NO_ZONE, draining=self.draining[i], present=self.node_present(i), lb_label=self.lb_label[i])
            for i in range(3)
        )
        zone = z3.If(self.handling_has_zone, 0, NO_ZONE)
        return self.situation_with(HANDLING, zone, self.endpoint_views(), nodes)

    def pick(self, values: Any) -> Any:
        return select(list(values), self.endpoint_choice)

    def well_formed(self) -> list[Any]:
        def node_exists(node: Any) -> Any:
            return z3.Or(node == HANDLING, node == CLIENT_NODE, z3.And(node == OTHER, self.other_node_present))

        c = [self.handling_node == HANDLING]
        c += self.flow_constraints(node_exists)
        c += self.not_modelled()
        # The client's node is the handling node or node 1; "other" endpoints need another node.
        c += [z3.Or(self.client_node == NO_NODE, self.client_node == HANDLING, self.client_node == CLIENT_NODE)]
        for kind, present in zip(self.kinds, self.present, strict=True):
            if kind.node == CLIENT_NODE:
                c.append(z3.Implies(present, self.client_node == CLIENT_NODE))
            if kind.node == OTHER:
                c.append(z3.Implies(present, self.other_node_present))
        c += [z3.Implies(z3.Not(self.node_present(i)), z3.Not(self.draining[i])) for i in range(3)]
        for i, label in enumerate(self.lb_label):
            c += [label >= LB_LABEL_NONE, label <= LB_LABEL_OTHER]
            c += [z3.Implies(z3.Not(self.node_present(i)), label == LB_LABEL_NONE)]
        for view in self.endpoint_views():
            c.append(self.client_endpoint_constraint(view))
        # Endpoint IPs are distinct: at most one endpoint is the client.
        c.append(z3.AtMost(*[p for k, p in zip(self.kinds, self.present, strict=True) if k.is_client], 1))
        c += [self.endpoint_choice >= 0, self.endpoint_choice < len(self.kinds)]
        return c


def true_constants(model: z3.ModelRef) -> set[str]:
    """The names of the Boolean constants ``model`` makes true (read through the C API: the Python
    wrappers made decoding slower than the proof)."""
    ctx, m = model.ctx.ref(), model.model
    names = set()
    for i in range(z3.Z3_model_get_num_consts(ctx, m)):
        decl = z3.Z3_model_get_const_decl(ctx, m, i)
        if z3.Z3_get_bool_value(ctx, z3.Z3_model_get_const_interp(ctx, m, decl)) == z3.Z3_L_TRUE:
            names.add(z3.Z3_get_symbol_string(ctx, z3.Z3_get_decl_name(ctx, decl)))
    return names


def decode_kinds(u: KindUniverse, model: z3.ModelRef) -> Decoded:
    """One concrete endpoint per kind present, on nodes node-a (handling), node-b (the client's, if
    another), node-c (every other node)."""

    def true(term: Any) -> bool:
        return z3.is_true(model.eval(term, model_completion=True))

    roles = [HANDLING] + [r for r in (CLIENT_NODE, OTHER) if true(u.node_present(r))]
    index = {role: i for i, role in enumerate(roles)}
    nodes = [
        Node(
            name=node_name(i),
            addresses=(f"192.168.0.{10 + i}", f"192.168.100.{10 + i}"),
            zone="zone-a" if role == HANDLING and true(u.handling_has_zone) else None,
            pod_cidrs=(f"10.{100 + i}.0.0/16",),
            draining=true(u.draining[role]),
            labels=lb_labels(model.eval(u.lb_label[role], model_completion=True).as_long()),
        )
        for i, role in enumerate(roles)
    ]
    endpoints: list[Endpoint] = []
    client_ip = None
    chosen = model.eval(u.endpoint_choice, model_completion=True).as_long()
    choice = 0
    # Read the ~500 kind flags from the model's assignment at once (model completion: absent is false).
    assigned = true_constants(model)
    for number, (kind, name) in enumerate(zip(u.kinds, u.present_names, strict=True)):
        if name not in assigned:
            continue
        j = len(endpoints)
        where = index.get(kind.node) if kind.node != NO_NODE else None
        ip = f"10.{100 + where if where is not None else 250}.{j // 200}.{10 + j % 200}"
        hint_zone = {NAMES_HANDLING: ["zone-a"], NAMES_OTHERS: ["zone-elsewhere"]}.get(kind.zone_hints, [])
        hint_node = {NAMES_HANDLING: [node_name(0)], NAMES_OTHERS: ["node-elsewhere"]}.get(kind.node_hints, [])
        endpoints.append(
            Endpoint(
                ip=ip,
                node_name=node_name(where) if where is not None else None,
                ready=kind.ready,
                serving=kind.serving,
                terminating=kind.terminating,
                zone_hints=hint_zone,
                node_hints=hint_node,
                pod=f"default/web-{j}",
            )
        )
        if kind.is_client:
            client_ip = ip
        if number == chosen:
            choice = j
    client_role = model.eval(u.client_node, model_completion=True).as_long()
    return assemble(
        u,
        model,
        nodes,
        endpoints,
        client_ip,
        handling=0,
        client_node=index.get(client_role, NO_NODE) if client_role != NO_NODE else NO_NODE,
        choice=choice,
    )
