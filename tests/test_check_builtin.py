"""Built-in checks (``kverify check MANIFESTS``): each finding names the Service and the claim, and
its counterexample is an outcome the executable model returns for a flow on the real manifests."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from kverify.check import CHECKS, facts_for, run_builtin
from kverify.check.run import locator
from kverify.cli import main
from kverify.concrete import route
from kverify.load import load_manifests, to_cluster
from kverify.model import Dataplane, LoadBalancerProfile, ProxyConfig
from kverify.verdicts import Refuted

DATA = Path(__file__).parent / "data" / "check"
FILES = [str(DATA / "three-nodes.yaml"), str(DATA / "services.yaml"), str(DATA / "policy.yaml")]


def findings(lb: LoadBalancerProfile = LoadBalancerProfile.HEALTH_CHECKED, dataplane: Dataplane = Dataplane.IPTABLES):
    loaded = load_manifests(FILES)
    cluster = to_cluster(loaded, proxy=ProxyConfig(dataplane=dataplane), load_balancer=lb)
    facts = facts_for(cluster, ip_blocks=loaded.ip_blocks, intents=loaded.intents)
    run = run_builtin(cluster, facts, files=FILES, locate=locator(loaded.source_lines))
    return cluster, {(r.claim, r.service): r for r in run.results}, run


@pytest.mark.parametrize(
    ("check", "service", "lb", "expected_node", "drop_or_seen"),
    [
        pytest.param(
            "etp-local-lb-without-health-checks",
            "shop/lb-local",
            LoadBalancerProfile.NO_HEALTH_CHECK,
            "node-c",
            "drop",
            id="eTP Local behind an LB without health checks drops on the node without an endpoint",
        ),
        pytest.param(
            "etp-local-node-port",
            "shop/np-local",
            LoadBalancerProfile.HEALTH_CHECKED,
            "node-b",
            "drop",
            id="eTP Local on a NodePort Service drops on a node without an endpoint",
        ),
        pytest.param(
            "etp-cluster-hides-client-ip",
            "shop/needs-ip",
            LoadBalancerProfile.HEALTH_CHECKED,
            "node-b",
            "192.168.0.12",
            id="eTP Cluster hides the client IP from a Service annotated as needing it",
        ),
        pytest.param(
            "etp-cluster-hides-client-ip",
            "shop/office",
            LoadBalancerProfile.HEALTH_CHECKED,
            "node-b",
            "192.168.0.12",
            id="eTP Cluster hides the client IP from a NetworkPolicy ipBlock naming external clients",
        ),
        pytest.param(
            "etp-local-behind-rewriting-lb",
            "shop/lb-local",
            LoadBalancerProfile.AWS_CLASSIC_ELB,
            "node-a",
            "load-balancer",
            id="eTP Local behind a Classic ELB: the pod sees the ELB, not the client",
        ),
        pytest.param(
            "itp-local-clients-without-endpoint",
            "shop/cache",
            LoadBalancerProfile.HEALTH_CHECKED,
            "node-b",
            "drop",
            id="iTP Local drops the traffic of pods on a node that runs pods but no endpoint",
        ),
        pytest.param(
            "terminating-endpoints-behind-health-checked-lb",
            "shop/draining",
            LoadBalancerProfile.HEALTH_CHECKED,
            "node-b",
            "10.244.2.9",
            id="only terminating endpoints left: the health-checked LB fails open onto a terminating pod",
        ),
        pytest.param(
            "terminating-endpoints-behind-health-checked-lb",
            "shop/draining",
            LoadBalancerProfile.AWS_NLB_INSTANCE,
            "node-b",
            "10.244.2.9",
            id="only terminating endpoints left: an NLB with instance targets fails open onto a terminating pod",
        ),
        pytest.param(
            "no-usable-endpoints",
            "shop/empty",
            LoadBalancerProfile.HEALTH_CHECKED,
            "node-a",
            "reject",
            id="a Service without usable endpoints rejects",
        ),
    ],
)
def test_finding_is_replayed_from_the_real_manifests(check, service, lb, expected_node, drop_or_seen) -> None:  # type: ignore[no-untyped-def]
    cluster, found, _ = findings(lb)
    result = found[(check, service)]
    assert isinstance(result.verdict, Refuted) and result.status == "fail"
    cx = result.verdict.counterexample
    assert cx.flow.service == service and cx.outcome.node == expected_node
    assert cx.outcome in route(cluster, cx.flow)  # the executable model, on the user's own cluster
    if drop_or_seen in ("drop", "reject"):
        assert cx.outcome.drop_kind is not None and cx.outcome.drop_kind.spelling == drop_or_seen
    elif drop_or_seen == "load-balancer":
        assert cx.outcome.delivered and cx.outcome.source_ip_seen == drop_or_seen
    elif drop_or_seen.startswith("192.168"):
        assert cx.outcome.source_ip_seen == drop_or_seen  # SNAT to the arrival node's address
    else:
        assert cx.outcome.endpoint_ip == drop_or_seen
    assert cx.command.startswith("kverify trace ") and f"--service {service}" in cx.command
    assert result.service_location is not None and result.service_location.file.endswith(".yaml")


def test_a_health_checked_lb_raises_no_finding_for_etp_local_with_ready_endpoints() -> None:
    _, found, _ = findings(LoadBalancerProfile.HEALTH_CHECKED)
    assert not [k for k in found if k[1] in ("shop/lb-local", "shop/fine")]


def test_a_proxy_protocol_header_carries_the_client_ip_so_the_rewriting_lb_check_does_not_apply() -> None:
    loaded = load_manifests(FILES)
    cluster = to_cluster(loaded, load_balancer=LoadBalancerProfile.AWS_CLASSIC_ELB)
    facts = facts_for(cluster, ip_blocks=loaded.ip_blocks, intents=loaded.intents)
    with_header = attrs.evolve(cluster, proxy_protocol=True)
    header_facts = facts_for(with_header, ip_blocks=loaded.ip_blocks, intents=loaded.intents)
    claims = lambda c, f: {r.claim for r in run_builtin(c, f, files=FILES).results}  # noqa: E731
    assert "etp-local-behind-rewriting-lb" in claims(cluster, facts)
    assert "etp-local-behind-rewriting-lb" not in claims(with_header, header_facts)


def test_dsr_keeps_the_client_ip_so_the_client_ip_check_passes() -> None:
    _, found, run = findings(dataplane=Dataplane.CILIUM_DSR)
    assert ("etp-cluster-hides-client-ip", "shop/needs-ip") not in found
    assert run.builtin_passed >= 2


def test_every_check_has_a_statement_and_a_reason() -> None:
    assert len({c.id for c in CHECKS}) == len(CHECKS) == 9
    assert all(c.statement.endswith(".") and c.why for c in CHECKS)


def test_network_policy_ip_blocks_are_read_with_their_selector() -> None:
    loaded = load_manifests([str(DATA / "policy.yaml")])
    (rule,) = loaded.ip_blocks
    assert (rule.policy, rule.cidr, rule.excepts, rule.pod_selector) == (
        "shop/office-only",
        "203.0.113.0/24",
        ("203.0.113.128/25",),
        (("app", "office"),),
    )
    assert loaded.intents["shop/office"].selector == (("app", "office"),)
    assert "NetworkPolicy shop/office-only" in loaded.source_lines and not loaded.skipped


def test_a_bad_ip_block_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "np.yaml"
    bad.write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\n"
        "spec:\n  ingress:\n    - from:\n        - ipBlock: {cidr: 300.0.0.0/8}\n"
    )
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f'{bad}:7: NetworkPolicy x/p: spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "300.0.0.0/8": '
        "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
    ]


def test_cli_lists_findings_grouped_by_service_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", *FILES, "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 1
    assert {(r["claim"], r["service"]) for r in document["results"]} == set(findings()[1])
    assert document["summary"]["failed"] == len(document["results"]) == 6


def test_needs_client_ip_flag_names_a_service(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", FILES[0], str(DATA / "policy.yaml"), "--format", "json", "--dataplane", "cilium-dsr"]) == 0
    capsys.readouterr()
    assert main(["check", *FILES, "--needs-client-ip", "shop/nope"]) == 2
    assert 'Not found: "shop/nope"' in capsys.readouterr().err


_GONE_NODE = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.10
  externalTrafficPolicy: Local
  healthCheckNodePort: 32000
  ports: [{name: http, port: 80, nodePort: 30080}]
status: {loadBalancer: {ingress: [{ip: 198.51.100.10}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
  - {addresses: [10.244.9.5], nodeName: node-gone, conditions: {ready: %s, serving: true, terminating: %s}}
"""


