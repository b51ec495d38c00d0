"""Hypothesis strategies for kverify's model: small clusters with one Service, and flows to it.

Use them in property tests of your own rules or tooling::

    from hypothesis import given
    from kverify.concrete.route import route
    from kverify.testing.strategies import clusters_and_flows

    @given(clusters_and_flows(dataplanes=[Dataplane.NFTABLES]))
    def test_something(pair):
        cluster, flow = pair
        outcomes = route(cluster, flow)
        ...

Every strategy takes keyword-only arguments and checks them when it is called (not when it is first
drawn from), raising :class:`hypothesis.errors.InvalidArgument`. Generated values shrink towards
small, plain clusters: one node, no endpoints, a ``ClusterIP`` Service with Cluster policies, the
iptables dataplane and the ``health-checked`` load balancer.

Address plan (fixed so that examples read well and never collide):

========================  =====================================================
``192.168.0.{i+10}``      address of ``node-{i}``
``10.244.{i}.0/24``       pod CIDR of ``node-{i}``; its endpoints' IPs
``10.244.255.0/24``       IPs of endpoints without a (known) node
``10.250.0.0/16``         pod clients that are not endpoints
``172.30.0.0/16``         the Service's cluster IP
``198.51.100.0/24``       the Service's externalIPs
``192.0.2.0/24``          the Service's load balancer ingress IPs
``203.0.113.0/24``        external clients (``loadBalancerSourceRanges`` may admit
                          ``203.0.113.0/25``)
========================  =====================================================
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from kverify.model import (
    ClientKind,
    Cluster,
    Cni,
    Dataplane,
    Destination,
    Flow,
    LoadBalancerProfile,
    ServiceType,
)
from kverify.testing._clusters import SERVICE, UNKNOWN_NODE, ZONES, _check_members, clusters
from kverify.testing._flows import destinations_of, flows

__all__ = [
    "SERVICE",
    "UNKNOWN_NODE",
    "ZONES",
    "clusters",
    "clusters_and_flows",
    "destinations_of",
    "flows",
]


# --- both ------------------------------------------------------------------------------------


def clusters_and_flows(
    *,
    min_nodes: int = 1,
    max_nodes: int = 4,
    max_endpoints: int = 6,
    dataplanes: Iterable[Dataplane] | None = None,
    load_balancers: Iterable[LoadBalancerProfile] | None = None,
    service_types: Iterable[ServiceType] | None = None,
    zones: bool = True,
    hints: bool = True,
    unknown_node_endpoints: bool = True,
    kubernetes_versions: Iterable[int] | None = None,
    cnis: Iterable[Cni] | None = None,
    clients: Iterable[ClientKind] | None = None,
    destinations: Iterable[Destination] | None = None,
) -> st.SearchStrategy[tuple[Cluster, Flow]]:
    """Pairs ``(cluster, flow)``: a cluster from :func:`clusters` and a flow from :func:`flows`.

    Takes the arguments of both. When ``destinations`` is given, only clusters whose Service offers
    one of them are generated.
    """
    types = _check_members("service_types", service_types, ServiceType)
    kinds = _check_members("clients", clients, ClientKind)
    wanted = _check_members("destinations", destinations, Destination)
    # Only generate services of a type that may offer one of the wanted destinations.
    offering = {
        Destination.CLUSTER_IP: set(ServiceType),
        Destination.EXTERNAL_IP: set(ServiceType),
        Destination.NODE_PORT: {ServiceType.NODE_PORT, ServiceType.LOAD_BALANCER},
        Destination.LOAD_BALANCER: {ServiceType.LOAD_BALANCER},
        Destination.HEALTH_CHECK_NODE_PORT: {ServiceType.LOAD_BALANCER},
    }
    fitting = [t for t in types if any(t in offering[d] for d in wanted)]
    if not fitting:
        raise InvalidArgument(
            f"no service type among {[t.spelling for t in types]} offers destinations={[d.spelling for d in wanted]}"
        )
    cluster_strategy = clusters(
        min_nodes=min_nodes,
        max_nodes=max_nodes,
        max_endpoints=max_endpoints,
        dataplanes=dataplanes,
        load_balancers=load_balancers,
        service_types=fitting,
        zones=zones,
        hints=hints,
        unknown_node_endpoints=unknown_node_endpoints,
        kubernetes_versions=kubernetes_versions,
        cnis=cnis,
    )
    if set(wanted) != set(Destination):
        cluster_strategy = cluster_strategy.filter(lambda c: any(d in wanted for d in destinations_of(c.services[0])))
    return _clusters_and_flows(cluster_strategy, kinds, wanted)


@st.composite
def _clusters_and_flows(
    draw: st.DrawFn,
    cluster_strategy: st.SearchStrategy[Cluster],
    kinds: tuple[ClientKind, ...],
    wanted: tuple[Destination, ...],
) -> tuple[Cluster, Flow]:
    cluster = draw(cluster_strategy)
    flow = draw(flows(cluster, clients=kinds, destinations=wanted))
    return cluster, flow
