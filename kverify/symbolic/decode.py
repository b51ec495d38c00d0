"""Turn a Z3 model of the universe into concrete model values that realise it.

Addresses are chosen so that the concrete classifier (``kverify.concrete.classify``) gives exactly
the answers the model chose for the abstracted inputs; ``kverify.prove.run`` then replays the result
through the executable model.
"""

from __future__ import annotations

from typing import Any

import attrs
import z3

from kverify.model import (
    ClientKind,
    Cluster,
    Cni,
    Dataplane,
    Destination,
    Endpoint,
    Flow,
    IPMode,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.model.cilium import CiliumSettings
from kverify.model.metallb import EXAMPLE as METALLB_EXAMPLE
from kverify.model.versions import gate_defaults
from kverify.model.workload import EXCLUDE_FROM_LB_LABEL
from kverify.semantics.vocabulary import LB_LABEL_FALSE, LB_LABEL_OTHER
from kverify.symbolic.universe import FlowInputs, Universe

SERVICE = "default/web"
CLUSTER_IP = "172.30.0.10"
VIP_INGRESS = "192.0.2.10"
PROXY_INGRESS = "192.0.2.20"
EXTERNAL_IP = "198.51.100.20"
NOT_CLIENT_RANGE = "198.18.0.0/15"


@attrs.frozen(kw_only=True)
class Decoded:
    """A concrete counterexample: the cluster, the flow, and which outcome the solver picked."""

    cluster: Cluster
    flow: Flow
    handling_node: str | None
    endpoint_ip: str | None


def _int(model: z3.ModelRef, term: Any) -> int:
    return model.eval(term, model_completion=True).as_long()


def _bool(model: z3.ModelRef, term: Any) -> bool:
    return z3.is_true(model.eval(term, model_completion=True))


def lb_labels(label_class: int) -> tuple[tuple[str, str], ...]:
    """A node's labels carrying the LB exclusion label of this class (rule ``lb-exclude-label``)."""
    value = {LB_LABEL_FALSE: "false", LB_LABEL_OTHER: "true"}.get(label_class)
    return () if value is None else ((EXCLUDE_FROM_LB_LABEL, value),)


def node_name(i: int) -> str:
    return f"node-{chr(ord('a') + i)}" if i < 26 else f"node-{i}"


def decode(u: Universe, model: z3.ModelRef) -> Decoded:
    n = _int(model, u.n_nodes)
    m = _int(model, u.n_endpoints)
    h = _int(model, u.handling_node)
    nodes = []
    for i in range(n):
        zone = _int(model, u.node_zone[i])
        nodes.append(
            Node(
                name=node_name(i),
                addresses=(f"192.168.0.{10 + i}", f"192.168.100.{10 + i}"),
                zone=f"zone-{zone}" if zone >= 0 else None,
                pod_cidrs=(f"10.244.{i}.0/24",),
                draining=_bool(model, u.node_draining[i]),
                labels=lb_labels(_int(model, u.node_lb_label[i])),
            )
        )
    endpoints = []
    client_ip: str | None = None
    for j in range(m):
        where = _int(model, u.ep_node[j])
        ip = f"10.244.{where}.{10 + j}" if where >= 0 else f"10.250.0.{10 + j}"
        zone_hints = [
            f"zone-{z}" if z < u.zones else "zone-elsewhere" for z, b in enumerate(u.ep_zone_hint[j]) if _bool(model, b)
        ]
        node_hints = [
            node_name(i) if i < u.max_nodes else "node-elsewhere"
            for i, b in enumerate(u.ep_node_hint[j])
            if _bool(model, b)
        ]
        endpoints.append(
            Endpoint(
                ip=ip,
                node_name=node_name(where) if where >= 0 else None,
                ready=_bool(model, u.ep_ready[j]),
                serving=_bool(model, u.ep_serving[j]),
                terminating=_bool(model, u.ep_terminating[j]),
                zone_hints=zone_hints,
                node_hints=node_hints,
                pod=f"default/web-{j}",
            )
        )
        if _bool(model, u.ep_is_client[j]):
            client_ip = ip
    return assemble(
        u,
        model,
        nodes,
        endpoints,
        client_ip,
        handling=h,
        client_node=_int(model, u.client_node),
        choice=_int(model, u.endpoint_choice),
    )


def assemble(
    u: FlowInputs,
    model: z3.ModelRef,
    nodes: list[Node],
    endpoints: list[Endpoint],
    client_ip: str | None,
    *,
    handling: int,
    client_node: int,
    choice: int,
) -> Decoded:
    """The Service, proxy and flow around given nodes and endpoints (``client_node`` indexes ``nodes``)."""
    h = handling
    dataplane = Dataplane(_int(model, u.dataplane))
    client = ClientKind(_int(model, u.client))
    destination = Destination(_int(model, u.destination))
    service_type = ServiceType(_int(model, u.service_type))
    captured = _bool(model, u.address_captured)
    in_cidr = _bool(model, u.src_in_cluster_cidr)
    # A pod masqueraded by its CNI on the way to another node: an ordinary pod address, which the
    # handling node sees as its node's (rule cni-pod-to-node-snat).
    cni_snat = _bool(model, u.pod_snat_by_cni())
    if cni_snat:
        in_cidr = True
    if client_ip is None:
        if client is ClientKind.NODE:
            client_ip = nodes[client_node].addresses[0]
        elif client is ClientKind.POD:
            client_ip = "10.250.255.1" if in_cidr else "100.64.0.1"
        else:
            client_ip = "10.251.2.2" if in_cidr else "203.0.113.10"
    minor = _int(model, u.k8s_minor)
    defaults = gate_defaults(minor)
    gates = tuple((name, value) for name, term in u.gates.items() if (value := _bool(model, term)) != defaults[name])
    ingress = []
    if _bool(model, u.has_vip_ingress):
        ingress.append(LoadBalancerIngress(ip=VIP_INGRESS))
    if _bool(model, u.dst_status_ip_mode_proxy):
        ingress.append(LoadBalancerIngress(ip=PROXY_INGRESS, ip_mode=IPMode.PROXY))
    ranges: tuple[str, ...] = ()
    if _bool(model, u.has_source_ranges):
        ranges = (NOT_CLIENT_RANGE,) + ((f"{client_ip}/32",) if _bool(model, u.src_allowed_by_ranges) else ())
    etp_local = _bool(model, u.etp_local)
    profile = LoadBalancerProfile(_int(model, u.load_balancer))
    nlb = profile in (LoadBalancerProfile.AWS_NLB_INSTANCE, LoadBalancerProfile.AWS_NLB_IP)
    service = Service(
        namespace="default",
        name="web",
        type=service_type,
        cluster_ips=(CLUSTER_IP,),
        ports=(
            ServicePort(name="http", port=80, node_port=30080 if service_type is not ServiceType.CLUSTER_IP else None),
        ),
        external_traffic_policy=TrafficPolicy.LOCAL if etp_local else TrafficPolicy.CLUSTER,
        internal_traffic_policy=TrafficPolicy.LOCAL if _bool(model, u.itp_local) else TrafficPolicy.CLUSTER,
        external_ips=(EXTERNAL_IP,) if _bool(model, u.has_external_ips) else (),
        load_balancer_ingress=tuple(ingress),
        load_balancer_source_ranges=ranges,
        health_check_node_port=32000 if service_type is ServiceType.LOAD_BALANCER and etp_local else None,
        topology_annotation=("service.kubernetes.io/topology-aware-hints", "auto")
        if _bool(model, u.hints_annotation)
        else None,
        endpoints=tuple(endpoints),
        proxy_protocol=_bool(model, u.proxy_protocol),
        lb_preserve_client_ip=_bool(model, u.lb_preserves_client_ip) if nlb else None,
    )
    node_port_addresses: tuple[str, ...] = ()
    if destination is Destination.NODE_PORT and not captured:
        node_port_addresses = tuple(f"{node.addresses[0]}/32" for node in nodes)
    cluster = Cluster(
        nodes=tuple(nodes),
        services=(service,),
        proxy=ProxyConfig(
            kubernetes_version=minor,
            feature_gates=gates,
            cilium=CiliumSettings(
                version=_int(model, u.cilium_minor),
                external_cluster_ip=_bool(model, u.cilium_external_cluster_ip),
                no_backend_response="reject" if _bool(model, u.cilium_no_backend_reject) else "drop",
                # The option reproduces the v1.18.0-v1.18.5 default as well.
                source_range_all_types=_bool(model, u.cilium_source_ranges_all_types),
                socket_lb_host_namespace_only=not _bool(model, u.cilium_pod_socket_lb),
            ),
            dataplane=dataplane,
            # A pod outside the cluster CIDR: give the cluster a CIDR none of our addresses are in.
            cluster_cidrs=("10.0.0.0/8",) if in_cidr or client is not ClientKind.POD else ("172.16.0.0/16",),
            local_traffic_detector=_bool(model, u.has_detector),
            masquerade_all=_bool(model, u.masquerade_all),
            node_port_addresses=node_port_addresses,
            cni=Cni(_int(model, u.cni)),
        ),
        load_balancer=profile,
        metallb_version=METALLB_EXAMPLE[_int(model, u.metallb_counts)],
    )
    dst_ip = {
        Destination.CLUSTER_IP: CLUSTER_IP,
        Destination.LOAD_BALANCER: PROXY_INGRESS if _bool(model, u.dst_status_ip_mode_proxy) else VIP_INGRESS,
        Destination.EXTERNAL_IP: EXTERNAL_IP,
        Destination.HEALTH_CHECK_NODE_PORT: nodes[h].addresses[0],
        Destination.NODE_PORT: "127.0.0.1"
        if _bool(model, u.dst_is_localhost)
        else nodes[h].addresses[0 if captured else 1],
    }[destination]
    flow = Flow(
        service=SERVICE,
        client=client,
        destination=destination,
        client_ip=client_ip,
        node=nodes[h].name if client is ClientKind.EXTERNAL else nodes[client_node].name,
        dst_ip=dst_ip,
        port=80,
    )
    return Decoded(
        cluster=cluster,
        flow=flow,
        handling_node=nodes[h].name,
        endpoint_ip=endpoints[choice].ip if choice < len(endpoints) else None,
    )
