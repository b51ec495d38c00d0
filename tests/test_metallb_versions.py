"""MetalLB releases: which endpoints make a speaker announce a LoadBalancer IP (rule ``lb-metallb-announce``).

Expected values come from metallb/metallb at each tag (``internal/k8s/epslices/endpoint_slices.go``:
``IsConditionReady`` to v0.13.x, ``IsConditionServing`` from v0.14.0, ``EndpointCanServe`` from v0.14.5) and
its tests, cited per row; never from kverify's output.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import attrs
import pytest

from kverify.check.specfile import load_spec
from kverify.cli import main
from kverify.concrete import route
from kverify.errors import InputError
from kverify.model import (
    ClientKind,
    Cluster,
    Dataplane,
    Destination,
    DropKind,
    Endpoint,
    Flow,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Node,
    ProxyConfig,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)
from kverify.model.metallb import parse_metallb_version

# An endpoint shutting down gracefully: not Ready, still serving (metallb#2074's scenario).
SHUTTING_DOWN = {"ready": False, "serving": True, "terminating": True}
# publishNotReadyAddresses: the EndpointSlice controller writes Ready=true whatever the pod, serving=its readiness.
PUBLISHED_NOT_READY = {"ready": True, "serving": False, "terminating": False}


def _cluster(version: tuple[int, int], conditions: dict, etp: TrafficPolicy) -> Cluster:  # type: ignore[type-arg]
    service = Service(
        namespace="default",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.96.0.10",),
        ports=(ServicePort(port=80, node_port=30080),),
        external_traffic_policy=etp,
        health_check_node_port=32000 if etp is TrafficPolicy.LOCAL else None,
        load_balancer_ingress=(LoadBalancerIngress(ip="192.0.2.10"),),
        endpoints=(Endpoint(ip="10.244.1.5", node_name="node-a", **conditions),),
    )
    nodes = (Node(name="node-a", addresses=("192.168.0.10",)), Node(name="node-b", addresses=("192.168.0.11",)))
    return Cluster(
        nodes=nodes,
        services=(service,),
        proxy=ProxyConfig(dataplane=Dataplane.IPTABLES),
        load_balancer=LoadBalancerProfile.METALLB_L2,
        metallb_version=version,
    )


def _announcing(cluster: Cluster) -> set[str]:
    """The nodes MetalLB may send the external client's packets to (none: nobody announces)."""
    flow = Flow(service="default/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
    outcomes = route(cluster, flow)
    if any(o.node is None and o.drop_kind is DropKind.DROP and "lb-metallb-announce" in o.rules for o in outcomes):
        return set()
    return {o.node for o in outcomes if o.node}


LOCAL, CLUSTER = TrafficPolicy.LOCAL, TrafficPolicy.CLUSTER
ROWS = [
    # v0.13.x speaker/layer2_controller.go usableNodes / activeEndpointExists: IsConditionReady only.
    pytest.param((13, 12), SHUTTING_DOWN, LOCAL, set(), id="v0.13: a not-Ready serving endpoint is not announced"),
    pytest.param((13, 12), SHUTTING_DOWN, CLUSTER, set(), id="v0.13: eTP Cluster, nobody announces either"),
    # v0.14.0 layer2_controller_test.go TestUsableNodesEPSlices 'Two endpoints, different hosts, not ready but
    # serving' (commit 1f0fdf34): the serving endpoint's node is usable.
    pytest.param((14, 0), SHUTTING_DOWN, LOCAL, {"node-a"}, id="v0.14.0: serving counts, its node announces"),
    pytest.param((14, 0), SHUTTING_DOWN, CLUSTER, {"node-a", "node-b"}, id="v0.14.0: eTP Cluster, any node"),
    pytest.param((16, 1), SHUTTING_DOWN, LOCAL, {"node-a"}, id="v0.16.1: serving counts"),
    # Ready=true, serving=false (publishNotReadyAddresses): IsConditionReady (v0.13) counts it; IsConditionServing
    # (v0.14.0-v0.14.4) reads serving first and does not; EndpointCanServe (v0.14.5, e2e07277, its test
    # TestIsConditionReadyOrServing 'Is Ready but not serving': true) counts it again.
    pytest.param((13, 0), PUBLISHED_NOT_READY, LOCAL, {"node-a"}, id="v0.13: Ready counts whatever serving says"),
    pytest.param((14, 4), PUBLISHED_NOT_READY, LOCAL, set(), id="v0.14.4: serving first: not announced"),
    pytest.param((14, 4), PUBLISHED_NOT_READY, CLUSTER, set(), id="v0.14.4: eTP Cluster, not announced either"),
    pytest.param((14, 5), PUBLISHED_NOT_READY, LOCAL, {"node-a"}, id="v0.14.5: Ready or serving: announced"),
]


@pytest.mark.parametrize(("version", "conditions", "etp", "expected"), ROWS)
def test_which_nodes_announce(version, conditions, etp, expected) -> None:  # type: ignore[no-untyped-def]
    assert _announcing(_cluster(version, conditions, etp)) == expected


def test_the_bgp_speakers_follow_the_same_conditions() -> None:
    # speaker/bgp_controller.go hasHealthyEndpoint read the same helper at each tag.
    old = attrs.evolve(_cluster((13, 12), SHUTTING_DOWN, LOCAL), load_balancer=LoadBalancerProfile.METALLB_BGP)
    assert _announcing(old) == set()
    assert _announcing(attrs.evolve(old, metallb_version=(14, 0))) == {"node-a"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.13", (13, 0)), ("v0.14.5", (14, 5)), ("0.16.1", (16, 1)), ("0.15.3", (15, 3))],
)
def test_parse(text: str, expected: tuple[int, int]) -> None:
    assert parse_metallb_version(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("0.14", "give the patch release"), ("0.12.1", "0.13.0 through 0.16.x"), ("1.0", "Unsupported value")],
)
def test_parse_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_metallb_version(text)


