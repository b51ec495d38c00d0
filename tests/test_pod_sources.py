"""Services served by pods kverify cannot see (an operator's custom resource, a Job): Unknown, never a
finding; and YAML read as Kubernetes reads it where YAML 1.1 differs.

Found on kube-prometheus's manifests (prometheus-operator/kube-prometheus, manifests/): the
``prometheus-k8s`` and ``alertmanager-main`` Services select pods the operator creates from the
``Prometheus`` and ``Alertmanager`` resources beside them; and its AlertmanagerConfig CRD lists a bare
``=`` in an enum, which YAML 1.1 resolves to its "value" type and go-yaml (kubectl) to the string "=".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kverify.cli import main
from kverify.load import load_manifests
from kverify.load.pod_sources import may_create_pods

SERVICE = """\
apiVersion: v1
kind: Service
metadata: {name: prometheus-k8s, namespace: monitoring}
spec:
  selector: {app.kubernetes.io/name: prometheus}
  ports: [{name: web, port: 9090, targetPort: web}]
"""
PROMETHEUS = """\
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: NAMESPACE}
spec: {replicas: 2}
"""
SERVICE_MONITOR = """\
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: prometheus-k8s, namespace: monitoring}
spec: {selector: {matchLabels: {app.kubernetes.io/name: prometheus}}}
"""


def _check(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> tuple[int, str]:
    (tmp_path / "m.yaml").write_text(text)
    code = main(["check", str(tmp_path / "m.yaml")])
    return code, capsys.readouterr().out


def test_a_custom_resource_beside_the_service_makes_no_endpoints_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _check(tmp_path, capsys, SERVICE + PROMETHEUS.replace("NAMESPACE", "monitoring"))
    assert code == 3  # Unknown: not a finding
    assert "UNKNOWN no-usable-endpoints" in out and "Prometheus monitoring/k8s" in out


def test_without_one_it_is_a_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # In another namespace the operator's pods are not this Service's; a ServiceMonitor creates none.
    code, out = _check(tmp_path, capsys, SERVICE + PROMETHEUS.replace("NAMESPACE", "other") + SERVICE_MONITOR)
    assert code == 1
    assert "FAIL    no-usable-endpoints" in out


@pytest.mark.parametrize(
    ("api_version", "kind", "creates"),
    [
        ("batch/v1", "Job", True),
        ("batch/v1", "CronJob", True),
        ("monitoring.coreos.com/v1", "Prometheus", True),
        ("gateway.networking.k8s.io/v1", "Gateway", True),  # implementations run a proxy per Gateway
        ("example.com/v1", "Anything", True),
        ("v1", "ConfigMap", False),
        ("rbac.authorization.k8s.io/v1", "ClusterRole", False),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition", False),
        ("policy/v1", "PodDisruptionBudget", False),
        ("monitoring.coreos.com/v1", "ServiceMonitor", False),
        ("cert-manager.io/v1", "Certificate", False),
        ("gateway.networking.k8s.io/v1", "HTTPRoute", False),
    ],
)
def test_which_skipped_kinds_may_create_pods(api_version: str, kind: str, creates: bool) -> None:
    assert may_create_pods(api_version, kind) is creates


def test_a_bare_equals_sign_is_the_string_kubectl_reads(tmp_path: Path) -> None:
    # `enum: [=]`-style scalars: YAML 1.1's "value" type, which PyYAML's safe loader cannot construct.
    from kverify.load.sources import _yaml_docs

    matcher = "apiVersion: example.com/v1\nkind: Matcher\nmetadata: {name: m, namespace: monitoring}\n"
    matcher += "spec:\n  enum:\n  - '!='\n  - =\n  - =~\n"
    problems: list = []  # type: ignore[type-arg]
    [doc] = list(_yaml_docs(matcher, "m.yaml", problems))
    assert problems == [] and doc.data["spec"]["enum"] == ["!=", "=", "=~"]
    (tmp_path / "m.yaml").write_text(SERVICE + "---\n" + matcher)
    loaded = load_manifests([tmp_path / "m.yaml"])  # no "invalid YAML" error
    assert [s.key for s in loaded.services] == ["monitoring/prometheus-k8s"]
