"""Built-in check ``etp-local-lb-without-healthy-target``: eTP Local behind a load balancer that probes the
healthCheckNodePort, where no node it targets has a Ready endpoint.

What Kubernetes does, and what the expected values below come from:
- kube-proxy's healthCheckNodePort answers 200 only on a node with a local Ready endpoint
  (pkg/proxy/healthcheck/service_health.go hcHandler.ServeHTTP), and an endpoint without nodeName is
  local to no node (pkg/proxy/endpointslicecache.go: IsLocal compares nodeName with the proxy's own);
- the cloud service controller, the AWS LBC (instance targets) and MetalLB leave a node labelled
  node.kubernetes.io/exclude-from-external-load-balancers out of their targets (kubernetes/cloud-provider
  controllers/service/controller.go nodeIncludedPredicate), and kubeadm puts it on control-plane nodes;
- with every target failing, an AWS NLB and a GCP passthrough load balancer fail open and send to every
  target (AWS docs target-group-health-checks.html; GCP docs ext-netlb-traffic-distribution), where
  eTP Local finds no local endpoint and kube-proxy DROPs; a Classic ELB sends only to healthy instances
  (AWS docs elb-healthchecks.html), so to none.

Before the check existed, ``kverify check`` said "nothing to check" on these manifests (exit 4).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from kverify.check import facts_for, run_builtin
from kverify.check.findings import CheckResult
from kverify.cli import main
from kverify.concrete import route
from kverify.concrete.route import load_balancer_may_pick
from kverify.load import load_manifests, to_cluster
from kverify.model import ClientKind, Cluster, Destination, Flow, LoadBalancerProfile
from kverify.verdicts import Refuted

MANIFEST = str(Path(__file__).parent / "data" / "lb-no-healthy-target" / "manifests.yaml")
CHECK = "etp-local-lb-without-healthy-target"
FAILS_OPEN = [LoadBalancerProfile.HEALTH_CHECKED, LoadBalancerProfile.AWS_NLB_INSTANCE]


def run(lb: LoadBalancerProfile) -> tuple[Cluster, dict[tuple[str, str], CheckResult], int]:
    loaded = load_manifests([MANIFEST])
    cluster = to_cluster(loaded, load_balancer=lb)
    facts = facts_for(cluster, ip_blocks=loaded.ip_blocks, intents=loaded.intents)
    checked = run_builtin(cluster, facts, files=[MANIFEST])
    return cluster, {(r.claim, r.service): r for r in checked.results}, checked.builtin_passed


@pytest.mark.parametrize("lb", FAILS_OPEN, ids=lambda p: p.spelling)
@pytest.mark.parametrize(
    "service",
    [
        pytest.param("shop/on-control-plane", id="every Ready pod on a node the load balancer leaves out"),
        pytest.param("shop/no-node-name", id="every Ready endpoint names no node"),
    ],
)
def test_the_load_balancer_fails_open_onto_a_node_that_drops(lb: LoadBalancerProfile, service: str) -> None:
    cluster, found, _ = run(lb)
    result = found[(CHECK, service)]
    assert isinstance(result.verdict, Refuted) and result.status == "fail"
    cx = result.verdict.counterexample
    # node-a is a target with no Ready endpoint (node-c is left out): it fails its probe like every target.
    assert cx.flow.node == "node-a" and cx.outcome.node == "node-a"
    assert not cx.outcome.delivered and cx.outcome.drop_kind is not None and cx.outcome.drop_kind.spelling == "drop"
    assert "drop-no-local-endpoints" in cx.outcome.rules
    assert cx.outcome in route(cluster, cx.flow)  # the executable model, on the user's own manifests
    assert load_balancer_may_pick(cluster, cx.flow)  # the rule table: no target passes, so the LB fails open


@pytest.mark.parametrize("service", ["shop/on-control-plane", "shop/no-node-name"])
def test_a_classic_elb_sends_nowhere(service: str) -> None:
    cluster, found, _ = run(LoadBalancerProfile.AWS_CLASSIC_ELB)
    cx = found[(CHECK, service)].verdict.counterexample  # type: ignore[union-attr]
    assert cx.outcome.node is None and not cx.outcome.delivered
    assert cx.outcome in route(cluster, cx.flow)
    # Nothing reaches a pod, so the client-IP check has nothing to say (it asked an excluded node before).
    assert ("etp-local-behind-rewriting-lb", service) not in found


@pytest.mark.parametrize("lb", [*FAILS_OPEN, LoadBalancerProfile.AWS_CLASSIC_ELB], ids=lambda p: p.spelling)
def test_one_healthy_target_is_enough(lb: LoadBalancerProfile) -> None:
    cluster, found, passed = run(lb)
    assert (CHECK, "shop/one-target-healthy") not in found
    assert passed >= 1
    # The load balancer sends only to node-b, the one target passing its probe, where the pod is.
    flow = Flow(service="shop/one-target-healthy", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
    outcomes = route(cluster, flow)
    assert outcomes and all(o.delivered and o.node == "node-b" for o in outcomes)


@pytest.mark.parametrize(
    "lb", [LoadBalancerProfile.NO_HEALTH_CHECK, LoadBalancerProfile.METALLB_L2, LoadBalancerProfile.IP_TARGET]
)
def test_load_balancers_that_do_not_probe_the_health_check_node_port_are_not_asked(lb: LoadBalancerProfile) -> None:
    _, found, _ = run(lb)
    assert not [key for key in found if key[0] == CHECK]


def test_kverify_check_reports_it_and_its_reproduce_command_shows_the_drop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", MANIFEST]) == 1  # was 4, "nothing checked"
    report = capsys.readouterr().out
    assert f"FAIL    {CHECK}" in report and "shop/on-control-plane" in report
    assert "which the load balancer leaves out" in report
    commands = [line.split("reproduce: ", 1)[1] for line in report.splitlines() if "reproduce: " in line]
    assert len(commands) == 2
    for command in commands:
        argv = shlex.split(command)
        assert argv[1] == "trace"
        main(argv[1:])
        assert "at node-a: DROPPED" in capsys.readouterr().out


# At design time (a Deployment, no EndpointSlice): every replica is Ready, so only the exclusion label can leave
# the load balancer without a healthy target. The ingress controller pinned to the control plane, which kubeadm
# labels out of external load balancers.
DESIGN = """\
apiVersion: v1
kind: Service
metadata: {name: ingress, namespace: edge}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  ports: [{name: http, port: 80, targetPort: 8080}]
  selector: {app: ingress}
