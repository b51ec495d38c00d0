"""What the shop relies on from the network, checked against its own manifests with kverify.

Run from examples/shop: ``pytest``. Each test names the belief it checks; a failure prints the
counterexample (outcome, hops, and a ``kverify trace`` command that reproduces it).
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest
from hypothesis import assume, given, settings

from kverify import ClientKind, Cluster, Dataplane, Destination, Flow, Outcome, TrafficPolicy
from kverify.testing import assert_holds, assert_refuted, flow_to, load_cluster, trace
from kverify.testing.strategies import clusters_and_flows

MANIFESTS = Path(__file__).resolve().parent.parent / "manifests"
#: The dataplanes the shop runs on (staging on nftables, production on Cilium).
DATAPLANES = ["iptables", "nftables", "cilium-snat", "cilium-dsr"]


@pytest.fixture(scope="module")
def shop() -> Cluster:
    return load_cluster(MANIFESTS, load_balancer="health-checked")


def delivered(outcome: Outcome) -> bool:
    return outcome.delivered


def keeps_client_ip(outcome: Outcome) -> bool:
    """Delivered, and the pod sees the shopper's own address (fraud scoring needs it)."""
    return outcome.delivered and not outcome.masqueraded


# -- the storefront -------------------------------------------------------------------------------


@pytest.mark.parametrize("dataplane", DATAPLANES)
def test_frontend_sees_every_shoppers_ip(shop: Cluster, dataplane: str) -> None:
    assert_holds(keeps_client_ip, cluster=shop, flow=flow_to("shop/frontend", "load-balancer"), dataplane=dataplane)


def test_frontend_is_only_sent_to_nodes_with_a_pod(shop: Cluster) -> None:
    result = trace(shop, flow_to("shop/frontend", "load-balancer"))
    assert [o.node for o in result] == ["node-a", "node-b"]  # the health check keeps node-c out


def test_frontend_needs_the_health_check(shop: Cluster) -> None:
    """Behind a load balancer without health checks, node-c drops a third of the shoppers."""
    dropped = assert_refuted(
        delivered, cluster=shop, flow=flow_to("shop/frontend", "load-balancer"), load_balancer="no-health-check"
    )
    assert [o.node for o in dropped] == ["node-c"]


@pytest.mark.parametrize("dataplane", DATAPLANES)
def test_our_frontend_design_holds_for_every_cluster(dataplane: str) -> None:
    """The library claim our design rests on, proved for all small clusters (not only ours)."""
    assert_holds("etp-local-health-checked-lb-delivers", dataplane=dataplane)


# -- services inside the cluster ------------------------------------------------------------------


def test_api_reaches_only_ready_pods_during_a_rollout(shop: Cluster) -> None:
    result = assert_holds(
        lambda o: o.delivered and o.endpoint_pod != "shop/api-5d8f6-ccccc",
        cluster=shop,
        flow=flow_to("shop/api", "cluster-ip", client="pod"),
    )
    assert {o.node for o in result} == {"node-a", "node-b", "node-c"}  # a client pod on every node


def test_cart_internal_policy_local_strands_pods_on_other_nodes(shop: Cluster) -> None:
    """A known problem, kept as a test so the fix (iTP Cluster, or a cart pod per node) shows up."""
    dropped = assert_refuted(delivered, cluster=shop, flow=flow_to("shop/cart", "cluster-ip", client="pod"))
    assert [o.node for o in dropped] == ["node-a", "node-c"]


def test_checkout_webhook_loses_the_providers_ip(shop: Cluster) -> None:
    """eTP Cluster SNATs the webhook: allow-listing the provider's IP in the app cannot work."""
    snat = assert_refuted(keeps_client_ip, cluster=shop, flow=flow_to("shop/checkout-webhook", "node-port"))
    assert {o.source_ip_seen for o in snat} == {"192.168.1.11", "192.168.1.12", "192.168.1.13"}


# -- our own property, over random clusters -------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    clusters_and_flows(dataplanes=[Dataplane.NFTABLES], clients=[ClientKind.POD], destinations=[Destination.CLUSTER_IP])
)
def test_pods_reach_a_cluster_ip_service_with_their_own_ip(pair: tuple[Cluster, Flow]) -> None:
    """On nftables, a pod calling a ClusterIP Service (iTP Cluster) that has a Ready endpoint for the
    port reaches an endpoint, which sees the pod's own IP: unless the pod calls itself (hairpin) or
    kube-proxy runs with --masquerade-all."""
    cluster, flow = pair
    # Pin what the property is about rather than filter for it (filtering most inputs is slow).
    service = attrs.evolve(cluster.services[0], internal_traffic_policy=TrafficPolicy.CLUSTER)
    proxy = attrs.evolve(cluster.proxy, masquerade_all=False)
    cluster = attrs.evolve(cluster, services=[service], proxy=proxy)
    port = service.port(flow.port) or service.ports[0]
    assume(any(e.ready and e.serves(port.name) for e in service.endpoints))
    assume(flow.client_ip not in {e.ip for e in service.endpoints})
    assert_holds(keeps_client_ip, cluster=cluster, flow=flow)
