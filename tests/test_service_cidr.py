"""Traffic to an address of no Service (``kverify trace --to-address``): nftables kube-proxy drops new
connections to unallocated addresses of the ServiceCIDRs; iptables and ipvs leave them to the routes.

Expected values come from kube-proxy's source and tests, cited per row (rule
``nftables-unallocated-service-ip``), never from kverify's output.
"""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from kverify.cli import main
from kverify.concrete import route, route_address
from kverify.errors import InputError, NotModelled
from kverify.model import (
    AddressFlow,
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    DropKind,
    Endpoint,
    Flow,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
)

# NewFakeProxier (pkg/proxy/nftables/helpers_test.go / proxier_test.go) runs with serviceCIDRs
# "172.30.0.0/16, fd00:10:96::/112"; TestClusterIPGeneral's services are 172.30.0.41 and 172.30.0.42.
SERVICE_CIDR = "172.30.0.0/16"
POD = "10.180.0.2"


def _cluster(dataplane: Dataplane, *, minor: int = 34, gates: tuple = (), cidrs: tuple = (SERVICE_CIDR,)) -> Cluster:  # type: ignore[type-arg]
    nodes = (Node(name="node-a", addresses=("192.168.0.2",)), Node(name="node-b", addresses=("192.168.0.3",)))
    services = (
        Service(
            namespace="ns1",
            name="svc1",
            cluster_ips=("172.30.0.41",),
            ports=(ServicePort(name="p80", port=80),),
            endpoints=(Endpoint(ip="10.180.0.1", node_name="node-b"),),
        ),
        Service(namespace="ns2", name="svc2", cluster_ips=("172.30.0.42",), ports=(ServicePort(port=53),)),
    )
    proxy = ProxyConfig(
        dataplane=dataplane,
        kubernetes_version=minor,
        feature_gates=gates,
        service_cidrs=cidrs,
        cluster_cidrs=("10.0.0.0/8",),
    )
    return Cluster(nodes=nodes, services=services, proxy=proxy)


def _kinds(cluster: Cluster, client: ClientKind, ip: str = "172.30.0.50", node: str | None = "node-a") -> set:  # type: ignore[type-arg]
    flow = AddressFlow(
        dst_ip=ip, client=client, client_ip=POD if client is ClientKind.POD else None, node=node, port=80
    )
    return {o.drop_kind for o in route_address(cluster, flow)}


ALLOC = (("MultiCIDRServiceAllocator", True),)

