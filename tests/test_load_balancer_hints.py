"""Well-known annotations choose the load balancer in front of a Service when the user has not.

Rows cite the controller that reads each annotation (see ``kverify/load/lb_hints.py``): the AWS Load
Balancer Controller's ``buildTargetType``/``buildTargetGroupHealthCheckConfig``
(``pkg/service/model_build_target_group.go``), MetalLB's usage docs, and the GCP/Azure providers,
which probe the healthCheckNodePort (``GetServiceHealthCheckPathPort``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kverify.load import load_manifests, to_cluster
from kverify.model import LoadBalancerProfile

AWS = "service.beta.kubernetes.io/aws-load-balancer-"


def lb_service(annotations: dict[str, str] | None = None, **spec: object) -> dict[str, object]:
    meta: dict[str, object] = {"name": "web", "annotations": annotations or {}}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}], **spec},
    }


def loaded(tmp_path: Path, *objects: dict[str, object]):  # type: ignore[no-untyped-def]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return load_manifests([path])


BGP_ADVERTISEMENT = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "BGPAdvertisement",
    "metadata": {"name": "external", "namespace": "metallb-system"},
}

HINTS = [
    pytest.param(
        {AWS + "type": "external", AWS + "nlb-target-type": "ip"},
        (),
        LoadBalancerProfile.AWS_NLB_IP,
        f"from annotation {AWS}nlb-target-type: ip",
        id="AWS LBC with ip targets: the NLB sends to pod IPs",
    ),
    pytest.param(
        {AWS + "type": "nlb-ip"},
        (),
        LoadBalancerProfile.AWS_NLB_IP,
        f"from annotation {AWS}type: nlb-ip",
        id="the legacy nlb-ip type means ip targets",
    ),
    pytest.param(
        {AWS + "type": "external", AWS + "nlb-target-type": "instance"},
        (),
        LoadBalancerProfile.AWS_NLB_INSTANCE,
        f"from annotation {AWS}nlb-target-type: instance",
        id="AWS LBC with instance targets health-checks the healthCheckNodePort",
    ),
    pytest.param(
        {AWS + "type": "nlb"},
        (),
        LoadBalancerProfile.HEALTH_CHECKED,
        f"from annotation {AWS}type: nlb",
        id="the in-tree NLB uses instance targets",
    ),
    pytest.param(
        {AWS + "backend-protocol": "tcp"},
        (),
        LoadBalancerProfile.AWS_CLASSIC_ELB,
        f"from annotation {AWS}backend-protocol without {AWS}type: nlb (the AWS cloud provider's Classic ELB",
        id="any other AWS annotation: the cloud provider's Classic ELB (isNLB false)",
    ),
    pytest.param(
        {AWS + "type": "classic", AWS + "proxy-protocol": "*"},
        (),
        LoadBalancerProfile.AWS_CLASSIC_ELB,
        f"from annotation {AWS}proxy-protocol without {AWS}type: nlb",
        id="a type other than nlb, external or nlb-ip is a Classic ELB too (isNLB compares with nlb)",
    ),
    pytest.param(
        {"metallb.universe.tf/address-pool": "public"},
        (),
        LoadBalancerProfile.METALLB_L2,
        "from annotation metallb.universe.tf/address-pool (MetalLB, layer 2",
        id="MetalLB without BGP in the manifests is layer 2",
    ),
    pytest.param(
        {"metallb.io/address-pool": "public"},
        (BGP_ADVERTISEMENT,),
        LoadBalancerProfile.METALLB_BGP,
        "from annotation metallb.io/address-pool (MetalLB; the manifests configure BGP)",
        id="MetalLB with a BGPAdvertisement in the manifests announces over BGP",
    ),
    pytest.param(
        {"networking.gke.io/load-balancer-type": "Internal"},
        (),
        LoadBalancerProfile.HEALTH_CHECKED,
        "from annotation networking.gke.io/load-balancer-type (a GCP load balancer",
        id="GCP load balancers probe the healthCheckNodePort",
    ),
    pytest.param(
        {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
        (),
        LoadBalancerProfile.HEALTH_CHECKED,
        "from annotation service.beta.kubernetes.io/azure-load-balancer-internal (an Azure load balancer",
        id="Azure load balancers probe the healthCheckNodePort",
    ),
    pytest.param(
        {AWS + "type": "external"},
        (),
        LoadBalancerProfile.AWS_NLB_INSTANCE,
        f"from annotation {AWS}type: external",
        id="the AWS LBC's type external without a target type uses instance targets (buildTargetType default)",
    ),
    pytest.param(
        {"kube-vip.io/loadbalancerIPs": "192.168.1.50"},
        (),
        LoadBalancerProfile.KUBE_VIP,
        "from annotation kube-vip.io/loadbalancerIPs (kube-vip",
        id="a kube-vip annotation means kube-vip announces the address",
    ),
]

CLASSES = [
    pytest.param("service.k8s.aws/nlb", LoadBalancerProfile.AWS_NLB_INSTANCE, id="AWS LBC class: instance targets"),
    pytest.param("io.cilium/l2-announcer", LoadBalancerProfile.CILIUM_L2, id="Cilium LB IPAM class for L2"),
    pytest.param("io.cilium/bgp-control-plane", LoadBalancerProfile.CILIUM_BGP, id="Cilium LB IPAM class for BGP"),
    pytest.param("kube-vip.io/kube-vip-class", LoadBalancerProfile.KUBE_VIP, id="kube-vip-cloud-provider class"),
]


@pytest.mark.parametrize(("lb_class", "profile"), CLASSES)
def test_the_load_balancer_class_names_the_controller(tmp_path, lb_class, profile) -> None:  # type: ignore[no-untyped-def]
    (service,) = loaded(tmp_path, lb_service(loadBalancerClass=lb_class)).services
    assert service.load_balancer_hint is profile
    assert service.load_balancer_hint_reason == service.load_balancer_hint_reason.strip()
    assert lb_class in service.load_balancer_hint_reason


K3S_NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {"name": "a", "labels": {"svccontroller.k3s.cattle.io/enablelb": "true"}},
    "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.1"}]},
}


def test_k3s_servicelb_labels_mean_servicelb_for_services_without_a_class(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """k3s-io/k3s pkg/cloudprovider/servicelb.go labels eligible Nodes svccontroller.k3s.cattle.io/enablelb."""
    plain, classed = lb_service(), lb_service(loadBalancerClass="example.com/other")
    classed["metadata"] = {"name": "other"}  # type: ignore[index]
    result = loaded(tmp_path, plain, classed, K3S_NODE)
    by_name = {s.name: s for s in result.services}
    assert by_name["web"].load_balancer_hint is LoadBalancerProfile.K3S_SERVICELB
    assert by_name["other"].load_balancer_hint is None  # ServiceLB skips Services with a loadBalancerClass


def test_a_k3s_servicelb_label_is_found_beside_label_keys_read_before(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The label keys of objects read before are not looked at again: a Node that adds ServiceLB's label
    to keys already seen is still found."""
    plain_node = {**K3S_NODE, "metadata": {"name": "b", "labels": {"kubernetes.io/hostname": "b"}}}
    k3s_node = {
        **K3S_NODE,
        "metadata": {"name": "a", "labels": {"kubernetes.io/hostname": "a", **K3S_NODE["metadata"]["labels"]}},
    }  # type: ignore[dict-item]
    (service,) = loaded(tmp_path, lb_service(), plain_node, plain_node | {"metadata": {"name": "c"}}, k3s_node).services
    assert service.load_balancer_hint is LoadBalancerProfile.K3S_SERVICELB
    (service,) = loaded(tmp_path, lb_service(), plain_node).services
    assert service.load_balancer_hint is None


