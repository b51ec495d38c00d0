"""Exported manifests (counterexamples are shown this way) load back into the same cluster."""

from __future__ import annotations

from pathlib import Path

import attrs
from hypothesis import given

from kverify.load import load_manifests, to_cluster
from kverify.load.export import manifests
from kverify.model import Cluster, ServiceType, TrafficPolicy
from kverify.testing.strategies import clusters


def _comparable(cluster: Cluster) -> Cluster:
    """Loading fills endpoint ports from the slice; compare what routing reads."""
    services = []
    for service in cluster.services:
        endpoints = tuple(sorted((attrs.evolve(e, ports=()) for e in service.endpoints), key=lambda e: e.ip))
        # The PROXY protocol / client-IP annotations written for the LB name an AWS LB, so loading hints at one;
        # the exporter's caller passes the profile explicitly, which overrides any hint.
        service = attrs.evolve(service, endpoints=endpoints, load_balancer_hint=None, load_balancer_hint_reason="")
        if service.type is ServiceType.CLUSTER_IP and not service.external_ips:
            # Not written: the API server refuses externalTrafficPolicy on a Service nothing outside the
            # cluster reaches, and kube-proxy ignores it there (rule external-policy-local).
            service = attrs.evolve(service, external_traffic_policy=TrafficPolicy.CLUSTER)
        services.append(service)
    return attrs.evolve(cluster, services=tuple(services))


@given(clusters(unknown_node_endpoints=False))
def test_exported_manifests_load_back_to_the_same_cluster(tmp_path_factory, cluster: Cluster) -> None:  # type: ignore[no-untyped-def]
    path: Path = tmp_path_factory.mktemp("export") / "cluster.yaml"
    path.write_text(manifests(cluster))
    loaded = to_cluster(load_manifests([path]), proxy=cluster.proxy, load_balancer=cluster.load_balancer)
    # The MetalLB release is the environment's, like the proxy: the caller passes it, manifests do not carry it.
    loaded = attrs.evolve(loaded, metallb_version=cluster.metallb_version)
    assert _comparable(loaded) == _comparable(cluster)
