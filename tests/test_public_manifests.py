"""Public manifest sets checked without a single edit (issue 8): no exit 2, no traceback, one line
about what is skipped. The files and their origins are listed in the README beside each: the sets
the bundled specs use are shipped in kverify/data/specs/manifests/public/, the others are kept in
tests/data/public/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kverify.cli import main
from kverify.load import load_manifests
from kverify.model import ServiceType, TrafficPolicy
from kverify.model.workload import WorkloadKind

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "kverify" / "data" / "specs" / "manifests" / "public"
TESTS_ONLY = ROOT / "tests" / "data" / "public"


def _public(file: str) -> Path:
    """The one copy of a public manifest set: shipped with the package, or kept for the tests only."""
    bundled = BUNDLED / file
    return bundled if bundled.exists() else TESTS_ONLY / file


@pytest.mark.parametrize(
    ("file", "skipped_line", "services"),
    [
        pytest.param(
            "ingress-nginx-cloud.yaml",
            "skipped 16 objects of 10 kinds not modelled; --verbose lists them",
            2,
            id="ingress-nginx for clouds",
        ),
        pytest.param(
            "ingress-nginx-baremetal.yaml",
            "skipped 16 objects of 10 kinds not modelled; --verbose lists them",
            2,
            id="ingress-nginx for bare metal",
        ),
        pytest.param(
            "ingress-nginx-aws.yaml",
            "skipped 16 objects of 10 kinds not modelled; --verbose lists them",
            2,
            id="ingress-nginx for AWS",
        ),
        pytest.param(
            "microservices-demo.yaml",
            "skipped 11 objects of 1 kind not modelled; --verbose lists them",
            12,
            id="microservices-demo",
        ),
        pytest.param(
            "argo-cd-install.yaml",
            "skipped 37 objects of 8 kinds not modelled; --verbose lists them",
            8,
            id="Argo CD's install.yaml: many kinds, no namespaces",
        ),
    ],
)
def test_public_manifests_are_checked_as_published(file, skipped_line, services, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["check", str(_public(file)), "--format", "json", "--allow-nothing-checked"]
    code = main([*argv, "--write-counterexamples", str(tmp_path)])
    captured = capsys.readouterr()
    assert code in (0, 1)
    first, *rest = captured.err.splitlines()
    assert first == skipped_line
    if file == "argo-cd-install.yaml":  # its 7 NetworkPolicies, each selecting a component's pods, named once
        (warning,) = rest
        assert warning.startswith("warning: NetworkPolicy default/argocd-") and " and 4 more may restrict " in warning
    else:
        assert rest == []
    report = json.loads(captured.out)
    assert report["summary"]["services_checked"] == services
    assert all("spec.clusterIP" in values for values in report["allocated"].values())


def test_ingress_nginx_for_clouds_is_read_as_kubernetes_would_apply_it() -> None:
    loaded = load_manifests([_public("ingress-nginx-cloud.yaml")])
    services = {s.key: s for s in loaded.services}
    controller = services["ingress-nginx/ingress-nginx-controller"]
    assert controller.type is ServiceType.LOAD_BALANCER
    assert controller.external_traffic_policy is TrafficPolicy.LOCAL
    assert controller.health_check_node_port is not None  # allocated: LoadBalancer with eTP Local
    assert all(p.node_port for p in controller.ports)
    assert [i.ip for i in controller.load_balancer_ingress] and controller.allocated_values()
    assert controller.selector is not None and ("app.kubernetes.io/component", "controller") in controller.selector
    (deployment,) = [w for w in loaded.workloads if w.kind is WorkloadKind.DEPLOYMENT]
    assert deployment.key == "Deployment ingress-nginx/ingress-nginx-controller"
    assert (deployment.replicas, deployment.replicas_source) == (1, "default 1")
    assert {p.name for p in deployment.ports} >= {"http", "https"}  # the Service's named targetPorts
    assert deployment.scheduling.node_selector.matches({"kubernetes.io/os": "linux"})


def test_ingress_nginx_for_aws_gets_its_load_balancer_from_the_annotation() -> None:
    loaded = load_manifests([_public("ingress-nginx-aws.yaml")])
    controller = next(s for s in loaded.services if s.name == "ingress-nginx-controller")
    assert controller.load_balancer_hint is not None
    assert controller.load_balancer_hint_reason.startswith(
        "from annotation service.beta.kubernetes.io/aws-load-balancer-type: nlb"
    )


def test_a_namespace_less_install_lands_in_the_namespace_given(capsys) -> None:  # type: ignore[no-untyped-def]
    loaded = load_manifests([_public("argo-cd-install.yaml")], namespace="argocd")
    assert {s.namespace for s in loaded.services} == {"argocd"}
    assert {w.namespace for w in loaded.workloads} == {"argocd"}
    assert {w.kind for w in loaded.workloads} >= {WorkloadKind.DEPLOYMENT, WorkloadKind.STATEFUL_SET}


def test_ingress_nginx_behind_a_load_balancer_without_health_checks_is_a_finding(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["check", str(_public("ingress-nginx-cloud.yaml")), "--load-balancer", "no-health-check"]
    code = main([*argv, "--write-counterexamples", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "etp-local-lb-without-health-checks" in out
    assert "allocated at apply time (not in the manifests): spec.clusterIP " in out
    # The counterexample's manifest says which of its values were only known after apply.
    (manifest,) = tmp_path.glob("cx-*.yaml")
    services = [d for d in yaml.safe_load_all(manifest.read_text()) if d["kind"] == "Service"]
    annotations = [s["metadata"].get("annotations", {}).get("kverify.io/allocated", "") for s in services]
    assert all("spec.clusterIP" in a.split(",") for a in annotations)
