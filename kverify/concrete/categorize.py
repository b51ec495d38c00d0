"""kube-proxy's ``CategorizeEndpoints`` as a public function, for tests and explanations."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from kverify.concrete.classify import hints_annotation as hints_annotation_asks
from kverify.model import ClientKind, Dataplane, Destination, Endpoint, LoadBalancerProfile, Service, ServiceType
from kverify.model.versions import NEWEST, resolve_gates
from kverify.semantics.endpoints import any_usable, cluster_endpoints, local_endpoints
from kverify.semantics.ops import CONCRETE
from kverify.semantics.vocabulary import NO_NODE, NO_ZONE, EndpointView, NodeView, Situation


@attrs.frozen(kw_only=True)
class Categorized:
    """The endpoint sets of one service port on one node; ``None`` when the set is not used."""

    cluster: tuple[str, ...] | None
    local: tuple[str, ...] | None
    all: tuple[str, ...]
    has_any: bool


def categorize_endpoints(
    endpoints: Sequence[Endpoint],
    *,
    node_name: str,
    node_zone: str | None = None,
    internal_policy_local: bool = False,
    external_policy_local: bool = False,
    externally_accessible: bool = False,
    kubernetes_version: int = NEWEST,
    feature_gates: tuple[tuple[str, bool], ...] = (),
    hints_annotation: str | None = None,
) -> Categorized:
    """Split ``endpoints`` into kube-proxy's Cluster and Local sets as seen from ``node_name``.

    Mirrors ``UsesClusterEndpoints``/``UsesLocalEndpoints`` (``pkg/proxy/serviceport.go``): the
    Cluster set is computed unless iTP is Local on a service that is not externally accessible; the
    Local set only under iTP Local, or eTP Local on an externally accessible service.
    ``kubernetes_version``, ``feature_gates`` and ``hints_annotation`` (the value of the Service's
    ``service.kubernetes.io/topology-aware-hints`` annotation) select the version's behaviour.
    """
    gates = resolve_gates(kubernetes_version, feature_gates)
    annotated = Service(
        namespace="ns",
        name="svc",
        topology_annotation=None
        if hints_annotation is None
        else ("service.kubernetes.io/topology-aware-hints", hints_annotation),
    )
    zones: dict[str, int] = {}
    if node_zone:
        zones[node_zone] = 0
    names = {node_name: 0}
    views = tuple(
        EndpointView(
            node=0 if e.node_name == node_name else NO_NODE,
            ready=e.ready,
            serving=e.serving,
            terminating=e.terminating,
            zone_hints=frozenset(zones.setdefault(z, len(zones)) for z in e.zone_hints),
            has_zone_hints=bool(e.zone_hints),
            node_hints=frozenset(names.setdefault(n, len(names)) for n in e.node_hints),
            has_node_hints=bool(e.node_hints),
            is_client=False,
        )
        for e in endpoints
    )
    situation = Situation(
        dataplane=Dataplane.IPTABLES,
        load_balancer=LoadBalancerProfile.NO_HEALTH_CHECK,
        service_type=ServiceType.NODE_PORT if externally_accessible else ServiceType.CLUSTER_IP,
        etp_local_spec=external_policy_local,
        itp_local_spec=internal_policy_local,
        has_external_ips=False,
        has_node_port=externally_accessible,
        has_vip_ingress=False,
        has_detector=True,
        masquerade_all=False,
        client=ClientKind.POD,
        destination=Destination.CLUSTER_IP,
        client_node=0,
        handling_node=0,
        handling_zone=0 if node_zone else NO_ZONE,
        address_captured=True,
        dst_ip_mode_proxy=False,
        dst_is_localhost=False,
        src_in_cluster_cidr=True,
        src_allowed_by_ranges=True,
        endpoints=views,
        nodes=(NodeView(zone=0 if node_zone else NO_ZONE, draining=False),),
        k8s_minor=kubernetes_version,
        gate_terminating=gates["ProxyTerminatingEndpoints"],
        gate_zone_hints=gates["TopologyAwareHints"] or gates["ServiceTrafficDistribution"],
        gate_node_hints=gates["PreferSameTrafficDistribution"],
        gate_draining=gates["KubeProxyDrainingTerminatingNodes"],
        hints_annotation=hints_annotation_asks(annotated, kubernetes_version),
    )
    uses_cluster = not internal_policy_local or externally_accessible
    uses_local = internal_policy_local or (external_policy_local and externally_accessible)
    ips = [e.ip for e in endpoints]
    cluster = (
        tuple(ip for ip, c in zip(ips, cluster_endpoints(CONCRETE, situation), strict=True) if c)
        if uses_cluster
        else None
    )
    local = (
        tuple(ip for ip, c in zip(ips, local_endpoints(CONCRETE, situation, 0), strict=True) if c)
        if uses_local
        else None
    )
    union = tuple(dict.fromkeys((*(cluster or ()), *(local or ()))))
    return Categorized(cluster=cluster, local=local, all=union, has_any=bool(any_usable(CONCRETE, situation)))