# (case, dataplane, minor, gates, service CIDRs, client, address, expected) - each row cites its source.
ROWS = [
    # nftables/proxier_test.go TestClusterIPGeneral 'packet to unallocated cluster ip': 10.180.0.2 -> 172.30.0.50:80
    # DROP.
    (
        "nftables v1.34, pod to an unallocated address is dropped",
        Dataplane.NFTABLES,
        34,
        (),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.DROP,
    ),
    # proxier.go nftablesJumpChains: cluster-ips-check from filter-output-post-dnat (host) and filter-forward
    # (packets routed through the node), both 'ct state new'.
    (
        "nftables v1.34, host-network process is dropped too",
        Dataplane.NFTABLES,
        34,
        (),
        (SERVICE_CIDR,),
        ClientKind.NODE,
        "172.30.0.50",
        DropKind.DROP,
    ),
    (
        "nftables v1.34, an external packet routed to the node is dropped (filter-forward)",
        Dataplane.NFTABLES,
        34,
        (),
        (SERVICE_CIDR,),
        ClientKind.EXTERNAL,
        "172.30.0.50",
        DropKind.DROP,
    ),
    # setupNFTables: the drop rule matches `ip daddr { serviceCIDRs }` only: an address outside passes.
    (
        "nftables v1.34, an address outside the service CIDRs is routed on",
        Dataplane.NFTABLES,
        34,
        (),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.31.0.50",
        DropKind.NOT_INTERCEPTED,
    ),
    # OnServiceCIDRsChanged keeps the proxier's own family's CIDRs: an IPv4 CIDR holds no IPv6 address.
    (
        "nftables v1.34, the other family's CIDR does not drop",
        Dataplane.NFTABLES,
        34,
        (),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "fd00:10:96::50",
        DropKind.NOT_INTERCEPTED,
    ),
    (
        "nftables v1.34, an IPv6 service CIDR drops its own family",
        Dataplane.NFTABLES,
        34,
        (),
        (SERVICE_CIDR, "fd00:10:96::/112"),
        ClientKind.POD,
        "fd00:10:96::50",
        DropKind.DROP,
    ),
    # cmd/kube-proxy/app/server.go: NewServiceCIDRConfig only with MultiCIDRServiceAllocator (off before v1.33).
    (
        "nftables v1.32, gate off by default: kube-proxy never learns the CIDRs",
        Dataplane.NFTABLES,
        32,
        (),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.NOT_INTERCEPTED,
    ),
    (
        "nftables v1.32 with MultiCIDRServiceAllocator=true drops",
        Dataplane.NFTABLES,
        32,
        ALLOC,
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.DROP,
    ),
    (
        "nftables v1.33, gate GA and on by default, drops",
        Dataplane.NFTABLES,
        33,
        (),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.DROP,
    ),
    (
        "nftables v1.33 with the gate turned off does not drop",
        Dataplane.NFTABLES,
        33,
        (("MultiCIDRServiceAllocator", False),),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.NOT_INTERCEPTED,
    ),
    # PR #122692 (v1.30) added cluster-ips-check; v1.29's alpha nftables proxier had no such rule.
    (
        "nftables v1.29 (alpha) has no drop rule, whatever the gate",
        Dataplane.NFTABLES,
        29,
        (("NFTablesProxyMode", True), *ALLOC),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.NOT_INTERCEPTED,
    ),
    (
        "nftables v1.30 with MultiCIDRServiceAllocator=true drops",
        Dataplane.NFTABLES,
        30,
        (("NFTablesProxyMode", True), *ALLOC),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.DROP,
    ),
    # pkg/proxy/iptables/proxier.go, pkg/proxy/ipvs/proxier.go: OnServiceCIDRsChanged(_ []string) {} - nothing.
    (
        "iptables routes the packet on",
        Dataplane.IPTABLES,
        34,
        (),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.NOT_INTERCEPTED,
    ),
    (
        "ipvs routes the packet on",
        Dataplane.IPVS,
        34,
        (),
        (SERVICE_CIDR,),
        ClientKind.POD,
        "172.30.0.50",
        DropKind.NOT_INTERCEPTED,
    ),
    (
        "iptables needs no service CIDR to answer",
        Dataplane.IPTABLES,
        34,
        (),
        (),
        ClientKind.NODE,
        "172.30.0.50",
        DropKind.NOT_INTERCEPTED,
    ),
]


@pytest.mark.parametrize(
    ("dataplane", "minor", "gates", "cidrs", "client", "ip", "expected"),
    [r[1:] for r in ROWS],
    ids=[r[0] for r in ROWS],
)
def test_unallocated_service_address(dataplane, minor, gates, cidrs, client, ip, expected) -> None:  # type: ignore[no-untyped-def]
    cluster = _cluster(dataplane, minor=minor, gates=gates, cidrs=cidrs)
    assert _kinds(cluster, client, ip) == {expected}


def test_every_node_an_external_packet_may_reach_is_an_outcome() -> None:
    outcomes = route_address(
        _cluster(Dataplane.NFTABLES), AddressFlow(dst_ip="172.30.0.50", client=ClientKind.EXTERNAL)
    )
    assert [(o.node, o.drop_kind) for o in outcomes] == [("node-a", DropKind.DROP), ("node-b", DropKind.DROP)]
    assert all(o.rules == ("nftables-unallocated-service-ip",) for o in outcomes)