MANIFESTS = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  clusterIP: 10.96.0.10
  healthCheckNodePort: 32000
  ports: [{port: 80, nodePort: 30080}]
status: {loadBalancer: {ingress: [{ip: 192.0.2.10}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 80}]
endpoints:
  - addresses: [10.244.1.5]
    nodeName: node-a
    conditions: {ready: false, serving: true, terminating: true}
"""


def test_cli_says_the_release_it_answered_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(MANIFESTS)
    args = ["trace", str(path), "--service", "default/web", "--to", "load-balancer", "--from", "external"]
    assert main([*args, "--load-balancer", "metallb-l2", "--metallb-version", "0.13.12"]) == 0
    out = capsys.readouterr().out
    assert "MetalLB v0.13.12" in out and "DROPPED" in out and "lb-metallb-announce" in out
    assert main([*args, "--load-balancer", "metallb-l2", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["metallb_version"] == "MetalLB v0.16.1"
    assert [o["delivered"] for o in document["outcomes"]] == [True]
    assert main([*args, "--load-balancer", "metallb-l2", "--metallb-version", "0.14"]) == 2
    assert "--metallb-version: Invalid value" in capsys.readouterr().err


SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: demo}
topology:
  nodes: [{name: node-a}]
  services:
    - name: shop/web
      type: LoadBalancer
      endpoints: [{ip: 10.244.1.5, node: node-a}]
environment: {loadBalancer: metallb-l2, metallbVersion: %s}
claims:
  - {id: delivered, service: shop/web, property: delivered}
"""


def test_spec_environment(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(SPEC % '"0.14.4"'))
    assert load_spec(str(path)).cluster.metallb_version == (14, 4)
    path.write_text(textwrap.dedent(SPEC % '"0.14"'))
    with pytest.raises(InputError, match=r"environment\.metallbVersion: Invalid value"):
        load_spec(str(path))


def _manifests(conditions: dict, etp: str) -> str:  # type: ignore[type-arg]
    """MANIFESTS with the endpoint's conditions and the Service's externalTrafficPolicy replaced."""
    text = MANIFESTS.replace("externalTrafficPolicy: Local", f"externalTrafficPolicy: {etp}")
    if etp == "Cluster":
        text = text.replace("  healthCheckNodePort: 32000\n", "")
    flags = ", ".join(f"{k}: {str(v).lower()}" for k, v in conditions.items())
    return text.replace("conditions: {ready: false, serving: true, terminating: true}", f"conditions: {{{flags}}}")


# The same rows as ROWS, through `kverify check` on plain manifests: the built-in check
# metallb-announces-usable-endpoints fails (exit 1) exactly when the release counts no endpoint the proxy uses.
CHECK_ROWS = [
    pytest.param("0.13.12", SHUTTING_DOWN, "Local", 1, id="v0.13.12: a terminating serving pod is not counted"),
    pytest.param("0.13.12", SHUTTING_DOWN, "Cluster", 1, id="v0.13.12: eTP Cluster, not announced either"),
    pytest.param("0.14.0", SHUTTING_DOWN, "Local", 0, id="v0.14.0: serving counts"),
    pytest.param(None, SHUTTING_DOWN, "Local", 0, id="default (newest): serving counts"),
    pytest.param("0.13.0", PUBLISHED_NOT_READY, "Local", 0, id="v0.13.0: Ready counts whatever serving says"),
    pytest.param("0.14.4", PUBLISHED_NOT_READY, "Local", 1, id="v0.14.4: serving first, a Ready pod not counted"),
    pytest.param("0.14.4", PUBLISHED_NOT_READY, "Cluster", 1, id="v0.14.4: eTP Cluster, not counted either"),
    pytest.param("0.14.5", PUBLISHED_NOT_READY, "Local", 0, id="v0.14.5: Ready or serving"),
]


@pytest.mark.parametrize(("release", "conditions", "etp", "exit_code"), CHECK_ROWS)
def test_check_takes_the_release(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys: pytest.CaptureFixture[str], release, conditions, etp, exit_code
) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(_manifests(conditions, etp))
    flags = ["--metallb-version", release] if release else []
    args = ["check", str(path), "--load-balancer", "metallb-l2", "--format", "json", *flags]
    assert main([*args, "--write-counterexamples", str(tmp_path / "cx")]) == exit_code
    results = json.loads(capsys.readouterr().out)["results"]
    failed = [r["verdict"] for r in results if r["claim"] == "metallb-announces-usable-endpoints"]
    assert bool(failed) == bool(exit_code)
    if failed:
        assert failed[0]["verdict"] == "refuted"
        cx = failed[0]["counterexample"]
        assert f"--metallb-version {release}" in cx["command"]  # the reproduce command traces the same release
        assert cx["outcome"]["rules"] == ["lb-metallb-announce"] and cx["outcome"]["node"] is None


def test_check_refuses_a_bad_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(MANIFESTS)
    assert main(["check", str(path), "--load-balancer", "metallb-l2", "--metallb-version", "0.14"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--metallb-version: Invalid value")


# `kverify prove` over every cluster: the claim metallb-announces-usable-endpoints holds from v0.14.5 only. The
# counterexamples are the two kinds of endpoint the rows above name (cited there).
PROVE_ROWS = [
    pytest.param(None, "proved", None, id="default (newest): holds"),
    pytest.param("0.14.5", "proved", None, id="v0.14.5: holds"),
    pytest.param("0.14.4", "refuted", PUBLISHED_NOT_READY, id="v0.14.4: refuted by a Ready, not serving pod"),
    pytest.param("0.14.0", "refuted", PUBLISHED_NOT_READY, id="v0.14.0: refuted by a Ready, not serving pod"),
    pytest.param("0.13.12", "refuted", SHUTTING_DOWN, id="v0.13.12: refuted by a terminating serving pod"),
]


@pytest.mark.parametrize(("release", "verdict", "endpoint"), PROVE_ROWS)
def test_prove_takes_the_release(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys: pytest.CaptureFixture[str], release, verdict, endpoint
) -> None:
    flags = ["--metallb-version", release] if release else []
    args = ["prove", "metallb-announces-usable-endpoints", "--dataplane", "iptables", "--format", "json", *flags]
    assert main([*args, "--write-counterexamples", str(tmp_path)]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["metallb_version"] == "v" + (release or "0.16.1")
    (result,) = document["results"]
    assert result["verdict"] == verdict
    if endpoint is not None:
        (written,) = tmp_path.glob("cx-*.yaml")
        assert endpoint == {
            "ready": "ready: false" not in written.read_text(),
            "serving": "serving: false" not in written.read_text(),
            "terminating": "terminating: true" in written.read_text(),
        }
        assert f"--metallb-version {release}" in result["counterexample"]["command"]


def test_prove_refuses_a_bad_release(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "metallb-announces-usable-endpoints", "--metallb-version", "0.12.0"]) == 2
    assert "--metallb-version: Unsupported value" in capsys.readouterr().err


def _counterexample_id(release: str, capsys: pytest.CaptureFixture[str]) -> str:
    args = ["prove", "metallb-announces-usable-endpoints", "--dataplane", "iptables", "--format", "json"]
    assert main([*args, "--metallb-version", release]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["verdict"] == "refuted"
    return str(result["counterexample"]["id"])


def test_counterexample_ids_name_the_release(capsys: pytest.CaptureFixture[str]) -> None:
    # v0.14.0 and v0.14.4 are refuted by the same cluster and flow (a Ready, not serving pod): the manifest alone
    # is the same, but the citations are two different answers (each reproduce command names its release).
    first = _counterexample_id("0.14.0", capsys)
    assert first != _counterexample_id("0.14.4", capsys)
    assert first == _counterexample_id("0.14.0", capsys)  # and the id is stable for the same inputs


# `kverify diff` with the release: the old side's only pod is shutting down (Ready false, serving true), the new side's
# is published not ready (Ready true, serving false). kube-proxy routes to both (eTP Local: the serving terminating
# fallback, and Ready), so the load balancer's path changes only where the release counts one side's pod and not the
# other's (the conditions cited in ROWS). The release reaches both sides: before at v0.13.12, after at v0.14.x.
DIFF_ROWS = [
    pytest.param("0.13.12", False, True, id="v0.13.12: the old pod was not announced, the new one is"),
    pytest.param("0.14.0", True, False, id="v0.14.0: the old pod was announced, the new one is not"),
    pytest.param("0.14.4", True, False, id="v0.14.4: serving first: the new pod is not announced"),
    pytest.param("0.14.5", True, True, id="v0.14.5: Ready or serving: both announced"),
    pytest.param(None, True, True, id="default (newest): both announced"),
]


@pytest.mark.parametrize(("release", "before", "after"), DIFF_ROWS)
def test_diff_takes_the_release(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys: pytest.CaptureFixture[str], release, before, after
) -> None:
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(_manifests(SHUTTING_DOWN, "Local"))
    new.write_text(_manifests(PUBLISHED_NOT_READY, "Local"))
    flags = ["--metallb-version", release] if release else []
    args = ["diff", str(old), str(new), "--load-balancer", "metallb-l2", "--format", "json", *flags]
    assert main(args) == 0  # no spec claim on either side
    changes = json.loads(capsys.readouterr().out)["changes"]
    lb = [c for c in changes if (c["entry_point"], c["client"]) == ("load-balancer", "external")]
    (change,) = lb  # listed even when both deliver: the old side's pod is not Ready, so the pod shares differ
    sides = {"before": before, "after": after}
    for side, announced in sides.items():
        assert [k["delivered"] for k in change[side]["kinds"]] == [announced]
    if not (before and after):
        dropped = next(w for w in change["witnesses"] if not w["kind"]["delivered"])
        assert dropped["outcome"]["rules"] == ["lb-metallb-announce"] and dropped["outcome"]["node"] is None


def test_diff_refuses_a_bad_release(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(MANIFESTS)
    assert main(["diff", str(path), str(path), "--load-balancer", "metallb-l2", "--metallb-version", "0.14"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--metallb-version: Invalid value")
