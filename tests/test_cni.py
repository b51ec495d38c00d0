"""CNI profiles (``--cni``): the masquerade source address, the CNI's own SNAT, the bridge's hairpin mode.

Expected values come from the kernel harness (``docs/research/kernel-ground-truth.md``: kube-proxy's
own rules in network namespaces laid out as a bridge CNI with underlay routes, then with a
flannel-style VXLAN device) and from the CNIs' sources cited by each rule (``kverify/semantics/cni.py``),
never from kverify's output.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import attrs
import pytest

from kverify.check.specfile.loader import load_spec
from kverify.cli import main
from kverify.concrete.route import route
from kverify.errors import InputError
from kverify.model import (
    ClientKind,
    Cluster,
    Cni,
    Dataplane,
    Destination,
    DropKind,
    Endpoint,
    Flow,
    LoadBalancerIngress,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.results import Outcome
from tests.kernel.fixture import OVERALL_IPT, OVERALL_NFT, TERMINATING_READY_IPT, Fixture, on_cni


def _on(fixture: Fixture, cni: Cni, dataplane: Dataplane | None = None) -> Cluster:
    """The fixture's cluster as the lab ran it (``tests.kernel.fixture.on_cni``), on ``cni``."""
    cluster = on_cni(fixture, cni)
    return attrs.evolve(cluster, proxy=attrs.evolve(cluster.proxy, dataplane=dataplane or cluster.proxy.dataplane))


def _seen(outcomes: tuple[Outcome, ...]) -> dict[str, str | None]:
    return {o.endpoint_ip: o.source_ip_seen for o in outcomes if o.delivered and o.endpoint_ip}


def _flow(fixture: Fixture, flow_id: str) -> Flow:
    return next(f for f in fixture.flows if f.id == flow_id).kverify_flow(fixture.test_node)


# (fixture, CNI of the lab, flow, endpoint -> source the pod saw in the kernel)
KERNEL_ROWS = [
    # 'The masquerade source address' table: the routed lab (bridge + underlay routes) and the VXLAN lab.
    (OVERALL_NFT, Cni.FLANNEL_HOST_GW, "external to NodePort, eTP Cluster", {"10.180.0.3": "192.168.0.2"}),
    (
        OVERALL_NFT,
        Cni.FLANNEL_HOST_GW,
        "external to externalIP, local and remote endpoints",
        {"10.180.0.4": "192.168.0.2", "10.180.0.5": "10.0.0.1"},
    ),
    (OVERALL_NFT, Cni.FLANNEL_VXLAN, "external to NodePort, eTP Cluster", {"10.180.0.3": "10.0.0.0"}),
    (OVERALL_NFT, Cni.FLANNEL_VXLAN, "external to externalIP, local and remote endpoints", {"10.180.0.5": "10.0.0.1"}),
    # The ten disagreements of the generic profile, each now the kernel's answer (routed lab).
    *[
        (
            fixture,
            Cni.FLANNEL_HOST_GW,
            flow_id,
            {"10.180.0.4": seen_at_4, "10.180.0.5": "10.0.0.1"},
        )
        for fixture in (OVERALL_IPT, OVERALL_NFT)
        for flow_id, seen_at_4 in (
            ("external to externalIP, local and remote endpoints", "192.168.0.2"),
            ("pod to externalIP, local and remote endpoints", "192.168.0.2"),
            ("host to ClusterIP, local and remote endpoints", "192.168.0.2"),
            ("endpoint pod to its own ClusterIP", "10.180.0.5"),  # hairpin mode on in the lab
        )
    ],
    (
        TERMINATING_READY_IPT,
        Cni.FLANNEL_HOST_GW,
        "host to ClusterIP",
        {"10.0.1.1": "10.0.0.1", "10.0.1.2": "10.0.0.1", "10.0.1.5": "192.168.0.2"},
    ),
    (
        TERMINATING_READY_IPT,
        Cni.FLANNEL_HOST_GW,
        "host to LB IP, eTP Local",
        {"10.0.1.1": "10.0.0.1", "10.0.1.2": "10.0.0.1", "10.0.1.5": "192.168.0.2"},
    ),
]


@pytest.mark.parametrize(
    ("fixture", "cni", "flow_id", "expected"),
    KERNEL_ROWS,
    ids=[f"{f.dataplane.spelling}-{c.spelling}-{i}" for f, c, i, _ in KERNEL_ROWS],
)
def test_masquerade_source_is_what_the_kernel_used(fixture: Fixture, cni: Cni, flow_id: str, expected: dict) -> None:
    seen = _seen(route(_on(fixture, cni), _flow(fixture, flow_id)))
    assert {ip: seen.get(ip) for ip in expected} == expected  # the pods the table lists


