"""Write a Cluster back as Kubernetes manifests (Node, Service, EndpointSlice), e.g. for a counterexample."""

from __future__ import annotations

import ipaddress
from typing import Any

from kverify.load.lb_hints import AWS_PROXY_PROTOCOL, AWS_TG_ATTRIBUTES
from kverify.load.services import ALLOCATED_ANNOTATION
from kverify.model import Cluster, IPMode, Service, ServiceType


def _service(service: Service) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "type": service.type.spelling,
        "clusterIP": service.cluster_ips[0] if service.cluster_ips else "None",
        **({"clusterIPs": list(service.cluster_ips)} if len(service.cluster_ips) > 1 else {}),
        "ports": [
            {
                k: v
                for k, v in {
                    "name": p.name or None,
                    "port": p.port,
                    "protocol": p.protocol.spelling,
                    "nodePort": p.node_port,
                    "targetPort": p.target_port,
                }.items()
                if v is not None
            }
            for p in service.ports
        ],
    }
    if service.cluster_ips:
        families = [f"IPv{ipaddress.ip_address(ip).version}" for ip in service.cluster_ips]
        spec["ipFamilies"] = families
        spec["ipFamilyPolicy"] = "RequireDualStack" if len(families) > 1 else "SingleStack"
    if service.selector:
        spec["selector"] = dict(service.selector)
    if service.publish_not_ready_addresses:
        spec["publishNotReadyAddresses"] = True
    if service.type is not ServiceType.CLUSTER_IP or service.external_ips:
        # The API server refuses it elsewhere (validateServiceExternalTrafficPolicy); kube-proxy ignores it there.
        spec["externalTrafficPolicy"] = service.external_traffic_policy.spelling
    if service.type is ServiceType.LOAD_BALANCER:
        spec["allocateLoadBalancerNodePorts"] = any(p.node_port for p in service.ports)
    spec["sessionAffinity"] = service.session_affinity.spelling
    if service.traffic_distribution:
        spec["trafficDistribution"] = service.traffic_distribution
    spec["internalTrafficPolicy"] = service.internal_traffic_policy.spelling
    if service.external_ips:
        spec["externalIPs"] = list(service.external_ips)
    if service.load_balancer_source_ranges:
        spec["loadBalancerSourceRanges"] = list(service.load_balancer_source_ranges)
    if service.health_check_node_port:
        spec["healthCheckNodePort"] = service.health_check_node_port
    metadata: dict[str, Any] = {"name": service.name, "namespace": service.namespace}
    if service.allocated:
        # The values are real in this file, but were only known after apply in the input.
        metadata["annotations"] = {ALLOCATED_ANNOTATION: ",".join(sorted(service.allocated))}
    if service.topology_annotation:
        key, value = service.topology_annotation
        metadata.setdefault("annotations", {})[key] = value
    # The load balancer's PROXY protocol and client IP preservation, as the AWS LBC reads them (lb_hints).
    if service.proxy_protocol:
        metadata.setdefault("annotations", {})[AWS_PROXY_PROTOCOL] = "*"
    if service.lb_preserve_client_ip is not None:
        value = "true" if service.lb_preserve_client_ip else "false"
        metadata.setdefault("annotations", {})[AWS_TG_ATTRIBUTES] = f"preserve_client_ip.enabled={value}"
    document: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
    if service.type is ServiceType.LOAD_BALANCER and not service.load_balancer_ingress:
        document["status"] = {"loadBalancer": {}}  # provisioning: nothing to allocate when read back
    if service.load_balancer_ingress:
        document["status"] = {
            "loadBalancer": {
                "ingress": [
                    {
                        **({"ip": i.ip} if i.ip else {}),
                        **({"hostname": i.hostname} if i.hostname else {}),
                        **({"ipMode": "Proxy"} if i.ip_mode is IPMode.PROXY else {}),
                    }
                    for i in service.load_balancer_ingress
                ]
            }
        }
    return document


def _endpoint_slices(service: Service) -> list[dict[str, Any]]:
    """One EndpointSlice per distinct set of endpoint ports (an endpoint serving only some ports)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for e in service.endpoints:
        groups.setdefault(tuple(e.ports), []).append(e)
    if not groups:
        groups[()] = []
    slices = []
    for number, (ports, members) in enumerate(groups.items()):
        endpoints = []
        for e in members:
            item: dict[str, Any] = {
                "addresses": [e.ip],
                "conditions": {"ready": e.ready, "serving": e.serving, "terminating": e.terminating},
            }
            if e.node_name:
                item["nodeName"] = e.node_name
            hints: dict[str, Any] = {}
            if e.zone_hints:
                hints["forZones"] = [{"name": z} for z in sorted(e.zone_hints)]
            if e.node_hints:
                hints["forNodes"] = [{"name": n} for n in sorted(e.node_hints)]
            if hints:
                item["hints"] = hints
            if e.pod:
                namespace, _, name = e.pod.partition("/")
                item["targetRef"] = {"kind": "Pod", "namespace": namespace, "name": name}
            endpoints.append(item)
        slice_ports = (
            [{"name": p.name, "port": p.port, "protocol": p.protocol.spelling} for p in ports]
            if ports
            else _slice_ports(service)
        )
        slices.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{service.name}-{number}",
                    "namespace": service.namespace,
                    "labels": {"kubernetes.io/service-name": service.name},
                },
                "addressType": "IPv6" if any(":" in e.ip for e in members) else "IPv4",
                "ports": slice_ports,
                "endpoints": endpoints,
            }
        )
    return slices


def _slice_ports(service: Service) -> list[dict[str, Any]]:
    """Ports for endpoints that serve every Service port: the Service's targetPorts."""
    ports: dict[tuple[str, str], int] = {}
    for p in service.ports:
        target = p.target_port if isinstance(p.target_port, int) else p.port
        ports.setdefault((p.name, p.protocol.spelling), target)
    return [{"name": name, "port": port, "protocol": protocol} for (name, protocol), port in ports.items()]


def manifests(cluster: Cluster) -> str:
    """The cluster as multi-document YAML that ``kverify.load.load_manifests`` reads back."""
    documents: list[dict[str, Any]] = []
    for node in cluster.nodes:
        metadata: dict[str, Any] = {"name": node.name}
        labels = dict(node.labels)
        if node.zone:
            labels["topology.kubernetes.io/zone"] = node.zone
        if labels:
            metadata["labels"] = labels
        document: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": metadata,
            "spec": {"podCIDRs": list(node.pod_cidrs)} if node.pod_cidrs else {},
            "status": {"addresses": [{"type": "InternalIP", "address": a} for a in node.addresses]},
        }
        taints = [{"key": t.key, **({"value": t.value} if t.value else {}), "effect": t.effect} for t in node.taints]
        if node.draining:
            taints.append({"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"})
        if taints:
            document["spec"]["taints"] = taints
        documents.append(document)
    for service in cluster.services:
        documents.append(_service(service))
        documents.extend(_endpoint_slices(service))
    import yaml  # here, not at the top: only written counterexamples need it, and it costs start-up time

    return yaml.safe_dump_all(documents, sort_keys=False)
