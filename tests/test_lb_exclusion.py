"""Nodes labelled node.kubernetes.io/exclude-from-external-load-balancers: the load balancers that read the
label never send to them (rule lb-exclude-label), and fail open over their other targets only.

The values come from the sources (see kverify/concrete/lb_exclusion.py): the cloud service
controller keeps a node whose label value Go's strconv.ParseBool reads as false (from v1.34,
kubernetes/cloud-provider e0d9f9a; before, any value left it out) and leaves out every other value
(kubeadm's is ""); MetalLB and the AWS Load Balancer Controller leave out any node that has the
label; kube-vip and k3s ServiceLB do not read it; Cilium picks nodes by its own policies' node
selectors, which kverify does not read (Unknown). An NLB that finds every registered target
unhealthy fails open to the registered targets (AWS target-group-health-checks docs), never to a node
it does not know.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from kverify.cli import main
from kverify.concrete.lb_exclusion import excluded_nodes
from kverify.model import Cluster, LoadBalancerProfile, Node
from kverify.model.workload import EXCLUDE_FROM_LB_LABEL

SNAPSHOT = """\
apiVersion: v1
kind: Node
metadata: {name: cp-1, labels: {node-role.kubernetes.io/control-plane: "", LABEL: VALUE}}
status: {addresses: [{type: InternalIP, address: 192.168.0.10}]}
---
apiVersion: v1
kind: Node
metadata: {name: worker-1}
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
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
  selector: {app: web}