def test_nftables_without_the_service_cidrs_is_unknown_not_guessed() -> None:
    with pytest.raises(NotModelled, match="--service-cidr"):
        _kinds(_cluster(Dataplane.NFTABLES, cidrs=()), ClientKind.POD)


def test_cilium_is_unknown() -> None:
    with pytest.raises(NotModelled, match="Cilium"):
        _kinds(_cluster(Dataplane.CILIUM_SNAT), ClientKind.POD)


def test_an_address_a_service_owns_is_asked_through_that_service() -> None:
    with pytest.raises(InputError, match="cluster-ip address of ns1/svc1: ask with --service ns1/svc1"):
        _kinds(_cluster(Dataplane.NFTABLES), ClientKind.POD, "172.30.0.41")


# pkg/proxy/nftables/proxier.go setupNFTables: `ip daddr @cluster-ips reject` ('Reject traffic to invalid ports
# of ClusterIPs') came with PR #122692 (v1.30); TestClusterIPGeneral 'svc1 does not accept svc2's ports': REJECT.
@pytest.mark.parametrize(
    ("minor", "expected"), [(34, DropKind.REJECT), (30, DropKind.REJECT), (29, DropKind.NOT_INTERCEPTED)]
)
def test_unexposed_cluster_ip_port_rejected_from_v1_30(minor: int, expected: DropKind) -> None:
    gates = (("NFTablesProxyMode", True),) if minor < 31 else ()
    cluster = _cluster(Dataplane.NFTABLES, minor=minor, gates=gates)
    flow = Flow(service="ns1/svc1", client=ClientKind.POD, destination=Destination.CLUSTER_IP, node="node-a", port=443)
    assert {o.drop_kind for o in route(cluster, flow)} == {expected}


def _write(tmp_path: Path) -> str:
    path = tmp_path / "svc.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Node\nmetadata: {name: node-a}\n"
        "status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}\n---\n"
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\n"
        "spec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}\n"
    )
    return str(path)


def test_cli_to_address_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifests = _write(tmp_path)
    args = ["trace", manifests, "--to-address", "10.96.0.99", "--from", "pod", "--dataplane", "nftables"]
    assert main([*args, "--service-cidr", "10.96.0.0/12", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["service_cidrs"] == ["10.96.0.0/12"]
    assert [o["drop_kind"] for o in document["outcomes"]] == ["drop"]
    assert main(args) == 3  # nftables, service CIDR not given: Unknown
    assert "--service-cidr" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--service", "default/web"], "--service: Forbidden"),
        (["--dst-ip", "10.96.0.1"], "--dst-ip: Forbidden"),
    ],
)
def test_cli_to_address_excludes_service_flags(tmp_path: Path, capsys, extra, message) -> None:  # type: ignore[no-untyped-def]
    args = ["trace", _write(tmp_path), "--to-address", "10.96.0.99", "--from", "pod", *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_cli_needs_service_or_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", _write(tmp_path), "--from", "pod"]) == 2
    assert "give --service and --to, or --to-address" in capsys.readouterr().err


def test_cli_bad_address_and_cidr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifests = _write(tmp_path)
    assert main(["trace", manifests, "--to-address", "10.96.0.999", "--from", "pod"]) == 2
    assert "--to-address: Invalid value" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:  # argparse's own type check: a usage error
        main(["trace", manifests, "--to-address", "10.96.0.9", "--from", "pod", "--service-cidr", "10.96/x"])
    assert exited.value.code == 2
    assert "--service-cidr: Invalid value" in capsys.readouterr().err


def test_the_drop_is_the_only_outcome_no_matter_the_port_or_protocol() -> None:
    # The drop rule matches the destination address alone (no port, no protocol).
    cluster = _cluster(Dataplane.NFTABLES)
    for port in (None, 1, 80, 65535):
        outcomes = route_address(
            cluster, attrs.evolve(AddressFlow(dst_ip="172.30.9.9", client=ClientKind.POD), port=port)
        )
        assert {o.drop_kind for o in outcomes} == {DropKind.DROP}