def test_the_generic_profile_keeps_the_node_ip_as_before() -> None:
    """The default profile is kverify before CNI profiles (the kernel harness' explained disagreement)."""
    outcomes = route(_on(OVERALL_NFT, Cni.GENERIC), _flow(OVERALL_NFT, "endpoint pod to its own ClusterIP"))
    assert _seen(outcomes) == {"10.180.0.4": "10.180.0.5", "10.180.0.5": "192.168.0.2"}


# The 'Hairpin' table of the kernel harness (nftables lab): hairpin off with bridge-nf-call-iptables=1
# never reaches itself; iptables hooks the same bridged packets (br_netfilter), so the same holds.
@pytest.mark.parametrize("dataplane", [Dataplane.NFTABLES, Dataplane.IPTABLES])
def test_a_pod_never_reaches_itself_over_a_bridge_without_hairpin(dataplane: Dataplane) -> None:
    fixture = OVERALL_NFT
    outcomes = route(_on(fixture, Cni.BRIDGE, dataplane), _flow(fixture, "endpoint pod to its own ClusterIP"))
    by_endpoint = {o.endpoint_ip: o for o in outcomes}
    assert by_endpoint["10.180.0.4"].delivered and by_endpoint["10.180.0.4"].source_ip_seen == "10.180.0.5"
    itself = by_endpoint["10.180.0.5"]
    assert not itself.delivered and itself.drop_kind is DropKind.DROP  # the attempts time out
    assert "cni-hairpin-off" in itself.rules


@pytest.mark.parametrize("cni", [Cni.FLANNEL_HOST_GW, Cni.FLANNEL_VXLAN])
def test_flannel_hairpins(cni: Cni) -> None:
    """flannel's CNI conf (and k3s') set hairpinMode: true: the harness' 'on' rows, seeing the bridge."""
    outcomes = route(_on(OVERALL_NFT, cni), _flow(OVERALL_NFT, "endpoint pod to its own ClusterIP"))
    assert all(o.delivered for o in outcomes)
    assert _seen(outcomes)["10.180.0.5"] == "10.0.0.1"


# --- from the CNIs' sources -----------------------------------------------------------------------

K3S_NODES = (
    Node(name="server", addresses=("192.168.1.10",), pod_cidrs=("10.42.0.0/24",)),
    Node(name="agent", addresses=("192.168.1.11",), pod_cidrs=("10.42.1.0/24",)),
    Node(name="worker", addresses=("192.168.1.12",), pod_cidrs=("10.42.2.0/24",)),
)


def _cluster(cni: Cni, *endpoints: Endpoint, dataplane: Dataplane = Dataplane.IPTABLES, **service: object) -> Cluster:
    svc = Service(
        namespace="default",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.43.0.10",),
        ports=(ServicePort(port=80, node_port=30080),),
        load_balancer_ingress=(LoadBalancerIngress(ip="192.0.2.10"),),
        endpoints=endpoints,
        **service,  # type: ignore[arg-type]
    )
    proxy = ProxyConfig(dataplane=dataplane, cluster_cidrs=("10.42.0.0/16",), cni=cni)
    return Cluster(nodes=K3S_NODES, services=(svc,), proxy=proxy)


ON_SERVER = Endpoint(ip="10.42.0.5", node_name="server")
ON_AGENT = Endpoint(ip="10.42.1.7", node_name="agent")
ON_WORKER = Endpoint(ip="10.42.2.9", node_name="worker")
EXTERNAL_TO_SERVER = Flow(
    service="default/web", client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT, node="server"
)


@pytest.mark.parametrize(
    ("cni", "same_node", "other_node"),
    [
        # cni0 holds the pod CIDR's gateway (subnet + 1: host-local range.go); k3s users see 10.42.0.1.
        (Cni.FLANNEL_VXLAN, "10.42.0.1", "10.42.0.0"),  # flannel.1 = lease.Subnet.IP/32 (vxlan.go)
        (Cni.FLANNEL_HOST_GW, "10.42.0.1", "192.168.1.10"),  # other nodes' pod CIDRs routed over the NIC
        (Cni.BRIDGE, "10.42.0.1", "192.168.1.10"),
        (Cni.CALICO_BGP, "192.168.1.10", "192.168.1.10"),  # routed veth without an address; BGP over the NIC
        (Cni.CALICO_IPIP, "192.168.1.10", "tunl0 address of server"),  # IPAM-allocated: kverify names the device
        (Cni.CALICO_VXLAN, "192.168.1.10", "vxlan.calico address of server"),
        (Cni.AWS_VPC, "192.168.1.10", "192.168.1.10"),  # routed veth; VPC routing over the ENI
        (Cni.GENERIC, "192.168.1.10", "192.168.1.10"),
    ],
)
def test_external_nodeport_masquerade_source_per_cni(cni: Cni, same_node: str, other_node: str) -> None:
    outcomes = route(_cluster(cni, ON_SERVER, ON_AGENT), EXTERNAL_TO_SERVER)
    assert _seen(outcomes) == {"10.42.0.5": same_node, "10.42.1.7": other_node}


