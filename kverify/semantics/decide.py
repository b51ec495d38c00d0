"""The whole decision for one flow at one handling node, composed from the rules.

:func:`decide` is the single definition both engines interpret: the executable model reads the
result as Python values, the Z3 encoding as terms.
"""

from __future__ import annotations

from typing import Any

import attrs

from kverify.model.enums import POD_TARGET_PROFILES, ClientKind, Destination, DropKind, ReplyPath
from kverify.semantics import cni, delivery, lb_profiles, nat, nftables_nodeports, reply
from kverify.semantics.endpoints import ready
from kverify.semantics.health import health_check_passes, needs_health_check
from kverify.semantics.ops import Ops
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import Situation

Term = Any
NOT_DROPPED = 0


@attrs.frozen(kw_only=True)
class Decision:
    """What the proxy does with the packet; per-endpoint tuples follow ``Situation.endpoints``."""

    delivered: Term
    drop_kind: Term  # NOT_DROPPED or a DropKind value
    chosen: tuple[Term, ...]  # the endpoints the packet may be DNATed to
    masqueraded: tuple[Term, ...]  # the node SNATed the packet
    #: The Interface a masqueraded packet leaves the handling node by (its address is the source the pod sees).
    snat_interface: tuple[Term, ...]
    #: DNATed to this endpoint but lost on the way (a pod reaching itself over a bridge without hairpin).
    lost: tuple[Term, ...]
    lb_rewrote_source: Term  # the load balancer, not a node, replaced the client's address
    proxy_header: Term  # the packet reaches the pod with a PROXY protocol header from the load balancer
    reply_path: tuple[Term, ...]
    reply_ok: tuple[Term, ...]
    uses_local_set: Term
    health_check_served: Term
    health_check_applies: Term  # the Service has a healthCheckNodePort (eTP Local LoadBalancer)
    health_check_ok: Term


@rule(
    "ip-target-lb",
    title="An IP-target load balancer (e.g. AWS NLB target-type ip) sends straight to Ready pod IPs, "
    "bypassing nodes and kube-proxy (and so both traffic policies).",
    source="kubernetes-sigs/aws-load-balancer-controller docs/guide/service/nlb.md (target type ip); "
    "docs/deploy/pod_readiness_gate.md",
    since="AWS LBC v2.0",
)
def ip_target_endpoints(ops: Ops, s: Situation) -> tuple[Term, ...]:
    return tuple(ready(ops, e) for e in s.endpoints)


@rule(
    "ip-target-lb-source-ranges",
    title="An IP-target load balancer enforces loadBalancerSourceRanges itself (security-group rules): a client "
    "outside them never reaches a pod.",
    source="kubernetes-sigs/aws-load-balancer-controller docs/guide/service/annotations.md 'Access control' "
    "(spec.loadBalancerSourceRanges -> security group inbound rules); docs/deploy/security_groups.md",
    since="AWS LBC v2.0",
)
def ip_target_blocks(ops: Ops, s: Situation) -> Term:
    return ops.not_(s.src_allowed_by_ranges)


def via_ip_target(ops: Ops, s: Situation) -> Term:
    """External traffic to the LoadBalancer IP, sent by an IP-target LB straight to pods."""
    return ops.and_(
        ops.or_(*(ops.eq(s.load_balancer, p) for p in POD_TARGET_PROFILES)),
        ops.eq(s.destination, Destination.LOAD_BALANCER),
        ops.eq(s.client, ClientKind.EXTERNAL),
    )


def decide(ops: Ops, s: Situation) -> Decision:
    """Apply the rule table to one flow at one handling node."""
    direct = via_ip_target(ops, s)
    pods = ip_target_endpoints(ops, s)
    captured = delivery.intercepted(ops, s)
    filtered = delivery.filtered(ops, s)
    rejected = delivery.rejected(ops, s)
    chosen = delivery.chosen_endpoints(ops, s)
    no_local = delivery.drops_no_local(ops, s, chosen)
    is_health_check = ops.eq(s.destination, Destination.HEALTH_CHECK_NODE_PORT)
    hc_served = ops.and_(is_health_check, needs_health_check(ops, s))

    drop_kind = ops.ite(
        is_health_check,
        ops.ite(hc_served, NOT_DROPPED, DropKind.NOT_INTERCEPTED),
        ops.ite(
            ops.not_(captured),
            DropKind.NOT_INTERCEPTED,
            ops.ite(
                filtered,
                DropKind.DROP,
                ops.ite(
                    rejected,
                    DropKind.REJECT,
                    ops.ite(
                        ops.or_(
                            no_local,
                            delivery.nftables_pre_dnat_drop(ops, s),
                            nftables_nodeports.output_drop(ops, s),
                            delivery.cilium_no_backend_dropped(ops, s),
                        ),
                        ops.ite(
                            delivery.no_local_marked_only(ops, s, chosen),
                            DropKind.NOT_INTERCEPTED,
                            ops.ite(
                                ops.or_(
                                    delivery.cilium_rejects_no_backend(ops, s), delivery.ipvs_empty_rejects(ops, s)
                                ),
                                DropKind.REJECT,
                                DropKind.DROP,
                            ),
                        ),
                        NOT_DROPPED,
                    ),
                ),
            ),
        ),
    )
    direct_drop = ops.or_(ip_target_blocks(ops, s), ops.not_(ops.any_(pods)))
    drop_kind = ops.ite(direct, ops.ite(direct_drop, DropKind.DROP, NOT_DROPPED), drop_kind)
    chosen = tuple(ops.ite(direct, p, c) for p, c in zip(pods, chosen, strict=True))
    delivered = ops.and_(ops.not_(is_health_check), ops.eq(drop_kind, NOT_DROPPED))
    request = nat.kube_proxy_masquerade(ops, s)  # the same for every endpoint: once, not per endpoint
    masq = tuple(ops.and_(ops.not_(direct), nat.masqueraded_given(ops, s, e, request)) for e in s.endpoints)
    paths = tuple(
        ops.ite(direct, ReplyPath.FROM_LOAD_BALANCER, reply.reply_path(ops, s, e, m))
        for e, m in zip(s.endpoints, masq, strict=True)
    )
    return Decision(
        delivered=delivered,
        drop_kind=drop_kind,
        chosen=tuple(ops.and_(delivered, c) for c in chosen),
        masqueraded=masq,
        snat_interface=tuple(cni.masquerade_interface(ops, s, e) for e in s.endpoints),
        lost=tuple(ops.and_(ops.not_(direct), cni.hairpin_lost(ops, s, e)) for e in s.endpoints),
        lb_rewrote_source=lb_profiles.lb_rewrites_source(ops, s),
        proxy_header=lb_profiles.proxy_header(ops, s, delivered),
        reply_path=paths,
        reply_ok=tuple(ops.not_(ops.eq(p, ReplyPath.DIRECT_FROM_ENDPOINT_NODE)) for p in paths),
        uses_local_set=delivery.uses_local_set(ops, s),
        health_check_served=hc_served,
        health_check_applies=needs_health_check(ops, s),
        health_check_ok=health_check_passes(ops, s, s.handling_node),
    )
