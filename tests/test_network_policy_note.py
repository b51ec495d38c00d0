"""NetworkPolicy is read, not enforced: where one may restrict ingress to a Service's pods, ``kverify trace``
and ``kverify check`` say so, so that "delivered" is not read as "the connection works".

Found trying kverify on kube-prometheus' manifests (prometheus-operator/kube-prometheus manifests/, at
4d719f1d): every component has a NetworkPolicy (grafana's admits only Prometheus pods, on port 3000), and
a pod's trace to monitoring/grafana printed "delivered" with no word about it. Which policies count
(kubernetes/api networking/v1 types.go ``NetworkPolicySpec.PolicyTypes``): those listing ``Ingress``, and
those without ``policyTypes``, which all affect ingress.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kverify.cli import main

MANIFESTS = """\
apiVersion: v1
kind: Service
metadata: {name: grafana, namespace: monitoring}
spec:
  selector: {app.kubernetes.io/name: grafana}
  ports: [{name: http, port: 3000, targetPort: http}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: grafana, namespace: monitoring}
spec:
  replicas: 1
  selector: {matchLabels: {app.kubernetes.io/name: grafana}}
  template:
    metadata: {labels: {app.kubernetes.io/name: grafana, app.kubernetes.io/component: grafana}}
    spec:
      containers: [{name: grafana, image: grafana:13, ports: [{name: http, containerPort: 3000}]}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: grafana, namespace: monitoring}
spec:
  podSelector:
    matchLabels: {app.kubernetes.io/name: grafana, app.kubernetes.io/component: grafana}
  policyTypes: {types}
  ingress:
    - from: [{podSelector: {matchLabels: {app.kubernetes.io/name: prometheus}}}]
      ports: [{port: 3000, protocol: TCP}]
"""
NOTE = "NetworkPolicy monitoring/grafana may restrict ingress to these pods"


@pytest.mark.parametrize(
    ("types", "noted"),
    [
        pytest.param("[Ingress, Egress]", True, id="an ingress policy selecting the pods"),
        pytest.param("null", True, id="no policyTypes: every policy affects ingress"),
        pytest.param("[Egress]", False, id="an egress-only policy"),
    ],
)
def test_trace_and_check_say_the_policy_is_not_enforced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], types: str, noted: bool
) -> None:
    path = tmp_path / "grafana.yaml"
    path.write_text(MANIFESTS.replace("{types}", types))
    argv = ["trace", str(path), "--service", "monitoring/grafana", "--to", "cluster-ip", "--from", "pod"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "delivered" in out and NOTE not in out  # stdout stays the trace
    assert (NOTE in err) == noted
    main(["check", str(path), "--allow-nothing-checked"])
    assert (
        "NetworkPolicy monitoring/grafana may restrict ingress to the pods of monitoring/grafana"
        in capsys.readouterr().err
    ) == noted


def test_a_policy_for_other_pods_is_not_mentioned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "grafana.yaml"
    other = MANIFESTS.replace("{types}", "[Ingress]").replace(
        "matchLabels: {app.kubernetes.io/name: grafana, app.kubernetes.io/component: grafana}",
        "matchLabels: {app.kubernetes.io/name: alertmanager}",
    )
    path.write_text(other)
    assert main(["trace", str(path), "--service", "monitoring/grafana", "--to", "cluster-ip", "--from", "pod"]) == 0
    assert "NetworkPolicy" not in capsys.readouterr().err