status: {loadBalancer: {ingress: [{ip: 198.51.100.10}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{port: 8080, protocol: TCP}]
endpoints:
- addresses: [10.244.1.5]
  nodeName: worker-1
  conditions: {ready: true}
"""


def _snapshot(tmp_path: Path, value: str) -> str:
    path = tmp_path / "cluster.yaml"
    path.write_text(SNAPSHOT.replace("LABEL", EXCLUDE_FROM_LB_LABEL).replace("VALUE", value))
    return str(path)


def test_a_kubeadm_control_plane_node_is_not_a_target_so_nothing_drops_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before issue 10 the flow was Unknown; before that the LB "sent" to cp-1 (no endpoint): a false DROP.
    code = main(["check", _snapshot(tmp_path, '""'), "--load-balancer", "no-health-check"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 found nothing wrong" in out


def test_a_false_value_keeps_the_node_in_a_cloud_load_balancer_from_v1_34(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", _snapshot(tmp_path, '"false"'), "--load-balancer", "no-health-check"])
    out = capsys.readouterr().out
    assert code == 1 and "at cp-1: DROPPED" in out


def test_before_v1_34_any_value_left_the_node_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """kubernetes/cloud-provider before e0d9f9a: nodeIncludedPredicate tested the label's presence only."""
    argv = ["check", _snapshot(tmp_path, '"false"'), "--load-balancer", "no-health-check"]
    assert main([*argv, "--kubernetes-version", "1.33"]) == 0, capsys.readouterr().out


def _route(tmp_path: Path, value: str, profile: str, *, ready_on: str = "worker-1", version: str = "1.34") -> list:
    from kverify.concrete.route import route
    from kverify.load import load_manifests
    from kverify.model import ClientKind, Destination, Flow, ProxyConfig

    text = Path(_snapshot(tmp_path, value)).read_text().replace("nodeName: worker-1", f"nodeName: {ready_on}")
    Path(tmp_path / "cluster.yaml").write_text(text)
    loaded = load_manifests([str(tmp_path / "cluster.yaml")])
    proxy = ProxyConfig(kubernetes_version=int(version.split(".")[1]))
    cluster = Cluster(
        nodes=loaded.nodes, services=loaded.services, proxy=proxy, load_balancer=LoadBalancerProfile.parse(profile)
    )
    flow = Flow(service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
    return list(route(cluster, flow))


def test_fail_open_counts_only_the_targets(tmp_path: Path) -> None:
    """The only Ready pod runs on the labelled cp-1: the health-checked LB has one target, worker-1, which fails
    its probe; it fails open to its targets (worker-1, which DROPs under eTP Local), never to cp-1."""
    outcomes = _route(tmp_path, '""', "health-checked", ready_on="cp-1")
    assert [(o.node, o.delivered) for o in outcomes] == [("worker-1", False)]
    assert "lb-fail-open" in outcomes[0].rules or outcomes[0].drop_kind is not None
    # Unlabelled (value false keeps it from v1.34), cp-1 passes its probe: the LB sends there only.
    kept = _route(tmp_path, '"false"', "health-checked", ready_on="cp-1")
    assert [(o.node, o.delivered) for o in kept] == [("cp-1", True)]


def test_metallb_never_announces_from_a_labelled_node_whatever_the_value(tmp_path: Path) -> None:
    outcomes = _route(tmp_path, '"false"', "metallb-l2", ready_on="cp-1")
    assert [(o.node, o.delivered) for o in outcomes] == [(None, False)]  # only cp-1 has a pod: nobody announces
    assert outcomes[0].rules == ("lb-metallb-announce",)


def test_kube_vip_ignores_the_label(tmp_path: Path) -> None:
    outcomes = _route(tmp_path, '""', "kube-vip", ready_on="cp-1")
    assert [(o.node, o.delivered) for o in outcomes] == [("cp-1", True)]


def test_every_node_labelled_leaves_the_cloud_lb_without_a_target(tmp_path: Path) -> None:
    from kverify.concrete.route import route
    from kverify.model import ClientKind, Destination, Flow

    label = ((EXCLUDE_FROM_LB_LABEL, "true"),)
    nodes = tuple(Node(name=f"n{i}", addresses=(f"192.168.0.{10 + i}",), labels=label) for i in range(2))
    from kverify.model import Endpoint, LoadBalancerIngress, Service, ServicePort, ServiceType, TrafficPolicy

    service = Service(
        namespace="shop",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.96.0.10",),
        external_traffic_policy=TrafficPolicy.CLUSTER,
        ports=(ServicePort(port=80, target_port=8080, node_port=30080),),
        load_balancer_ingress=(LoadBalancerIngress(ip="198.51.100.10"),),
        endpoints=(Endpoint(ip="10.244.1.5", node_name="n1"),),
    )
    cluster = Cluster(nodes=nodes, services=(service,), load_balancer=LoadBalancerProfile.NO_HEALTH_CHECK)
    flow = Flow(service="shop/web", client=ClientKind.EXTERNAL, destination=Destination.LOAD_BALANCER)
    (outcome,) = route(cluster, flow)
    assert not outcome.delivered and outcome.rules == ("lb-exclude-label",)


def test_cilium_picks_nodes_by_its_own_selectors_so_labelled_nodes_stay_unknown(tmp_path: Path) -> None:
    from kverify.concrete.lb_exclusion import exclusion_reason
    from kverify.load import load_manifests

    loaded = load_manifests([_snapshot(tmp_path, '""')])
    for profile in (LoadBalancerProfile.CILIUM_L2, LoadBalancerProfile.CILIUM_BGP):
        cluster = Cluster(nodes=loaded.nodes, services=loaded.services, load_balancer=profile)
        reason = exclusion_reason(cluster, loaded.services[0]) or ""
        assert f"{profile.spelling} does not read that label but picks nodes by its own policy's nodeSelector" in reason
        bare = Cluster(nodes=loaded.nodes[1:], services=loaded.services, load_balancer=profile)
        assert exclusion_reason(bare, loaded.services[0]) is None  # no labelled node: modelled as before


@pytest.mark.parametrize(
    ("profile", "value", "excluded"),
    [
        (LoadBalancerProfile.HEALTH_CHECKED, "", True),
        (LoadBalancerProfile.HEALTH_CHECKED, "true", True),
        (LoadBalancerProfile.HEALTH_CHECKED, "yes", True),  # not a Go boolean: ParseBool fails, left out
        (LoadBalancerProfile.NO_HEALTH_CHECK, "false", False),
        (LoadBalancerProfile.NO_HEALTH_CHECK, "0", False),
        (LoadBalancerProfile.AWS_CLASSIC_ELB, "", True),  # cloud-provider-aws: the same service controller
        (LoadBalancerProfile.AWS_CLASSIC_ELB, "false", False),
        (LoadBalancerProfile.METALLB_L2, "false", True),  # presence, any value
        (LoadBalancerProfile.METALLB_BGP, "", True),
        (LoadBalancerProfile.AWS_NLB_INSTANCE, "false", True),  # DoesNotExist selector
        (LoadBalancerProfile.KUBE_VIP, "", False),
        (LoadBalancerProfile.K3S_SERVICELB, "", False),  # servicelb.go: enablelb/lbpool only, tolerates taints
        (LoadBalancerProfile.CILIUM_L2, "", True),  # not verified at its source: Unknown
        (LoadBalancerProfile.IP_TARGET, "", False),
    ],
)
def test_how_each_load_balancer_reads_the_label(profile: LoadBalancerProfile, value: str, excluded: bool) -> None:
    node = Node(name="cp-1", addresses=("192.168.0.10",), labels=((EXCLUDE_FROM_LB_LABEL, value),))
    other = Node(name="worker-1", addresses=("192.168.0.11",))
    cluster = Cluster(nodes=(node, other), services=())
    assert excluded_nodes(cluster, profile) == (("cp-1",) if excluded else ())


def test_at_design_time_the_load_balancer_never_picks_a_labelled_pool(capsys: pytest.CaptureFixture[str]) -> None:
    """One controller replica on pools cp (labelled, kubeadm's "") and workers (2): the LB without health checks
    sends only to the workers, and one of them has no replica, whichever node the replica runs on."""
    ingress = Path(__file__).resolve().parent.parent / "kverify/data/specs/manifests/public/ingress-nginx-cloud.yaml"
    pools = ["--node-pool", f"cp=1,label={EXCLUDE_FROM_LB_LABEL}=", "--node-pool", "workers=2"]
    assert main(["check", str(ingress), "--load-balancer", "no-health-check", *pools]) == 1
    out = capsys.readouterr().out
    assert "at workers-" in out and "at cp-1" not in out
    # Every node labelled: the load balancer has no target, so every packet to its address is lost.
    only_cp = ["--node-pool", f"cp=2,label={EXCLUDE_FROM_LB_LABEL}=true"]
    assert main(["check", str(ingress), "--load-balancer", "no-health-check", *only_cp]) == 1
    out = capsys.readouterr().out
    assert "via load balancer: DROPPED (silently)  [lb-exclude-label]" in out and "has no target" in out
    # The finding says why: no node is a target, wherever the pods run; not the eTP Local check's own reason.
    assert "at design time: no node is a target of the load balancer (no-health-check)" in out
    assert "a cluster may have a node without a replica" not in out and "drop-no-local-endpoints" not in out


def test_at_design_time_a_pod_on_a_labelled_pool_is_behind_a_health_checked_lb_that_fails_open(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The replica may run on the labelled cp node (no taint keeps it off): the health-checked LB's targets are the
    workers, whose probes fail, so it fails open to them (rule lb-fail-open over the targets), which DROP."""
    ingress = Path(__file__).resolve().parent.parent / "kverify/data/specs/manifests/public/ingress-nginx-cloud.yaml"
    (tmp_path / "deploy.yaml").write_text(ingress.read_text())
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        f"""apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {{name: ingress}}
manifests: [deploy.yaml]
nodes:
  - {{pool: cp, count: 1, labels: {{{EXCLUDE_FROM_LB_LABEL}: ""}}}}
  - {{pool: workers, count: 2}}
environment: {{dataplane: iptables, loadBalancer: health-checked}}
claims:
  - {{id: reach, service: ingress-nginx/ingress-nginx-controller, property: delivered}}
"""
    )
    assert main(["check", str(spec)]) == 1
    out = capsys.readouterr().out
    assert "placement: cp-1: ingress-nginx-controller-0" in out and "at workers-" in out
    # Unlabelled, the same pools are fine: the probe finds the replica wherever it runs.
    spec.write_text(spec.read_text().replace(f'labels: {{{EXCLUDE_FROM_LB_LABEL}: ""}}', "labels: {}"))
    assert main(["check", str(spec)]) == 0, capsys.readouterr().out


def test_k3s_servicelb_node_selection_by_enablelb_is_unknown_not_a_guess() -> None:
    """k3s-io/k3s pkg/cloudprovider/servicelb.go: once a node carries svccontroller.k3s.cattle.io/enablelb, the svclb
    DaemonSet runs only on nodes with enablelb=true (nodeHasDaemonSetLabel, newDaemonSet nodeSelector)."""
    from kverify.concrete.lb_exclusion import K3S_ENABLELB, exclusion_reason, k3s_unselected_nodes
    from kverify.model import Service, ServiceType

    on = Node(name="node-a", addresses=("192.168.0.10",), labels=((K3S_ENABLELB, "true"),))
    off = Node(name="node-b", addresses=("192.168.0.11",), labels=((K3S_ENABLELB, "false"),))
    bare = Node(name="node-c", addresses=("192.168.0.12",))
    service = Service(namespace="default", name="web", type=ServiceType.LOAD_BALANCER)
    k3s = Cluster(nodes=(on, off, bare), services=(service,), load_balancer=LoadBalancerProfile.K3S_SERVICELB)
    assert k3s_unselected_nodes(k3s) == ("node-b", "node-c")
    assert "node node-b (and 1 more) is not labelled" in (exclusion_reason(k3s, service) or "")
    every = Cluster(nodes=(on, attrs.evolve(off, labels=((K3S_ENABLELB, "true"),))), services=(service,))
    assert k3s_unselected_nodes(every) == ()
    assert k3s_unselected_nodes(Cluster(nodes=(bare,))) == ()  # no node labelled: every node runs a svclb pod


def test_trace_of_a_cilium_lb_says_unknown_with_exit_3_not_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["trace", _snapshot(tmp_path, '""'), "--service", "shop/web", "--to", "load-balancer", "--from", "external"]
    assert main([*argv, "--load-balancer", "cilium-bgp", "--dataplane", "cilium-snat"]) == 3
    assert "not modelled: node cp-1 is labelled" in capsys.readouterr().err


def test_trace_through_a_cloud_lb_skips_the_labelled_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["trace", _snapshot(tmp_path, '""'), "--service", "shop/web", "--to", "load-balancer", "--from", "external"]
    assert main([*argv, "--load-balancer", "no-health-check"]) == 0
    out = capsys.readouterr().out
    assert "worker-1" in out and "cp-1" not in out


def test_metallbs_check_blames_the_label_not_the_release_when_the_node_is_labelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The only Ready pod runs on cp-1, which carries the exclusion label: the newest MetalLB release
    # counts a Ready pod, so the label alone keeps the speakers from announcing (IsNodeExcludedFromBalancers).
    text = Path(_snapshot(tmp_path, '"false"')).read_text().replace("nodeName: worker-1", "nodeName: cp-1")
    (tmp_path / "cluster.yaml").write_text(text)
    assert main(["check", str(tmp_path / "cluster.yaml"), "--load-balancer", "metallb-l2"]) == 1
    out = capsys.readouterr().out
    assert f"cp-1 has an endpoint the proxy uses, but it carries the label {EXCLUDE_FROM_LB_LABEL}" in out
    assert "does not count it" not in out
    # Unlabelled, the same node is announced from: nothing to find.
    (tmp_path / "cluster.yaml").write_text(text.replace(f'{EXCLUDE_FROM_LB_LABEL}: "false"', "other: x"))
    assert main(["check", str(tmp_path / "cluster.yaml"), "--load-balancer", "metallb-l2"]) == 0
