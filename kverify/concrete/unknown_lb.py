"""A load balancer known only by a hostname (AWS ELB/NLB): its address is unknown, its flows are not.

kube-proxy writes no rule for an ingress entry without an IP (``pkg/proxy/serviceport.go``
``newBaseServiceInfo`` reads ``ingress.IP`` only), so the address a client resolves never meets a
proxy rule. What reaches the nodes is what the load balancer sends them: with instance targets, the
Service's node port on the node it picks (kubernetes-sigs/aws-load-balancer-controller
``pkg/service/model_build_target_group.go``: instance targets are registered on ``port.NodePort``;
kubernetes/cloud-provider-aws registers the node ports likewise). An external client's flow through
such a load balancer is therefore decided as the node-port flow the load balancer sends on, to the
nodes the load balancer profile may pick (rule ``lb-health-checked`` and its siblings). With IP
targets the load balancer sends to pod IPs directly, as for any ``ip-target`` load balancer.

In-cluster clients resolve the hostname and leave the cluster to reach the load balancer; that path
(the node's egress SNAT, the cloud's hairpin) is not modelled, and says so.
"""

from __future__ import annotations

import attrs

from kverify.errors import InputError, Problem
from kverify.model import ClientKind, Cluster, Destination, Flow, LoadBalancerProfile, Service
from kverify.model.enums import POD_TARGET_PROFILES, TO_LOAD_BALANCER, Dataplane
from kverify.results import Hop, Outcome
from kverify.semantics import lb_profiles
from kverify.semantics.ops import CONCRETE


def hostname_only(service: Service) -> bool:
    """The Service's load balancer has a hostname and no IP (``status.loadBalancer.ingress``)."""
    ingress = service.load_balancer_ingress
    return bool(ingress) and not any(i.ip for i in ingress) and any(i.hostname for i in ingress)


def node_port_flow(cluster: Cluster, flow: Flow, service: Service) -> Flow | None:
    """The flow the load balancer sends on to a node port, for an external flow through a load
    balancer known only by its hostname; ``None`` for every other flow (and for IP targets)."""
    if flow.destination is not TO_LOAD_BALANCER or not hostname_only(service):
        return None
    if flow.client is not ClientKind.EXTERNAL:
        raise InputError(
            Problem(
                f"Service {service.key}'s load balancer is known only as {_hostname(service)}: in-cluster clients "
                "leave the cluster to reach it, which kverify does not model (external clients it does)",
                field="--from",
            )
        )
    if cluster.load_balancer_for(service) in POD_TARGET_PROFILES:
        return None
    return attrs.evolve(flow, destination=Destination.NODE_PORT, dst_ip=None)


def through_load_balancer(outcome: Outcome, flow: Flow, service: Service) -> Outcome:
    """The node-port outcome with the load balancer's leg in front of it."""
    if not outcome.hops:
        return outcome
    first = outcome.hops[0]
    port = f":{flow.port}" if flow.port else ""
    hops = (
        Hop(at=first.at, to="load-balancer", src=first.src, dst=f"{_hostname(service)}{port}"),
        attrs.evolve(
            first,
            at="load-balancer",
            note=f"the load balancer (known only as {_hostname(service)}) sends to {first.to}'s node port",
        ),
        *outcome.hops[1:],
    )
    return attrs.evolve(outcome, hops=hops)


#: Hint reasons that name an NLB: it keeps the client's address (instance targets: the AWS LBC's
#: ``buildPreserveClientIPFlag`` defaults ``preserve_client_ip`` to true; IP targets do not reach nodes).
_NLB_REASONS = (
    "from annotation service.beta.kubernetes.io/aws-load-balancer-nlb-target-type",
    "from annotation service.beta.kubernetes.io/aws-load-balancer-type: nlb",
    "from annotation service.beta.kubernetes.io/aws-load-balancer-type: external",
    "from spec.loadBalancerClass: service.k8s.aws/nlb",
)


def source_unknown(cluster: Cluster, flow: Flow) -> str | None:
    """Why the client address a pod sees is unknown for this flow, if it is: a load balancer known
    only by hostname that is not known to be an NLB may be a proxy (a classic ELB terminates TCP and
    connects from its own address), which kverify does not model."""
    service = cluster.service(flow.service)
    if service is None or flow.destination is not Destination.LOAD_BALANCER or not hostname_only(service):
        return None
    if service.load_balancer_hint_reason.startswith(_NLB_REASONS):
        return None
    return (
        f"the load balancer is known only as {_hostname(service)} and not as an NLB: a proxying load balancer "
        "(a classic ELB) connects from its own address, which is not modelled"
    )


def hostname(service: Service) -> str:
    """The load balancer's hostname (the Service has one: :func:`hostname_only`)."""
    return _hostname(service)


def _hostname(service: Service) -> str:
    return next(i.hostname for i in service.load_balancer_ingress if i.hostname)


def unmodelled_reason(profile: LoadBalancerProfile, dataplane: Dataplane) -> str | None:
    """Why ``profile`` in front of ``dataplane`` is not modelled (``None`` when it is)."""
    if lb_profiles.modelled_with(CONCRETE, dataplane, profile):
        return None
    if profile is LoadBalancerProfile.K3S_SERVICELB:
        return (
            f"k3s ServiceLB on {dataplane.spelling}: whether the proxy or the svclb pod's hostPort DNAT sees a packet "
            "to a listed node IP first is not determined by the sources read (rule lb-k3s-servicelb-kube-proxy-first)"
        )
    return (
        f"Cilium L2 announcements need Cilium's kube-proxy replacement, not {dataplane.spelling} "
        "(rule lb-cilium-l2-leader)"
    )
