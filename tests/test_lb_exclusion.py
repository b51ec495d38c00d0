"""Nodes labelled node.kubernetes.io/exclude-from-external-load-balancers: flows through a load balancer
that leaves them out are Unknown, never a DROP at a node the load balancer never picks.

The values come from the sources (see kverify/concrete/lb_exclusion.py): the cloud service
controller keeps a node whose label value Go's strconv.ParseBool reads as false and leaves out every
other value (kubeadm's is ""); MetalLB and the AWS Load Balancer Controller leave out any node that
has the label; kube-vip does not read it.
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


def test_a_kubeadm_control_plane_node_makes_the_lb_flow_unknown_not_a_drop(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: the LB without health checks "sent" to cp-1, which has no endpoint: a false DROP finding.
    code = main(["check", _snapshot(tmp_path, '""'), "--load-balancer", "no-health-check"])
    out = capsys.readouterr().out
    assert code == 3
    assert "UNKNOWN etp-local-lb-without-health-checks" in out and "node cp-1 is labelled" in out


def test_a_false_value_keeps_the_node_in_a_cloud_load_balancer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", _snapshot(tmp_path, '"false"'), "--load-balancer", "no-health-check"])
    out = capsys.readouterr().out
    assert code == 1 and "at cp-1: DROPPED" in out


@pytest.mark.parametrize(
    ("profile", "value", "excluded"),
    [
        (LoadBalancerProfile.HEALTH_CHECKED, "", True),
        (LoadBalancerProfile.HEALTH_CHECKED, "true", True),
        (LoadBalancerProfile.HEALTH_CHECKED, "yes", True),  # not a Go boolean: ParseBool fails, left out
        (LoadBalancerProfile.NO_HEALTH_CHECK, "false", False),
        (LoadBalancerProfile.NO_HEALTH_CHECK, "0", False),
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


def test_at_design_time_a_labelled_node_pool_makes_lb_claims_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    ingress = Path(__file__).resolve().parent.parent / "kverify/data/specs/manifests/public/ingress-nginx-cloud.yaml"
    pools = ["--node-pool", f"cp=1,label={EXCLUDE_FROM_LB_LABEL}=", "--node-pool", "workers=2"]
    assert main(["check", str(ingress), "--load-balancer", "no-health-check", *pools]) == 3
    assert "node pool cp is labelled" in capsys.readouterr().out
    # Without the label the same pools give the finding (a node without a controller pod drops).
    assert main(["check", str(ingress), "--load-balancer", "no-health-check", "--node-pool", "workers=3"]) == 1


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


def test_trace_says_unknown_with_exit_3_not_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["trace", _snapshot(tmp_path, '""'), "--service", "shop/web", "--to", "load-balancer", "--from", "external"]
    assert main([*argv, "--load-balancer", "no-health-check"]) == 3
    assert "not modelled: node cp-1 is labelled" in capsys.readouterr().err
