"""How the reply to a delivered request returns, and whether the client accepts it."""

from __future__ import annotations

from kverify.model.enums import ClientKind, Dataplane, ReplyPath
from kverify.semantics.endpoints import is_local
from kverify.semantics.ops import Ops, Term
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import EndpointView, Situation


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
        ops.eq(s.client_node, s.handling_node),
    )
    dsr = ops.and_(ops.eq(s.dataplane, Dataplane.CILIUM_DSR), ops.eq(s.client, ClientKind.EXTERNAL))
    return ops.ite(
        through_translator,
        ReplyPath.VIA_TRANSLATING_NODE,
        ops.ite(dsr, ReplyPath.DIRECT_SERVER_RETURN, ReplyPath.DIRECT_FROM_ENDPOINT_NODE),
    )