PROXY = [
    pytest.param({AWS + "proxy-protocol": "*"}, True, None, id="proxy-protocol '*' turns PROXY protocol v2 on"),
    pytest.param(
        {AWS + "target-group-attributes": "proxy_protocol_v2.enabled=true,preserve_client_ip.enabled=false"},
        True,
        False,
        id="target-group attributes set PROXY protocol and client IP preservation",
    ),
    pytest.param({AWS + "target-group-attributes": "preserve_client_ip.enabled=true"}, False, True, id="preserve on"),
    pytest.param({AWS + "type": "external"}, False, None, id="neither: the target type's defaults"),
]


@pytest.mark.parametrize(("annotations", "proxy", "preserve"), PROXY)
def test_proxy_protocol_and_client_ip_preservation_annotations(tmp_path, annotations, proxy, preserve) -> None:  # type: ignore[no-untyped-def]
    """AWS LBC docs/guide/service/annotations.md; pkg/service/model_build_target_group.go
    (tgAttrsProxyProtocolV2Enabled, tgAttrsPreserveClientIPEnabled)."""
    (service,) = loaded(tmp_path, lb_service(annotations)).services
    assert service.proxy_protocol is proxy
    assert service.lb_preserve_client_ip is preserve


@pytest.mark.parametrize(("annotations", "extra", "profile", "reason"), HINTS)
def test_annotations_choose_the_profile_when_the_user_has_not(tmp_path, annotations, extra, profile, reason) -> None:  # type: ignore[no-untyped-def]
    result = loaded(tmp_path, lb_service(annotations), *extra)
    cluster = to_cluster(result)
    (service,) = result.services
    assert cluster.load_balancer_for(service) is profile
    assert cluster.load_balancer_reason(service).startswith(reason)