status: {loadBalancer: {ingress: [{ip: 198.51.100.30}]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: ingress, namespace: edge}
spec:
  replicas: 2
  selector: {matchLabels: {app: ingress}}
  template:
    metadata: {labels: {app: ingress}}
    spec:
      nodeSelector: {node-role.kubernetes.io/control-plane: ""}
      tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}]
      containers: [{name: ingress, image: ingress:1, ports: [{containerPort: 8080}]}]
"""
CONTROL_PLANE = (
    "cp=1,label=node-role.kubernetes.io/control-plane=,taint=node-role.kubernetes.io/control-plane=:NoSchedule"
)
EXCLUDED = ",label=node.kubernetes.io/exclude-from-external-load-balancers="


@pytest.mark.parametrize(
    ("pool", "lb", "expected"),
    [
        pytest.param(CONTROL_PLANE + EXCLUDED, "health-checked", 1, id="pinned to excluded nodes: fails open, drops"),
        pytest.param(CONTROL_PLANE + EXCLUDED, "aws-nlb-instance", 1, id="the same behind an NLB"),
        pytest.param(CONTROL_PLANE + EXCLUDED, "aws-classic-elb", 1, id="behind a Classic ELB: sent nowhere"),
        pytest.param(CONTROL_PLANE, "health-checked", 4, id="control plane not excluded: nothing to ask"),
    ],
)
def test_at_design_time_replicas_pinned_to_nodes_the_lb_leaves_out(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pool: str,
    lb: str,
    expected: int,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "design.yaml").write_text(DESIGN)
    argv = ["check", "design.yaml", "--node-pool", pool, "--node-pool", "workers=2", "--load-balancer", lb]
    assert main(argv) == expected
    report = capsys.readouterr().out
    assert (f"FAIL    {CHECK}" in report) == (expected == 1)
    if expected != 1:
        return
    (command,) = [line.split("reproduce: ", 1)[1] for line in report.splitlines() if "reproduce: " in line]
    main(shlex.split(command)[1:])
    replayed = capsys.readouterr().out
    assert "0 delivered" in replayed and "DROPPED" in replayed
