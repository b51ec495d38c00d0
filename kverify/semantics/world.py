"""One outcome of a flow, as claims see it: the vocabulary claims are written in.

A World pairs a Situation and its Decision with the endpoint the packet reaches. Both engines build
Worlds: concretely one per outcome of ``route``; symbolically one whose endpoint is a Z3 variable.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from kverify.model.enums import ClientKind, Destination, DropKind, Interface
from kverify.semantics.decide import Decision, via_ip_target
from kverify.semantics.endpoints import any_usable, ready
from kverify.semantics.ops import Ops, Term
from kverify.semantics.policy import external_policy_local
from kverify.semantics.vocabulary import LB_LABEL_NONE, NO_NODE, Situation

Pick = Callable[[Sequence[Any]], Any]
M = TypeVar("M", bound=Callable[..., Term])


def _unnamed(term: Term) -> Term:
    return term


def _memoized(method: M) -> M:
    """Compute a World's term once per World and arguments.

    The theorem library asks one symbolic World (one per encoding) for the same terms in claim after
    claim; over the ~500 endpoint kinds of the any-size encoding, building ``any_usable_endpoint`` or a
    ``pick`` again each time was a third of the library's time. Equal arguments give the same term
    (a World is immutable), so sharing it changes no formula, only the work of building it.

    A symbolic World also names each term (``World.name``): a fresh constant defined as the term in the
    encoding's shared solver. The solver then turns the term into clauses once, not again in every
    query's scope, and a definition of a fresh constant changes no claim's satisfiability.
    """
    name = method.__name__

    @functools.wraps(method)
    def cached(self: World, *args: Any) -> Term:
        key = (name, args)
        try:
            return self.memo[key]
        except KeyError:
            value = self.memo[key] = self.name(method(self, *args))
            return value

    return cached  # type: ignore[return-value]


@attrs.frozen(kw_only=True)
class World:
    ops: Ops
    situation: Situation
    decision: Decision
    pick: Pick  # per-endpoint tuple -> the value for the endpoint this outcome reaches
    lb_may_pick_node: Term  # the load balancer in front may send this flow to the handling node
    #: Symbolic worlds: gives a term a name (a constant the encoding defines once, in the solver every
    #: query shares), so a query's own constraint stays a few literals (see :func:`_memoized`).
    name: Callable[[Term], Term] = attrs.field(default=_unnamed, repr=False, eq=False)
    #: Terms already built, by method and arguments (see :func:`_memoized`).
    memo: dict[tuple[str, tuple[Any, ...]], Term] = attrs.field(factory=dict, init=False, repr=False, eq=False)

    # -- the flow -------------------------------------------------------------------------------
    @_memoized
    def client_is(self, kind: ClientKind) -> Term:
        return self.ops.eq(self.situation.client, kind)

    @_memoized
    def in_cluster_client(self) -> Term:
        return self.ops.not_(self.client_is(ClientKind.EXTERNAL))

    @_memoized
    def destination_is(self, *kinds: Destination) -> Term:
        return self.ops.or_(*(self.ops.eq(self.situation.destination, k) for k in kinds))

    @_memoized
    def external_destination(self) -> Term:
        return self.destination_is(Destination.NODE_PORT, Destination.LOAD_BALANCER, Destination.EXTERNAL_IP)

    @_memoized
    def etp_local(self) -> Term:
        return external_policy_local(self.ops, self.situation)

    @_memoized
    def itp_local(self) -> Term:
        return self.situation.itp_local_spec

    @_memoized
    def source_outside_cluster_cidr(self) -> Term:
        return self.ops.not_(self.situation.src_in_cluster_cidr)

    @_memoized
    def allowed_by_source_ranges(self) -> Term:
        return self.situation.src_allowed_by_ranges

    @_memoized
    def ip_mode_vip(self) -> Term:
        return self.ops.not_(self.situation.dst_ip_mode_proxy)

    @_memoized
    def address_captured(self) -> Term:
        return self.situation.address_captured

    @_memoized
    def lb_sends_proxy_protocol(self) -> Term:
        """The load balancer in front is configured to send PROXY protocol headers."""
        return self.situation.proxy_protocol

    @_memoized
    def status_ip_mode_proxy(self) -> Term:
        """The Service's status gives the destination address ipMode Proxy (honoured or not by this version)."""
        return self.situation.dst_status_ip_mode_proxy

    @_memoized
    def through_ip_target(self) -> Term:
        return via_ip_target(self.ops, self.situation)

    # -- the cluster ----------------------------------------------------------------------------
    @_memoized
    def any_ready_endpoint(self) -> Term:
        return self.ops.any_(ready(self.ops, e) for e in self.situation.endpoints)

    @_memoized
    def endpoints_on_known_nodes(self) -> Term:
        """Every endpoint names a node of the cluster (true of live clusters; snapshots may be partial)."""
        return self.ops.all_(
            self.ops.implies(e.present, self.ops.not_(self.ops.eq(e.node, NO_NODE))) for e in self.situation.endpoints
        )

    @_memoized
    def any_usable_endpoint(self) -> Term:
        return any_usable(self.ops, self.situation)

    @_memoized
    def no_node_labelled_out_of_lb(self) -> Term:
        """No node carries ``node.kubernetes.io/exclude-from-external-load-balancers`` (rule lb-exclude-label)."""
        return self.ops.all_(
            self.ops.implies(n.present, self.ops.eq(n.lb_label, LB_LABEL_NONE)) for n in self.situation.nodes
        )

    # -- the outcome ----------------------------------------------------------------------------
    @_memoized
    def sent_to_endpoint(self) -> Term:
        """The proxy DNATed the packet to the endpoint this outcome picked (it may still be lost after)."""
        return self.decision.delivered

    @_memoized
    def masqueraded(self) -> Term:
        """A node (kube-proxy or the CNI) rewrote the packet's source before the endpoint."""
        return self.pick(self.decision.masqueraded)

    @_memoized
    def delivered(self) -> Term:
        """The packet reaches the endpoint this outcome picked (not lost on the way: ``cni-hairpin-off``)."""
        return self.ops.and_(self.decision.delivered, self.ops.not_(self.pick(self.decision.lost)))

    @_memoized
    def endpoint_on_handling_node(self) -> Term:
        return self.ops.eq(self.pick([e.node for e in self.situation.endpoints]), self.situation.handling_node)

    @_memoized
    def client_ip_kept(self) -> Term:
        return self.ops.and_(
            self.ops.not_(self.pick(self.decision.masqueraded)), self.ops.not_(self.decision.lb_rewrote_source)
        )

    @_memoized
    def proxy_header(self) -> Term:
        """The pod receives a PROXY protocol header (rule lb-proxy-protocol)."""
        return self.decision.proxy_header

    @_memoized
    def masquerade_leaves_by(self, interface: Interface) -> Term:
        """The packet was masqueraded on leaving by ``interface``: the pod sees that interface's address."""
        return self.ops.and_(
            self.pick(self.decision.masqueraded), self.ops.eq(self.pick(self.decision.snat_interface), interface)
        )

    @_memoized
    def endpoint_is_client(self) -> Term:
        return self.pick([e.is_client for e in self.situation.endpoints])

    @_memoized
    def reply_ok(self) -> Term:
        return self.pick(self.decision.reply_ok)

    @_memoized
    def dropped_as(self, kind: DropKind) -> Term:
        """The packet is not delivered, in this way (DROP: the client times out; REJECT: refused). A packet
        lost on the bridge after DNAT (``cni-hairpin-off``) times out like a DROP."""
        lost = self.ops.and_(self.ops.eq(kind, DropKind.DROP), self.decision.delivered, self.pick(self.decision.lost))
        return self.ops.or_(self.ops.eq(self.decision.drop_kind, kind), lost)

    @_memoized
    def masquerade_all(self) -> Term:
        return self.situation.masquerade_all

    @_memoized
    def pod_traffic_detected(self) -> Term:
        """kube-proxy's LocalTrafficDetector counts the source as pod traffic."""
        return self.ops.and_(self.situation.has_detector, self.situation.src_in_cluster_cidr)

    @_memoized
    def health_check_fails_here(self) -> Term:
        """The Service has a healthCheckNodePort and it answers 503 on the handling node."""
        return self.ops.and_(self.decision.health_check_applies, self.ops.not_(self.decision.health_check_ok))
