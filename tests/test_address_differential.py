"""The two engines agree on packets to addresses of no Service (rule ``nftables-unallocated-service-ip``):
on drawn clusters (dataplane, version, gates, service CIDRs of both families, Services' ClusterIPs) and
addresses (inside a CIDR, a ClusterIP, anywhere), the outcome the Z3 address encoding admits is exactly
the one ``route_address`` returns.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.concrete import route_address
from kverify.errors import InputError
from kverify.model import AddressFlow, ClientKind, Cluster, Dataplane, DropKind, Node, ProxyConfig, Service, ServicePort
from kverify.model.versions import GATES, NEWEST, OLDEST, gate_defaults
from kverify.prove.claims import ADDRESS_CLAIMS
from kverify.prove.run import prove_claim
from kverify.symbolic.address import MAX_CIDRS, MAX_SERVICES, AddressUniverse, pins_for
from kverify.verdicts import Proved, Refuted

GATE = "MultiCIDRServiceAllocator"


@st.composite
def _network(draw: st.DrawFn) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    v6 = draw(st.booleans())
    address = draw(st.ip_addresses(v=6 if v6 else 4))
    length = draw(st.integers(0 if not v6 else 64, 32 if not v6 else 128))
    return ipaddress.ip_network(f"{address}/{length}", strict=False)


def _inside(draw: st.DrawFn, net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    return str(net.network_address + draw(st.integers(0, net.num_addresses - 1)))


@st.composite
def proxy_version(draw: st.DrawFn, dataplanes: list[Dataplane]) -> tuple[Dataplane, int, tuple[tuple[str, bool], ...]]:
    """A dataplane, a kube-proxy minor and feature gates: the version's defaults, nftables' gate where the
    version needs it (iptables where it has no nftables mode), and sometimes the ServiceCIDR gate flipped."""
    dataplane = draw(st.sampled_from(dataplanes))
    minor = draw(st.integers(OLDEST, NEWEST))
    defaults = gate_defaults(minor)
    gates: list[tuple[str, bool]] = []
    if dataplane is Dataplane.NFTABLES:
        if not GATES["NFTablesProxyMode"].exists(minor):
            dataplane = Dataplane.IPTABLES
        elif not defaults["NFTablesProxyMode"]:
            gates.append(("NFTablesProxyMode", True))
    gate = GATES[GATE]
    settable = gate.exists(minor) and (gate.locked is None or minor < gate.locked)
    if settable and (value := draw(st.booleans())) != defaults[GATE]:
        gates.append((GATE, value))
    return dataplane, minor, tuple(gates)


@st.composite
def address_cases(draw: st.DrawFn) -> tuple[Cluster, AddressFlow]:
    dataplane, minor, gates = draw(
        proxy_version([Dataplane.IPTABLES, Dataplane.NFTABLES, Dataplane.IPVS, Dataplane.DNAT_ONLY])
    )
    nets = draw(st.lists(_network(), min_size=1, max_size=MAX_CIDRS))
    ips: list[str] = []
    for _ in range(draw(st.integers(0, MAX_SERVICES))):  # ClusterIPs inside a service CIDR, or anywhere
        inside = draw(st.booleans())
        ips.append(_inside(draw, draw(st.sampled_from(nets))) if inside else str(draw(st.ip_addresses())))
    ips = list(dict.fromkeys(ips))
    where = draw(st.sampled_from(["in a service CIDR", "a ClusterIP", "anywhere"]))
    if where == "a ClusterIP" and ips:
        address = draw(st.sampled_from(ips))
    elif where == "anywhere":
        address = str(draw(st.ip_addresses()))
    else:
        address = _inside(draw, draw(st.sampled_from(nets)))
    services = tuple(
        Service(namespace="default", name=f"svc-{j}", cluster_ips=(ip,), ports=(ServicePort(port=80),))
        for j, ip in enumerate(ips)
    )
    proxy = ProxyConfig(
        dataplane=dataplane,
        kubernetes_version=minor,
        feature_gates=tuple(gates),
        service_cidrs=tuple(str(n) for n in nets),
    )
    node = Node(name="node-a", addresses=("192.168.0.10",), pod_cidrs=("10.244.0.0/24",))
    client = draw(st.sampled_from(list(ClientKind)))
    return Cluster(nodes=(node,), services=services, proxy=proxy), AddressFlow(
        dst_ip=address, client=client, node="node-a"
    )


_UNIVERSE = AddressUniverse()
_SOLVER = z3.Solver()
_SOLVER.add(*_UNIVERSE.well_formed())  # shared by every example; each adds its pins in a scope


def _admitted(pins: list[Any], term: Any) -> set[bool]:
    """The values of ``term`` the encoding admits under ``pins``."""
    found = set()
    for value in (True, False):
        _SOLVER.push()
        _SOLVER.add(*pins, term == value)
        if _SOLVER.check() == z3.sat:
            found.add(value)
        _SOLVER.pop()
    return found


@settings(max_examples=200)
@given(case=address_cases())
def test_encoding_admits_exactly_the_executable_models_outcome(case: tuple[Cluster, AddressFlow]) -> None:
    cluster, flow = case
    u = _UNIVERSE
    pins = pins_for(u, cluster, flow)
    try:
        kinds = {o.drop_kind for o in route_address(cluster, flow)}
    except InputError:  # a Service holds the address: asked through that Service, never as an address
        assert _admitted(pins, u.held_by_service()) == {True}, (cluster, flow)
        return
    assert len(kinds) == 1 and kinds <= {DropKind.DROP, DropKind.NOT_INTERCEPTED}, kinds
    assert _admitted(pins, u.held_by_service()) == {False}, (cluster, flow)
    assert _admitted(pins, u.dropped()) == {kinds == {DropKind.DROP}}, (cluster, flow, kinds)


# Kubernetes' behaviour (tests/test_service_cidr.py cites each row): the drop holds on nftables from v1.33 by
# default, on v1.30-v1.32 only with the gate turned on; iptables and ipvs never drop.
ROWS = [
    ("nftables", 34, (), True),
    ("nftables", 33, (), True),
    ("nftables", 32, (), False),
    ("nftables", 31, ((GATE, True),), True),
    ("nftables", 30, ((GATE, True),), True),
    ("nftables", 29, (("NFTablesProxyMode", True),), False),
    ("iptables", 34, (), False),
    ("ipvs", 34, (), False),
]


@pytest.mark.parametrize(("dataplane", "minor", "gates", "holds"), ROWS)
def test_the_claim_by_version(dataplane: str, minor: int, gates: tuple, holds: bool) -> None:  # type: ignore[type-arg]
    (claim,) = ADDRESS_CLAIMS
    verdict = prove_claim(claim, Dataplane.parse(dataplane), version=minor, feature_gates=gates)
    assert isinstance(verdict, Proved if holds else Refuted)
    if isinstance(verdict, Refuted):  # replayed: the executable model routes the packet on
        cx = verdict.counterexample
        assert cx.outcome.drop_kind is DropKind.NOT_INTERCEPTED
        assert [o.drop_kind for o in route_address(cx.cluster, cx.flow)] == [DropKind.NOT_INTERCEPTED]  # type: ignore[arg-type]
        address = ipaddress.ip_address(cx.flow.dst_ip)
        assert any(address in ipaddress.ip_network(c) for c in cx.cluster.proxy.service_cidrs)