def test_cilium_kube_proxy_replacement_snats_with_the_node_ip() -> None:
    cluster = _cluster(Cni.CILIUM, ON_SERVER, ON_AGENT, dataplane=Dataplane.CILIUM_SNAT)
    # SNAT only towards the remote backend (cilium-snat-remote-backend), with the node's address.
    assert _seen(route(cluster, EXTERNAL_TO_SERVER)) == {"10.42.0.5": "203.0.113.10", "10.42.1.7": "192.168.1.10"}


POD_ON_SERVER_TO_AGENT_NODEPORT = Flow(
    service="default/web",
    client=ClientKind.POD,
    destination=Destination.NODE_PORT,
    client_ip="10.42.0.33",
    node="server",
    dst_ip="192.168.1.11",
)


@pytest.mark.parametrize(
    ("cni", "snat"),
    [
        (Cni.FLANNEL_VXLAN, True),  # --ip-masq: -s <cluster cidr> ! -d 224.0.0.0/4 -j MASQUERADE
        (Cni.FLANNEL_HOST_GW, True),
        (Cni.CALICO_IPIP, True),  # natOutgoing: destination in no IP pool
        (Cni.CALICO_BGP, True),
        (Cni.AWS_VPC, False),  # node IPs are in the VPC CIDR: AWS-SNAT-CHAIN-0 RETURNs
        (Cni.BRIDGE, False),  # the bridge plugin's ipMasq defaults to false
        (Cni.GENERIC, False),
    ],
)
def test_pod_to_another_nodes_nodeport_under_etp_local(cni: Cni, snat: bool) -> None:
    """A pod on `server` reaches `agent`'s NodePort; the only endpoint runs on `worker`. Without CNI SNAT
    `agent` short-circuits pod traffic to the Cluster set and the reply bypasses it (broken); with it the
    source is `server`'s IP, not pod traffic: eTP Local applies and `agent` DROPs (no local endpoint)."""
    cluster = _cluster(cni, ON_WORKER, external_traffic_policy=TrafficPolicy.LOCAL, health_check_node_port=32000)
    (outcome,) = route(cluster, POD_ON_SERVER_TO_AGENT_NODEPORT)
    assert outcome.node == "agent"
    if snat:
        assert not outcome.delivered and outcome.drop_kind is DropKind.DROP
        assert outcome.hops[0].src == "10.42.0.33" and outcome.hops[1].src == "192.168.1.10"
        assert "cni-pod-to-node-snat" in outcome.rules
    else:
        assert outcome.delivered and outcome.endpoint_ip == "10.42.2.9"
        assert outcome.source_ip_seen == "10.42.0.33" and not outcome.reply_ok


def test_flannel_masquerades_an_unmasqueraded_external_flow_to_a_remote_pod() -> None:
    """ipvs, eTP Local, no local endpoint on the arrival node: kube-proxy forwards to a remote pod without
    masquerade and the reply is lost; flannel's `! -s <cluster cidr> -d <cluster cidr> -j MASQUERADE`
    masquerades it (over the NIC in host-gw mode), so the reply comes back through the node."""
    flow = Flow(service="default/web", client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT, node="agent")
    kwargs = {"external_traffic_policy": TrafficPolicy.LOCAL, "health_check_node_port": 32000}
    (generic,) = route(_cluster(Cni.GENERIC, ON_WORKER, dataplane=Dataplane.IPVS, **kwargs), flow)
    assert generic.delivered and not generic.reply_ok and generic.source_ip_seen == "203.0.113.10"
    (flannel,) = route(_cluster(Cni.FLANNEL_HOST_GW, ON_WORKER, dataplane=Dataplane.IPVS, **kwargs), flow)
    assert flannel.delivered and flannel.reply_ok and flannel.source_ip_seen == "192.168.1.11"
    assert "flannel-masquerade-to-remote-pods" in flannel.rules