def test_the_users_choice_overrides_every_annotation(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = loaded(tmp_path, lb_service({AWS + "nlb-target-type": "ip"}))
    cluster = to_cluster(result, load_balancer=LoadBalancerProfile.NO_HEALTH_CHECK)
    (service,) = result.services
    assert cluster.load_balancer_for(service) is LoadBalancerProfile.NO_HEALTH_CHECK
    assert cluster.load_balancer_reason(service) == "chosen by the user"


def test_without_annotations_the_default_applies_and_says_so(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = loaded(tmp_path, lb_service())
    cluster = to_cluster(result)
    (service,) = result.services
    assert cluster.load_balancer_for(service) is LoadBalancerProfile.HEALTH_CHECKED
    assert cluster.load_balancer_reason(service).startswith("the default: no --load-balancer")


def test_metallb_requested_addresses_become_the_allocated_ingress(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (service,) = loaded(tmp_path, lb_service({"metallb.io/loadBalancerIPs": "198.51.100.9"})).services
    assert [i.ip for i in service.load_balancer_ingress] == ["198.51.100.9"]
    assert "status.loadBalancer.ingress[0].ip" in service.allocated


def test_a_trace_through_an_annotated_load_balancer_says_which_profile_and_why(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from kverify.cli import main

    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "a"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.1"}]},
    }
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all([lb_service({AWS + "nlb-target-type": "ip"}), node]))
    argv = ["trace", str(path), "--service", "default/web", "--to", "load-balancer", "--from", "external"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"load balancer: aws-nlb-ip (from annotation {AWS}nlb-target-type: ip" in out
    assert main([*argv, "--format", "json"]) == 0
    document = __import__("json").loads(capsys.readouterr().out)
    assert document["load_balancer"] == "aws-nlb-ip"
    assert document["load_balancer_reason"].startswith(f"from annotation {AWS}nlb-target-type: ip")


ELB_SPEC = (
    "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: elb}\nmanifests: [elb.yaml]\n"
    "claims:\n  - {id: ip, service: default/web, property: client-ip-preserved, allowUnknown: true}\n"
)


@pytest.mark.parametrize(
    ("annotations", "verdict"),
    [
        pytest.param({}, "unknown", id="an ELB known by hostname alone may proxy: the client address is unknown"),
        pytest.param({AWS + "type": "nlb"}, "proved", id="an NLB by hostname keeps the client address under eTP Local"),
    ],
)
def test_client_ip_through_a_load_balancer_known_only_by_hostname(tmp_path, capsys, annotations, verdict) -> None:  # type: ignore[no-untyped-def]
    import json

    from kverify.cli import main

    service = lb_service(annotations, externalTrafficPolicy="Local", selector={"app": "web"})
    service["status"] = {"loadBalancer": {"ingress": [{"hostname": "abc.elb.amazonaws.com"}]}}
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "a"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.168.0.1"}]},
    }
    endpoints = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": "web-1", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "ports": [{"port": 80}],
        "endpoints": [{"addresses": ["10.244.0.5"], "nodeName": "a"}],
    }
    (tmp_path / "elb.yaml").write_text(yaml.safe_dump_all([service, node, endpoints]))
    (tmp_path / "spec.yaml").write_text(ELB_SPEC)
    assert main(["check", str(tmp_path / "spec.yaml"), "--format", "json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)["results"]
    assert result["verdict"]["verdict"] == verdict
