"""The Z3 query behind a spec's ``to: {unallocated: service-cidr}`` claims agrees with the executable model
walked over every address: on drawn clusters (dataplane, version, gates, one or two small service CIDRs of
either family, addresses the Services hold), the solver finds an address breaking the property exactly
when one of the CIDRs' unallocated addresses, replayed through ``route_address``, breaks it, and the address
it finds is one of those.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.concrete import route_address
from kverify.model import AddressFlow, ClientKind, Cluster, Dataplane, DropKind, Node, ProxyConfig, Service, ServicePort
from kverify.semantics.ops import Term
from kverify.semantics.unallocated import AddressWorld
from kverify.symbolic.address import find_violation_on
from tests.test_address_differential import proxy_version

#: Property -> (what the Z3 query requires, what an executable-model outcome must satisfy).
PROPERTIES: dict[str, tuple[Callable[[AddressWorld], Term], Callable[[DropKind | None], bool]]] = {
    "dropped": (lambda w: w.dropped, lambda kind: kind is DropKind.DROP),
    "never-dropped": (lambda w: w.ops.not_(w.dropped), lambda kind: kind is not DropKind.DROP),
}


@st.composite
def small_network(draw: st.DrawFn, v6: bool) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A service CIDR of 4 to 16 addresses: small enough to walk every address."""
    address = draw(st.ip_addresses(v=6 if v6 else 4))
    length = draw(st.integers(124, 126) if v6 else st.integers(28, 30))
    return ipaddress.ip_network(f"{address}/{length}", strict=False)


@st.composite
def clusters(draw: st.DrawFn) -> Cluster:
    dataplane, minor, gates = draw(proxy_version([Dataplane.IPTABLES, Dataplane.NFTABLES, Dataplane.IPVS]))
    families = draw(st.sampled_from([(False,), (True,), (False, True), (True, False)]))
    nets = [draw(small_network(v6)) for v6 in families]
    held = draw(st.lists(st.sampled_from([str(a) for n in nets for a in _every(n)]), max_size=20, unique=True))
    services = tuple(
        Service(namespace="default", name=f"s{i}", cluster_ips=(ip,), ports=(ServicePort(name="http", port=80),))
        for i, ip in enumerate(held)
    )
    proxy = ProxyConfig(
        dataplane=dataplane,
        kubernetes_version=minor,
        feature_gates=tuple(gates),
        service_cidrs=tuple(str(n) for n in nets),
    )
    node = Node(name="node-a", addresses=("192.168.0.10",), pod_cidrs=("10.244.0.0/24",))
    return Cluster(nodes=(node,), services=services, proxy=proxy)


def _every(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    return [network.network_address + n for n in range(network.num_addresses)]


@settings(max_examples=60, deadline=None)
@given(cluster=clusters(), prop=st.sampled_from(sorted(PROPERTIES)))
def test_the_solver_finds_a_violation_exactly_when_the_executable_model_has_one(cluster: Cluster, prop: str) -> None:
    require, holds = PROPERTIES[prop]
    held = {ip for s in cluster.services for ip in s.cluster_ips}
    violating = set()
    for text in cluster.proxy.service_cidrs:
        for address in _every(ipaddress.ip_network(text)):
            if str(address) in held:
                continue
            flow = AddressFlow(dst_ip=str(address), client=ClientKind.POD)
            if not all(holds(o.drop_kind) for o in route_address(cluster, flow)):
                violating.add(str(address))
    answer = find_violation_on(cluster, require, client=ClientKind.POD, held=tuple(sorted(held)))
    assert answer.status == ("sat" if violating else "unsat"), (answer, sorted(violating))
    if answer.flow is not None:
        assert answer.flow.dst_ip in violating and answer.flow.client is ClientKind.POD
