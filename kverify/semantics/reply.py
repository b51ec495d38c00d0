"""How the reply to a delivered request returns, and whether the client accepts it."""

from __future__ import annotations

from kverify.model.enums import ClientKind, Dataplane, Destination, ReplyPath
from kverify.semantics.endpoints import is_local
from kverify.semantics.ops import Ops, Term
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import EndpointView, Situation


@rule(
    "ipvs-host-vip-source",
    title="ipvs: a host-network process reaching a LoadBalancer IP or externalIP (bound on kube-ipvs0 on every "
    "node) takes that VIP as its source; unmasqueraded (eTP Local), a remote pod's reply goes to the VIP on "
    "the pod's own node and is lost.",
    source="kubernetes/kubernetes#93456 (maintainer, 2025-04-10: 'not been fixed'); PR #97081 description "
    "('access from the main netns ... will fail'); pkg/proxy/ipvs/proxier.go (VIPs bound to kube-ipvs0)",
    since="v1.21",
    dataplanes="ipvs",
)
def ipvs_host_vip_source(ops: Ops, s: Situation) -> Term:
    return ops.and_(
        ops.eq(s.dataplane, Dataplane.IPVS),
        ops.eq(s.client, ClientKind.NODE),
        ops.eq(s.client_node, s.handling_node),
        ops.or_(ops.eq(s.destination, Destination.LOAD_BALANCER), ops.eq(s.destination, Destination.EXTERNAL_IP)),
    )


@rule(
    "reply-path",
    title="The reply is un-NATed only where the request was translated: it passes there if the request was "
    "masqueraded, the endpoint is on that node, or the client is; otherwise it leaves the endpoint's node "
    "directly, with the pod's IP as source, and the client drops it (Cilium DSR instead rewrites it at the "
    "backend).",
    source="kubernetes.io/docs/tutorials/services/source-ip/ ('Source IP for Services with Type=NodePort'); "
    "netfilter conntrack reverse NAT; "
    "cilium/cilium Documentation/network/kubernetes/kubeproxy-free.rst 'Direct Server Return (DSR)'",
    since="v1.5",
)
def reply_path(ops: Ops, s: Situation, endpoint: EndpointView, masqueraded: Term) -> Term:
    through_translator = ops.or_(
        masqueraded,
        is_local(ops, endpoint, s.handling_node),
        ops.and_(ops.eq(s.client_node, s.handling_node), ops.not_(ipvs_host_vip_source(ops, s))),
    )
    dsr = ops.and_(ops.eq(s.dataplane, Dataplane.CILIUM_DSR), ops.eq(s.client, ClientKind.EXTERNAL))
    return ops.ite(
        through_translator,
        ReplyPath.VIA_TRANSLATING_NODE,
        ops.ite(dsr, ReplyPath.DIRECT_SERVER_RETURN, ReplyPath.DIRECT_FROM_ENDPOINT_NODE),
    )
