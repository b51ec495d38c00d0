"""Turn the transcribed Kubernetes test rows (FORMAT.md) into kverify model values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    Endpoint,
    Flow,
    IPMode,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Node,
    Protocol,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.model.cilium import parse_cilium_release, parse_helm_sets
from kverify.model.versions import parse_version

HERE = Path(__file__).parent


def load_rows(kind: str) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(HERE.glob("*.yaml")):
        rows.extend(r for r in yaml.safe_load(path.read_text()) if r["kind"] == kind)
    return rows


def endpoint(row: dict[str, Any]) -> Endpoint:
    return Endpoint(
        ip=row["ip"],
        node_name=row.get("node"),
        ready=row.get("ready", True),
        serving=row.get("serving", True),
        terminating=row.get("terminating", False),
        zone_hints=row.get("zone_hints") or (),
        node_hints=row.get("node_hints") or (),
    )


def service(row: dict[str, Any], endpoints: list[dict[str, Any]]) -> Service:
    return Service(
        namespace=row.get("namespace", "ns1"),
        name=row.get("name", "svc1"),
        type=ServiceType.parse(row.get("type", "ClusterIP")),
        cluster_ips=[row["cluster_ip"]] if row.get("cluster_ip") else [],
        ports=[
            ServicePort(
                name=p.get("name", ""),
                port=p["port"],
                protocol=Protocol.parse(p.get("protocol", "TCP")),
                node_port=p.get("node_port"),
                target_port=p.get("target_port"),
            )
            for p in row.get("ports", [])
        ],
        external_traffic_policy=TrafficPolicy.parse(row.get("external_traffic_policy", "Cluster")),
        internal_traffic_policy=TrafficPolicy.parse(row.get("internal_traffic_policy", "Cluster")),
        external_ips=row.get("external_ips") or (),
        load_balancer_ingress=[
            LoadBalancerIngress(ip=i["ip"], ip_mode=IPMode.parse(i.get("ip_mode", "VIP")))
            for i in row.get("load_balancer_ips") or ()
        ],
        load_balancer_source_ranges=row.get("load_balancer_source_ranges") or (),
        health_check_node_port=row.get("health_check_node_port"),
        topology_annotation=tuple(row["topology_annotation"]) if row.get("topology_annotation") else None,
        endpoints=[endpoint(e) for e in endpoints],
    )


def cluster(row: dict[str, Any]) -> Cluster:
    proxy = row.get("proxy") or {}
    if row["kind"] == "health-check":
        # The health-check rows adapt endpoints from tests that had no Service: give it an address.
        row = {**row, "service": {**row["service"], "cluster_ip": row["service"].get("cluster_ip") or "172.30.0.1"}}
    cidrs = proxy.get("cluster_cidrs", ["10.0.0.0/8"])
    dataplane = proxy.get("dataplane", "nftables")
    helm = ",".join(
        f"{key}={str(value).lower() if type(value) is bool else value}"
        for key, value in (row.get("cilium_helm") or {}).items()
    )
    minor, patch = parse_cilium_release(str(row.get("cilium_version", "1.19")))
    cilium, mode = parse_helm_sets(helm, minor, dataplane.removeprefix("cilium-"), patch)
    return Cluster(
        nodes=[Node(name=n["name"], addresses=n.get("addresses") or (), zone=n.get("zone")) for n in row["nodes"]],
        services=[service(row["service"], row.get("endpoints") or [])],
        proxy=ProxyConfig(
            dataplane=Dataplane.parse(
                dataplane if cilium.hybrid or not dataplane.startswith("cilium") else f"cilium-{mode}"
            ),
            cilium=cilium,
            cluster_cidrs=cidrs,
            local_traffic_detector=bool(cidrs),
            masquerade_all=proxy.get("masquerade_all", False),
            localhost_node_ports=proxy.get("localhost_node_ports", True),
            kubernetes_version=parse_version(str(row.get("kubernetes_version", "1.34"))),
            feature_gates=tuple((row.get("feature_gates") or {}).items()),
            node_port_addresses=proxy.get("node_port_addresses") or (),
        ),
        load_balancer=LoadBalancerProfile.parse(row.get("load_balancer", "no-health-check")),
    )


def flow(row: dict[str, Any]) -> Flow:
    f = row["flow"]
    svc = row["service"]
    return Flow(
        service=f"{svc.get('namespace', 'ns1')}/{svc.get('name', 'svc1')}",
        client=ClientKind.parse(f["from"]),
        destination=Destination.parse(f["to"]),
        client_ip=f.get("src_ip"),
        node=f.get("node"),
        dst_ip=f.get("dst_ip"),
        port=f.get("port"),
        protocol=Protocol.parse(f.get("protocol", "TCP")),
    )