@pytest.mark.parametrize(
    ("lb", "ready", "expected"),
    [
        pytest.param(
            "aws-classic-elb",
            "true",
            {("etp-local-lb-without-healthy-target", "shop/web")},
            id="a Ready endpoint only on a node the manifests lack: a Classic ELB has no target that passes",
        ),
        pytest.param(
            "health-checked",
            "false",
            {("terminating-endpoints-behind-health-checked-lb", "shop/web")},
            id="a terminating endpoint only on a node the manifests lack: the LB fails open onto node-a, which drops",
        ),
        pytest.param(
            "aws-nlb-instance",
            "false",
            {("terminating-endpoints-behind-health-checked-lb", "shop/web")},
            id="the same behind an NLB with instance targets: it probes the healthCheckNodePort and fails open too",
        ),
    ],
)
def test_an_endpoint_on_a_node_the_manifests_lack_is_no_arrival_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lb: str, ready: str, expected: set[tuple[str, str]]
) -> None:
    """The load balancer sends to the cluster's nodes, never to one the manifests do not hold: a check
    that picked its arrival node among the endpoints' nodes asked route() about an unknown node, which
    refused it as a bad --node (exit 2)."""
    snapshot = tmp_path / "snapshot.yaml"
    snapshot.write_text(_GONE_NODE % (ready, "false" if ready == "true" else "true"))
    code = main(["check", str(snapshot), "--format", "json", "--load-balancer", lb])
    out, err = capsys.readouterr()
    assert code == 1, err
    document = json.loads(out)
    assert {(r["claim"], r["service"]) for r in document["results"]} == expected
    for result in document["results"]:
        counterexample = result["verdict"]["counterexample"]
        assert counterexample["outcome"]["node"] in (None, "node-a")
        assert "--node node-gone" not in counterexample["command"]
    assert 'node "node-gone" not found in the manifests' in err


def test_without_node_objects_the_endpoints_node_is_still_asked_and_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no Node object at all, no arrival node can be enumerated: the checks stay Unknown with that
    reason, rather than passing for want of a known node to ask."""
    snapshot = tmp_path / "snapshot.yaml"
    snapshot.write_text((_GONE_NODE % ("false", "true")).split("---\n", 1)[1])
    assert main(["check", str(snapshot), "--format", "json"]) == 3
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["claim"] == "terminating-endpoints-behind-health-checked-lb" and result["status"] == "unknown"
    assert result["verdict"]["reason"].startswith("the manifests have no Node objects")
