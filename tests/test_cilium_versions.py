"""Cilium's version axis and Helm options: ``--cilium-version``, ``--cilium-set``, spec ``environment``,
proofs per Cilium version.

Routing per version and option is tested by the rows of ``tests/kubernetes_cases/cilium_versions.yaml``;
the twin check draws Cilium versions and options too (``tests/test_differential.py``).
"""

from __future__ import annotations

import json

import attrs
import pytest

from kverify.cli import main
from kverify.model import ClientKind, Dataplane, Destination, Flow, Protocol, ProxyConfig
from kverify.model.cilium import CiliumSettings, parse_cilium_release, parse_cilium_version, parse_helm_sets
from kverify.prove.claims import find_claim
from kverify.prove.run import prove_claim
from kverify.verdicts import Proved, Refuted

MANIFEST = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 172.30.0.50
  selector: {app: web}
  ports: [{name: http, port: 80, protocol: TCP, nodePort: 30050}]
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}
"""


def _trace(tmp_path, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "web.yaml"
    path.write_text(MANIFEST)
    words = ["trace", str(path), "--service", "default/web", "--to", "node-port", "--from", "external"]
    return [*words, "--node", "node-a", *extra]


@pytest.mark.parametrize(
    ("flags", "field", "words"),
    [
        (["--dataplane", "iptables", "--cilium-version", "1.16"], "--cilium-version", "needs --dataplane cilium"),
        (["--dataplane", "cilium-snat", "--cilium-version", "1.11"], "--cilium-version", "1.12 through 1.19"),
        (
            ["--dataplane", "cilium-snat", "--cilium-set", "bpf.lbExternalClusterIP=maybe"],
            "--cilium-set",
            "true or false",
        ),
        (["--dataplane", "cilium-snat", "--cilium-set", "nodePort.enabled=true"], "--cilium-set", "not a Helm option"),
        (
            ["--dataplane", "cilium-snat", "--cilium-version", "1.14", "--cilium-set", "serviceNoBackendResponse=drop"],
            "--cilium-set",
            "added in v1.15",
        ),
        (
            ["--dataplane", "cilium-snat", "--cilium-set", "loadBalancer.serviceTopology=true"],
            "--cilium-set",
            "does not model",
        ),
        (
            [
                "--dataplane",
                "cilium-snat",
                "--cilium-version",
                "1.12",
                "--cilium-set",
                "socketLB.hostNamespaceOnly=true",
            ],
            "--cilium-set",
            "hostServices",
        ),
        (
            [
                "--dataplane",
                "cilium-snat",
                "--cilium-version",
                "1.16",
                "--cilium-set",
                "bpf.lbSourceRangeAllTypes=true",
            ],
            "--cilium-set",
            "added in v1.17",
        ),
        (["--dataplane", "cilium-snat", "--cilium-version", "1.18.x"], "--cilium-version", "1.12 through 1.19"),
        (["--dataplane", "cilium-snat", "--cilium-set", "loadBalancer.mode=dsr"], "--cilium-set", "contradicts"),
    ],
)
def test_bad_cilium_flags_are_one_line_naming_the_flag(tmp_path, capsys, flags, field, words) -> None:  # type: ignore[no-untyped-def]
    assert main(_trace(tmp_path, *flags)) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert field in err and words in err, err


def test_trace_says_the_cilium_version_and_options_it_answered_for(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # No backend: v1.14 drops (DROP_NO_SERVICE), v1.15+ rejects by default (cilium/cilium#28157).
    assert main(_trace(tmp_path, "--dataplane", "cilium-snat", "--cilium-version", "1.14")) == 0
    out = capsys.readouterr().out
    assert "answered for Cilium v1.14 (cilium-snat; chart defaults)" in out and "DROPPED" in out
    flags = ["--dataplane", "cilium-snat", "--cilium-set", "serviceNoBackendResponse=drop", "--format", "json"]
    assert main(_trace(tmp_path, *flags)) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["cilium_version"] == "v1.19"
    assert document["cilium_helm"] == ["serviceNoBackendResponse=drop"]
    assert [o["drop_kind"] for o in document["outcomes"]] == ["drop"]
    assert main(_trace(tmp_path, "--dataplane", "cilium-snat")) == 0
    assert "REJECTED" in capsys.readouterr().out


def test_helm_options_parse_as_helm_set_takes_them() -> None:
    assert parse_cilium_version("v1.16.3") == parse_cilium_version("1.16") == 16
    settings, mode = parse_helm_sets("bpf.lbExternalClusterIP=true, loadBalancer.mode=hybrid", 17, "snat")
    assert settings == CiliumSettings(version=17, external_cluster_ip=True, hybrid=True) and mode == "dsr"
    assert parse_helm_sets("loadBalancer.mode=dsr", 19, "snat")[1] == "dsr"
    # The chart's defaults of options kverify does not model are accepted: nothing is assumed.
    assert parse_helm_sets("socketLB.enabled=true,bpf.lbSourceRangeAllTypes=false", 19, "snat")[0] == CiliumSettings()
    assert parse_helm_sets("bpf.lbSourceRangeAllTypes=true", 17, "snat")[0].helm_values() == (
        "bpf.lbSourceRangeAllTypes=true",
    )


def test_source_ranges_on_every_frontend_by_option_and_by_the_v1_18_regression() -> None:
    """bpf.lbSourceRangeAllTypes from v1.17 (cilium/cilium#35512); v1.18.0-v1.18.5 applied the ranges to
    every frontend type by default (#42334), fixed in v1.18.6 (#43575, release notes of v1.18.6)."""
    assert parse_cilium_release("v1.18.2") == (18, 2) and parse_cilium_release("1.18") == (18, None)
    assert CiliumSettings(version=18, patch=5).source_ranges_on_all_types
    assert not CiliumSettings(version=18, patch=6).source_ranges_on_all_types
    assert not CiliumSettings(version=18).source_ranges_on_all_types  # no patch: the newest v1.18
    assert not CiliumSettings(version=17, patch=8).source_ranges_on_all_types
    assert CiliumSettings(version=17, source_range_all_types=True).source_ranges_on_all_types
    with pytest.raises(ValueError, match=r"added in v1\.17"):
        CiliumSettings(version=16, source_range_all_types=True)
    assert CiliumSettings(version=18, patch=2).release == "1.18.2"


def test_nodeport_ignores_source_ranges_unless_all_types() -> None:
    """Cilium guards the NodePort with loadBalancerSourceRanges only with bpf.lbSourceRangeAllTypes=true
    (kubeproxy-free.rst 'LoadBalancer Source Ranges Checks') or on v1.18.0-v1.18.5 (cilium/cilium#42334)."""
    claim = find_claim("nodeport-ignores-source-ranges")
    assert isinstance(prove_claim(claim, Dataplane.CILIUM_SNAT), Proved)
    assert isinstance(prove_claim(claim, Dataplane.CILIUM_SNAT, cilium=CiliumSettings(version=18, patch=6)), Proved)
    for cilium in (CiliumSettings(source_range_all_types=True), CiliumSettings(version=18, patch=2)):
        verdict = prove_claim(claim, Dataplane.CILIUM_DSR, cilium=cilium)
        assert isinstance(verdict, Refuted), cilium
        assert "cilium-source-ranges-all-types" in str(verdict.to_json()), verdict.to_json()


def test_trace_names_the_cilium_patch_release(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(_trace(tmp_path, "--dataplane", "cilium-snat", "--cilium-version", "1.18.2")) == 0
    assert "answered for Cilium v1.18.2 (cilium-snat; chart defaults)" in capsys.readouterr().out


def test_hybrid_is_dsr_for_tcp_and_snat_for_the_rest() -> None:
    proxy = ProxyConfig(dataplane=Dataplane.CILIUM_DSR, cilium=CiliumSettings(hybrid=True))
    assert proxy.dataplane_for(Protocol.TCP) is Dataplane.CILIUM_DSR
    assert proxy.dataplane_for(Protocol.UDP) is Dataplane.CILIUM_SNAT
    assert proxy.dataplane_for(Protocol.SCTP) is Dataplane.CILIUM_SNAT


def test_a_claim_can_hold_at_one_cilium_version_and_option_and_not_another() -> None:
    """eTP Local, node without a local backend: Cilium answers ICMP port unreachable from v1.15 by default
    (the client is refused, not left to time out); before v1.15, or with serviceNoBackendResponse=drop,
    it drops (cilium/cilium#28157, bpf/tests/tc_nodeport_lb4_no_backend.c)."""
    claim = find_claim("etp-local-no-endpoint-times-out")
    assert isinstance(prove_claim(claim, Dataplane.CILIUM_SNAT), Refuted)
    assert isinstance(prove_claim(claim, Dataplane.CILIUM_SNAT, cilium=CiliumSettings(version=14)), Proved)
    drop = CiliumSettings(no_backend_response="drop")
    assert isinstance(prove_claim(claim, Dataplane.CILIUM_SNAT, cilium=drop), Proved)


def test_prove_takes_the_cilium_flags_and_reproduces_them(capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["prove", "etp-local-no-endpoint-times-out", "--dataplane", "cilium-snat", "--format", "json"]
    assert main([*args, "--cilium-version", "1.14"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["cilium_version"] == "v1.14"
    assert [r["verdict"] for r in document["results"]] == ["proved"]
    assert (
        main(["prove", "etp-local-no-endpoint-times-out", "--dataplane", "cilium-snat", "--cilium-version", "1.16"])
        == 0
    )
    out = capsys.readouterr().out
    assert "Cilium v1.16" in out and "REFUTED" in out.upper()
    assert main([*args, "--cilium-set", "loadBalancer.mode=hybrid"]) == 2
    assert "prove covers cilium-snat and cilium-dsr" in capsys.readouterr().err


def test_spec_environment_takes_the_cilium_version_and_helm_values(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: cilium}\n"
        "environment: {dataplane: cilium-snat, ciliumVersion: '1.12',\n"
        "  ciliumHelm: {loadBalancer.serviceTopology: true}}\n"
        "topology: {nodes: 1, services: []}\n"
    )
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "environment.ciliumHelm" in err and "does not model" in err
    from kverify.check.specfile import load_spec

    spec.write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: cilium}\n"
        "environment:\n"
        "  dataplane: cilium-dsr\n"
        "  ciliumVersion: '1.16'\n"
        "  ciliumHelm: {bpf.lbExternalClusterIP: true, serviceNoBackendResponse: drop, loadBalancer.mode: hybrid}\n"
        "topology: {nodes: [{name: node-a}], services: []}\n"
    )
    cilium = load_spec(str(spec)).cluster.proxy.cilium
    assert cilium == CiliumSettings(version=16, external_cluster_ip=True, no_backend_response="drop", hybrid=True)


HAIRPIN = """\
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: NodePort
  clusterIP: 172.30.0.50
  selector: {app: web}
  ports: [{name: http, port: 80, protocol: TCP, nodePort: 30050}]
---
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 80, protocol: TCP}]
endpoints: [{addresses: [10.0.1.5], nodeName: node-a, conditions: {ready: true, serving: true}}]
"""


def _hairpin(tmp_path, *extra: str) -> list[str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "web.yaml"
    path.write_text(HAIRPIN)
    words = ["trace", str(path), "--service", "default/web", "--from", "pod", "--src-ip", "10.0.1.5"]
    return [*words, "--node", "node-a", "--dataplane", "cilium-snat", "--format", "json", *extra]


def test_per_packet_hairpin_shows_the_service_loopback_address(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """socketLB.hostNamespaceOnly: bpf_lxc translates the pod's packet, and lb4_local SNATs a packet whose
    backend is its own source to IPV4_LOOPBACK (bpf/lib/lb.h), 169.254.42.1 by default (pkg/defaults
    LoopbackIPv4). With socket-LB (the default, and socketLB.enabled=false, which the kube-proxy replacement
    overrides: pkg/kpr/kpr.go NewKPRConfig) the pod is connected to itself and sees its own address."""
    # A pod outside --cluster-cidr would be masqueraded by kube-proxy: that rule is not Cilium's and must not show.
    flags = ["--to", "cluster-ip", "--cilium-set", "socketLB.hostNamespaceOnly=true", "--cluster-cidr", "172.16.0.0/16"]
    assert main(_hairpin(tmp_path, *flags)) == 0
    document = json.loads(capsys.readouterr().out)
    (outcome,) = document["outcomes"]
    assert outcome["source_ip_seen"] == "169.254.42.1", outcome
    assert "cilium-per-packet-hairpin" in outcome["rules"]
    assert not [r for r in outcome["rules"] if r.startswith("masquerade-")], outcome["rules"]  # kube-proxy's
    for sets in ([], ["--cilium-set", "socketLB.enabled=false"]):
        assert main(_hairpin(tmp_path, "--to", "cluster-ip", *sets)) == 0
        (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
        assert outcome["source_ip_seen"] == "10.0.1.5", outcome


def test_a_pods_node_port_flow_per_packet_is_unknown(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """Whether bpf_lxc's per-packet lookup matches another node's address:port was not read at the source
    (cilium/cilium#44710 changed it): Unknown (exit 3), never a guess."""
    flags = ["--to", "node-port", "--dst-ip", "192.168.0.2", "--cilium-set", "socketLB.hostNamespaceOnly=true"]
    assert main(_hairpin(tmp_path, *flags)) == 3
    err = capsys.readouterr().err
    assert "not modelled" in err and "hostNamespaceOnly" in err, err


def test_a_spec_claim_on_a_pods_node_port_per_packet_is_unknown(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """kverify check answers Unknown (with the reason), never a verdict, for the flow trace calls Unknown."""
    from kverify.check.exhaustive import unsupported
    from kverify.load.manifests import load_manifests
    from kverify.model import Cluster

    path = tmp_path / "web.yaml"
    path.write_text(HAIRPIN)
    loaded = load_manifests([str(path)])
    proxy = ProxyConfig(dataplane=Dataplane.CILIUM_SNAT, cilium=CiliumSettings(socket_lb_host_namespace_only=True))
    cluster = Cluster(nodes=loaded.nodes, services=loaded.services, proxy=proxy)
    flow = Flow(service="default/web", client=ClientKind.POD, destination=Destination.NODE_PORT, node="node-a")
    reason = unsupported(cluster, flow)
    assert reason is not None and "hostNamespaceOnly" in reason
    assert unsupported(cluster, attrs.evolve(flow, destination=Destination.CLUSTER_IP)) is None
