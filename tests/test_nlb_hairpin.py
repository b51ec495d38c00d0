"""A pod or node connecting to its own Service through the Service's AWS NLB (instance targets), by hostname.

Expected values come from AWS's documentation (rule ``lb-aws-nlb-hairpin``):
docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-troubleshooting.html#loopback-timeout
('NAT loopback, also known as hairpinning, is not supported when client IP preservation is enabled ... the
connection succeeds only if the request is routed to a different instance ... this applies to Amazon EKS pods
running in the same EC2 worker node instance') and edit-target-group-attributes.html (preservation on by
default for instance targets), never from kverify's output.
"""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from kverify.cli import main
from kverify.concrete import route
from kverify.errors import NotModelled
from kverify.model import (
    ClientKind,
    Cluster,
    Destination,
    DropKind,
    Endpoint,
    Flow,
    LoadBalancerIngress,
    LoadBalancerProfile,
    Node,
    Service,
    ServicePort,
    ServiceType,
    TrafficPolicy,
)

HOSTNAME = "web-123.elb.us-east-1.amazonaws.com"


def _cluster(
    *, nodes: int = 2, etp: TrafficPolicy = TrafficPolicy.LOCAL, preserve: bool | None = None, profile=None
) -> Cluster:  # type: ignore[no-untyped-def]
    service = Service(
        namespace="shop",
        name="web",
        type=ServiceType.LOAD_BALANCER,
        cluster_ips=("10.96.0.30",),
        ports=(ServicePort(port=80, node_port=30030),),
        external_traffic_policy=etp,
        health_check_node_port=32000 if etp is TrafficPolicy.LOCAL else None,
        load_balancer_ingress=(LoadBalancerIngress(hostname=HOSTNAME),),
        endpoints=(Endpoint(ip="10.244.1.5", node_name="node-a"),),
        lb_preserve_client_ip=preserve,
    )
    names = ("node-a", "node-b", "node-c")[:nodes]
    return Cluster(
        nodes=tuple(Node(name=n, addresses=(f"192.168.0.{11 + i}",)) for i, n in enumerate(names)),
        services=(service,),
        load_balancer=LoadBalancerProfile.AWS_NLB_INSTANCE if profile is None else profile,
    )


def _flow(client: ClientKind, node: str | None = "node-a") -> Flow:
    return Flow(service="shop/web", client=client, destination=Destination.LOAD_BALANCER, node=node)


@pytest.mark.parametrize("client", [ClientKind.POD, ClientKind.NODE], ids=["a pod", "a host-network process"])
def test_the_nlb_sends_the_client_back_to_its_own_node_and_it_times_out(client: ClientKind) -> None:
    # eTP Local: the NLB's health check passes only on node-a (its local endpoint), so it can pick only node-a.
    (outcome,) = route(_cluster(), _flow(client))
    assert (outcome.node, outcome.delivered, outcome.drop_kind) == ("node-a", False, DropKind.DROP)
    assert outcome.rules == ("lb-aws-nlb-hairpin",)
    assert "NAT loopback is not supported" in outcome.hops[-1].note


def test_a_single_node_cluster_under_etp_cluster_times_out_too() -> None:
    (outcome,) = route(_cluster(nodes=1, etp=TrafficPolicy.CLUSTER), _flow(ClientKind.POD))
    assert outcome.drop_kind is DropKind.DROP


def test_every_client_node_when_each_is_the_only_pick() -> None:
    (outcome,) = route(_cluster(nodes=1), _flow(ClientKind.POD, node=None))
    assert outcome.node == "node-a"


@pytest.mark.parametrize(
    ("cluster", "flow", "message"),
    [
        pytest.param(
            _cluster(etp=TrafficPolicy.CLUSTER),
            _flow(ClientKind.POD),
            "may send the connection back to node-a, where it times out",
            id="the NLB may also pick another node: that path is not modelled",
        ),
        pytest.param(
            _cluster(),
            _flow(ClientKind.POD, node="node-b"),
            r"reaches another node \(node-a\)",
            id="a client on a node the NLB never picks",
        ),
        pytest.param(
            _cluster(preserve=False),
            _flow(ClientKind.POD),
            "client IP preservation off",
            id="preserve_client_ip.enabled=false: the NLB connects from its own address",
        ),
        pytest.param(
            _cluster(profile=LoadBalancerProfile.HEALTH_CHECKED),
            _flow(ClientKind.POD),
            "in-cluster clients leave the cluster",
            id="a load balancer not known to be an NLB",
        ),
        pytest.param(
            _cluster(profile=LoadBalancerProfile.AWS_NLB_IP, preserve=True),
            _flow(ClientKind.POD),
            "in-cluster clients leave the cluster",
            id="IP targets: the AWS documentation speaks of instances",
        ),
    ],
)
def test_unknown_where_the_documentation_does_not_decide(cluster: Cluster, flow: Flow, message: str) -> None:
    with pytest.raises(NotModelled, match=message):
        route(cluster, flow)


def test_external_clients_are_unchanged() -> None:
    (outcome,) = route(_cluster(), attrs.evolve(_flow(ClientKind.EXTERNAL), node=None))
    assert outcome.delivered and outcome.endpoint_ip == "10.244.1.5"


MANIFESTS = f"""\
apiVersion: v1
kind: Node
metadata: {{name: node-a}}
status: {{addresses: [{{type: InternalIP, address: 192.168.0.11}}]}}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  annotations: {{service.beta.kubernetes.io/aws-load-balancer-nlb-target-type: instance}}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.30
  ports: [{{port: 80, nodePort: 30030}}]
status: {{loadBalancer: {{ingress: [{{hostname: {HOSTNAME}}}]}}}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: web-1, namespace: shop, labels: {{kubernetes.io/service-name: web}}}}
addressType: IPv4
ports: [{{port: 80}}]
endpoints:
  - {{addresses: [10.244.1.5], nodeName: node-a, conditions: {{ready: true}}}}
"""

SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: nlb}
manifests: [web.yaml]
environment: {loadBalancer: aws-nlb-instance}
claims:
  - {id: pods reach web through its NLB, service: shop/web, from: pod, via: load-balancer, property: delivered}
"""


def test_check_refutes_delivery_through_the_nlb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "web.yaml").write_text(MANIFESTS)
    (tmp_path / "spec.yaml").write_text(SPEC)
    assert main(["check", str(tmp_path / "spec.yaml")]) == 1
    out = capsys.readouterr().out
    assert "lb-aws-nlb-hairpin" in out


def test_check_with_preservation_off_stays_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    off = MANIFESTS.replace(
        "instance}",
        "instance, service.beta.kubernetes.io/aws-load-balancer-target-group-attributes: "
        "preserve_client_ip.enabled=false}",
    )
    (tmp_path / "web.yaml").write_text(off)
    (tmp_path / "spec.yaml").write_text(SPEC)
    assert main(["check", str(tmp_path / "spec.yaml")]) == 3
    assert "client IP preservation off" in capsys.readouterr().out