# --- inputs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dataplane", "cni"),
    [(Dataplane.IPTABLES, Cni.CILIUM), (Dataplane.CILIUM_SNAT, Cni.FLANNEL_VXLAN), (Dataplane.CILIUM_DSR, Cni.AWS_VPC)],
)
def test_unmodelled_cni_and_dataplane_pairs_are_refused(dataplane: Dataplane, cni: Cni) -> None:
    with pytest.raises(ValueError, match=r"^cni: "):
        ProxyConfig(dataplane=dataplane, cni=cni)


def _manifests(tmp_path: Path) -> str:
    path = tmp_path / "k3s.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            apiVersion: v1
            kind: Node
            metadata: {name: server}
            spec: {podCIDR: 10.42.0.0/24}
            status: {addresses: [{type: InternalIP, address: 192.168.1.10}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec:
              type: NodePort
              clusterIP: 10.43.0.10
              ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
            addressType: IPv4
            ports: [{port: 8080}]
            endpoints:
            - addresses: [10.42.0.5]
              nodeName: server
              conditions: {ready: true}
            """
        )
    )
    return str(path)


def test_trace_cni_flag_shows_the_bridge_address(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["trace", _manifests(tmp_path), "--service", "default/web", "--to", "node-port", "--from", "external"]
    assert main([*args, "--cni", "flannel-vxlan", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["cni"] == "flannel-vxlan"
    assert [o["source_ip_seen"] for o in document["outcomes"]] == ["10.42.0.1"]
    assert main([*args, "--cni", "flannel-vxlan"]) == 0
    assert "; CNI flannel-vxlan" in capsys.readouterr().out


def test_trace_refuses_cilium_cni_beside_kube_proxy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["trace", _manifests(tmp_path), "--service", "default/web", "--to", "node-port", "--from", "external"]
    assert main([*args, "--cni", "cilium"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--cni: Cilium as the CNI is modelled with its kube-proxy replacement")


SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: demo}
topology:
  nodes:
    - {name: node-a}
  services:
    - name: shop/web
      endpoints:
        - {ip: 10.244.1.5, node: node-a}
environment: {dataplane: DATAPLANE, cni: CNI}
claims:
  - id: delivered
    service: shop/web
    from: pod
    via: cluster-ip
    property: delivered
    expect: holds
"""


def test_spec_environment_names_the_cni(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.replace("DATAPLANE", "nftables").replace("CNI", "calico-vxlan"))
    assert load_spec(str(path)).cluster.proxy.cni is Cni.CALICO_VXLAN


@pytest.mark.parametrize(
    ("dataplane", "cni", "message"),
    [
        ("iptables", "weave", 'environment.cni: Unsupported value: "weave": supported values: "aws-vpc"'),
        ("iptables", "cilium", "environment.cni: Cilium as the CNI is modelled with its kube-proxy replacement"),
    ],
)
def test_spec_environment_bad_cni_names_the_field(tmp_path: Path, dataplane: str, cni: str, message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.replace("DATAPLANE", dataplane).replace("CNI", cni))
    with pytest.raises(InputError) as raised:
        load_spec(str(path))
    assert message in str(raised.value)


@pytest.mark.parametrize("cni", [Cni.CALICO_BGP, Cni.CALICO_IPIP, Cni.AWS_VPC])
def test_a_routed_veth_hairpins_and_shows_the_node_ip(cni: Cni) -> None:
    """Measured by hand (docs/research/cni-profiles.md): a pod behind an address-less routed veth,
    DNATed back to itself, gets the connection and sees the node's eth0 address (not the tunnel's)."""
    flow = Flow(
        service="default/web",
        client=ClientKind.POD,
        destination=Destination.CLUSTER_IP,
        client_ip="10.42.0.5",
        node="server",
    )
    outcomes = route(_cluster(cni, ON_SERVER), flow)
    assert [(o.delivered, o.source_ip_seen) for o in outcomes] == [(True, "192.168.1.10")]


HOW_TO = Path(__file__).parent.parent / "docs" / "how-to" / "tell-kverify-your-cni.md"


def test_the_cni_how_to_shows_what_kverify_prints(capsys: pytest.CaptureFixture[str]) -> None:
    import re
    import shlex

    steps = re.findall(r"```sh\n(.*?)\n```\n\n```text\n(.*?)\n```", HOW_TO.read_text(), flags=re.S)
    assert len(steps) == 3
    for command, shown in steps:
        words = shlex.split(command)
        assert words[0] == ".venv/bin/kverify"
        root = str(Path(__file__).parent.parent)
        assert main([w if not w.startswith("examples/") else f"{root}/{w}" for w in words[1:]]) == 0
        printed = capsys.readouterr().out.splitlines()
        for line in shown.splitlines():
            assert line in printed, (command, line)
